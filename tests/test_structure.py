from index.clean import clean
from index.load import load_document
from index.records import Paragraph
from index.structure import articles
from tests.conftest import SEED_FILE, SEEDS


def _read(raw: str):
    text, paragraphs = clean(raw)
    return text, articles(paragraphs)


def _read_paragraphs(lines: list[str]):
    """Paragraphs as clean gives them, one a line; a leading '#' marks a heading."""
    paragraphs, offset = [], 0
    for line in lines:
        text = line.removeprefix("#")
        paragraphs.append(Paragraph(text=text, start=offset, is_heading=line.startswith("#")))
        offset += len(text) + 1
    return "\n".join(p.text for p in paragraphs), articles(tuple(paragraphs))


def _seed():
    doc = load_document(SEED_FILE, SEEDS)
    return doc, {a.headline: a for a in doc.articles}


def _body(text, article):
    return "\n".join(text[a:b] for a, b in article.body)


def test_seed_articles_in_reading_order():
    doc, _ = _seed()
    assert [(a.headline, a.kind) for a in doc.articles] == [
        ("扬帆起航正当时 战略引领谱华章", "article"),
        ("导读", "contents"),
        ("比出自身特色 赢得客户口碑", "article"),
        ("工行位列“世界500强”第24位", "article"),
        ("为加强对深度贫困地区的就业扶贫工作", "caption"),
    ]


def test_seed_lead_article_has_its_headline_byline_and_three_sections():
    doc, found = _seed()
    lead = found["扬帆起航正当时 战略引领谱华章"]
    assert lead.subtitle == "——工行全面推进实施“第一个人金融银行”战略纪实"
    assert lead.byline == "供稿：个人金融业务部"
    assert [title for _, title in lead.sections] == [
        "齐心协力 战略落地稳扎稳打",
        "成效初显 个金业务再创佳绩",
        "坚定不移 战略实施向纵深推进",
    ]
    assert [doc.text[offset : offset + 4] for offset, _ in lead.sections] == ["齐心协力", "成效初显", "坚定不移"]
    body = _body(doc.text, lead)
    assert body.startswith("2019年年中，总行党委高屋建瓴") and body.endswith("忠实奋斗者和先行者。")
    # Section titles, byline and headline are the article's metadata, not its running text.
    for metadata in ("齐心协力", "战略落地稳扎稳打", "供稿", "扬帆起航", "——工行"):
        assert metadata not in body


def test_seed_story_gets_the_kicker_and_byline_from_the_end_of_the_file():
    doc, found = _seed()
    story = found["比出自身特色 赢得客户口碑"]
    assert story.subtitle == "运用“三比三看三提高”工作方法"
    assert story.byline == "行报记者 王旎 行报通讯员 方建国"
    body = _body(doc.text, story)
    assert body.startswith("最近，厦门一家") and body.endswith("对公有贷客户数中新市场客户占比达65%。")
    assert "◀" not in body


def test_seed_short_note_and_caption():
    doc, found = _seed()
    note = found["工行位列“世界500强”第24位"]
    assert note.byline == "供稿：管理信息部"
    body = _body(doc.text, note)
    assert body.startswith("近日，美国《财富》杂志") and body.endswith("苹果公司之后。")
    assert "公众号" not in doc.text[note.start : note.end]  # QR-code labels are page furniture
    caption = found["为加强对深度贫困地区的就业扶贫工作"]
    assert caption.byline == "供稿：办公室"
    assert _body(doc.text, caption).endswith("实现一人就业，全家脱贫。")


def test_seed_contents_keep_entries_with_their_page_references():
    doc, found = _seed()
    contents = found["导读"]
    body = _body(doc.text, contents)
    assert body.startswith("推进“第一个人金融银行”战略系列专题报道之一")
    assert "管理沙龙\n把握发展定力坚持稳中求进\n◀ 第二版 ▶" in body
    assert body.endswith("业务研究\n交易银行业务创新发展实践\n◀ 第四版 ▶")


def test_seed_every_body_paragraph_belongs_to_exactly_one_article():
    doc, _ = _seed()
    spans = [span for a in doc.articles for span in a.body]
    for p in doc.paragraphs:
        owners = [s for s in spans if s[0] <= p.start and p.start + len(p.text) <= s[1]]
        if p.is_heading:
            assert not owners or "◀" in doc.text[owners[0][0] : owners[0][1]], p.text  # only in contents
        elif not any(m in p.text for m in ("供稿：", "行报记者", "◀", "公众号")):
            assert len(owners) == 1, p.text
    # Articles do not overlap, and every body span lies in its article.
    ordered = sorted(doc.articles, key=lambda a: a.start)
    assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:]))
    assert all(a.start <= s and e <= a.end for a in doc.articles for s, e in a.body)


def test_headline_printed_after_its_body_belongs_to_that_body():
    lines = [
        "上周三，某分行举办了一场客户答谢会，邀请了三百位客户参加，现场气氛热烈。",
        "答谢会上，分行介绍了新推出的理财产品，客户踊跃咨询。",
        "供稿：某分行",
        "#客户答谢会温暖举行",
        "目 录",
        "#理财知识",
        "◀ 第二版 ▶",
        "近日，总行发布了新一季度的经营数据，各项指标稳中有升，存款余额再创新高。",
        "供稿：财务会计部",
    ]
    text, found = _read_paragraphs(lines)
    assert [(a.headline, a.kind, a.byline) for a in found] == [
        ("客户答谢会温暖举行", "article", "供稿：某分行"),
        ("目录", "contents", ""),
        ("近日，总行发布了新一季度的经营数据，各项指标稳中有升", "caption", "供稿：财务会计部"),
    ]
    assert _body(text, found[0]).endswith("客户踊跃咨询。")


def test_byline_closes_an_article_and_the_next_headline_opens_one():
    lines = [
        "#分行举办客户答谢会",
        "上周三，某分行举办了一场客户答谢会，邀请了三百位客户参加，现场气氛热烈。",
        "供稿：某分行",
        "#总行发布季度经营数据",
        "近日，总行发布了新一季度的经营数据，各项指标稳中有升，存款余额再创新高。",
        "记者 张三",
    ]
    text, found = _read_paragraphs(lines)
    assert [(a.headline, a.byline) for a in found] == [
        ("分行举办客户答谢会", "供稿：某分行"),
        ("总行发布季度经营数据", "记者 张三"),
    ]
    assert _body(text, found[1]) == "近日，总行发布了新一季度的经营数据，各项指标稳中有升，存款余额再创新高。"


def test_headline_between_two_stories_goes_to_the_one_it_names():
    lines = [
        "最近，某支行帮助一家科技企业完成上市辅导，支行行长表示，支行将继续比服务、比效率。",
        "#比服务 比效率",
        "#工行荣获年度最佳银行奖",
        "近日，某杂志公布年度最佳银行评选结果，工行荣获年度最佳银行奖。",
        "供稿：办公室",
        "记者 李四",
        "#支行践行服务承诺",
    ]
    _, found = _read_paragraphs(lines)
    assert [(a.headline, a.subtitle, a.byline) for a in found] == [
        ("比服务 比效率", "支行践行服务承诺", "记者 李四"),
        ("工行荣获年度最佳银行奖", "", "供稿：办公室"),
    ]


def test_page_marker_outside_contents_gives_the_page_of_what_follows():
    lines = [
        "#分行举办客户答谢会",
        "上周三，某分行举办了一场客户答谢会，邀请了三百位客户参加，现场气氛热烈。",
        "供稿：某分行",
        "◀ 第二版 ▶",
        "#总行发布季度经营数据",
        "近日，总行发布了新一季度的经营数据，各项指标稳中有升，存款余额再创新高。",
        "供稿：财务会计部",
    ]
    text, found = _read_paragraphs(lines)
    assert [(a.headline, a.page) for a in found] == [("分行举办客户答谢会", ""), ("总行发布季度经营数据", "第二版")]
    assert all("◀" not in _body(text, a) for a in found)


def test_unrelated_story_after_a_headline_is_a_new_article_not_a_section():
    lines = [
        "#个人金融业务稳步发展",
        "个人金融业务上半年稳步发展，个人存款增加，个人贷款增加，个人客户增加。",
        "#个人金融业务的新目标",
        "个人金融业务下半年将继续发展，个人存款和个人贷款的目标都已确定。",
        "#食堂菜单调整",
        "从下周起员工食堂午餐增加两道川菜，晚餐供应时间延长半小时。",
        "供稿：后勤服务中心",
    ]
    _, found = _read_paragraphs(lines)
    assert [(a.headline, [t for _, t in a.sections]) for a in found] == [
        ("个人金融业务稳步发展", ["个人金融业务的新目标"]),
        ("食堂菜单调整", []),
    ]


def test_markdown_file_with_headings():
    raw = "# 本期要闻\n\n工行发布半年报，营业收入稳步增长。\n\n## 个人金融\n\n个人存款余额突破十一万亿元。\n\n## 公司金融\n\n公司贷款增量领先同业。\n"
    text, found = _read(raw)
    assert len(found) == 1
    (article,) = found
    assert article.headline == "本期要闻"
    assert [title for _, title in article.sections] == ["个人金融", "公司金融"]
    assert [text[a:b] for a, b in article.body] == ["工行发布半年报，营业收入稳步增长。", "个人存款余额突破十一万亿元。", "公司贷款增量领先同业。"]


def test_markdown_level_one_headings_are_articles():
    raw = "# 第一篇\n\n第一篇的正文。\n\n# 第二篇\n\n第二篇的正文。\n"
    _, found = _read(raw)
    assert [(a.headline, a.kind) for a in found] == [("第一篇", "article"), ("第二篇", "article")]


def test_plain_text_is_one_article_named_by_its_first_line():
    _, found = _read("上半年代销工银瑞信基金1096亿元。")
    assert [(a.headline, a.body) for a in found] == [("上半年代销工银瑞信基金1096亿元。", ((0, 18),))]
    long_first = "这是一段很长的正文，" * 5 + "没有标题。"
    _, found = _read(long_first)
    assert found[0].headline == "" and found[0].body == ((0, len(long_first)),)


def test_empty_document_has_no_articles():
    assert articles(()) == ()
