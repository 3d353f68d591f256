import re

from index.clean import clean, line_width, squeeze_spaces
from index.profile import default_profile
from tests.conftest import SEED_FILE


def _seed():
    return clean(SEED_FILE.read_text("utf-8"))


def test_no_character_is_lost_or_reordered():
    raw = SEED_FILE.read_text("utf-8")
    text, _ = _seed()
    assert re.sub(r"\s", "", text) == re.sub(r"\s", "", raw)


def test_paragraph_offsets_point_into_the_text():
    text, paragraphs = _seed()
    for p in paragraphs:
        assert text[p.start : p.start + len(p.text)] == p.text


def test_seed_paragraphs_are_pinned():
    text, paragraphs = _seed()
    assert len(paragraphs) == 60
    assert "上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元，个人新规理财产品规模达到6150亿元。" in text
    assert "个贷资产质量经受住疫情的考验，个贷不良率0.39%，按揭贷款不良率0.29%" in text
    body = [p.text for p in paragraphs if not p.is_heading]
    assert body[0].startswith("2019年年中，总行党委高屋建瓴") and body[0].endswith("领先地位的基础。")
    assert any(p.startswith("坚持风控强基") for p in body)


def test_seed_headings_are_found():
    _, paragraphs = _seed()
    headings = [p.text for p in paragraphs if p.is_heading]
    for expected in ["齐心协力", "战略落地稳扎稳打", "成效初显", "个金业务再创佳绩", "坚定不移", "战略实施向纵深推进"]:
        assert expected in headings
    assert "扬帆起航正当时 战略引领谱华章" in headings
    assert all(len(h) <= 30 for h in headings)


def test_seed_units_glued_by_extraction_come_apart():
    _, paragraphs = _seed()
    texts = [p.text for p in paragraphs]
    for alone in [
        "——工行全面推进实施“第一个人金融银行”战略纪实",
        "导 读",
        "业务研究",
        "工行位列“世界500强”第24位",
        "供稿：管理信息部",
        "工行通讯融e联场景号 工行通讯微信公众号",
        "供稿：办公室",
        "行报记者 王旎 行报通讯员 方建国",
        "运用“三比三看三提高”工作方法",
    ]:
        assert alone in texts
    assert texts[texts.index("供稿：办公室") - 1].endswith("实现一人就业，全家脱贫。")
    assert texts[texts.index("工行位列“世界500强”第24位") + 1].startswith("近日，美国《财富》杂志公布了")


def test_bylines_split_off_at_sensible_boundaries():
    assert [p.text for p in clean("项目竣工后将惠及当地贫困群众。 供稿：办公室")[1]] == ["项目竣工后将惠及当地贫困群众。", "供稿：办公室"]
    assert [p.text for p in clean("供稿：管理信息部工行通讯微信公众号")[1]] == ["供稿：管理信息部", "工行通讯微信公众号"]
    # In mid-sentence a line shaped like a credit is wrapped text.
    assert len(clean("据统计，上半年新增的贷款\n来源：总行公司金融业务部\n和个人金融业务部的合作项目。")[1]) == 1
    # A department followed by a person's name stays one byline.
    assert [p.text for p in clean("供稿：厦门分行营业部 张三")[1]] == ["供稿：厦门分行营业部 张三"]


def test_bylines_and_furniture_are_recognised():
    profile = default_profile()
    is_byline, is_furniture = profile.is_byline, profile.is_furniture
    assert is_byline("供稿：个人金融业务部") and is_byline("行报记者 王旎 行报通讯员 方建国") and is_byline("记者 张三")
    assert not is_byline("软件园支行行长刘志方告诉记者，作为总行确定的新市场特色支行。")
    assert not is_byline("来源：国家统计局。数据显示，上半年增长。")
    assert is_furniture("工行通讯融e联场景号 工行通讯微信公众号") and not is_furniture("工行通讯")


def test_page_markers_stand_alone():
    _, paragraphs = _seed()
    markers = [p.text for p in paragraphs if "版" in p.text and p.text.startswith("◀")]
    assert markers == ["◀ 第三版 ▶", "◀ 第二版 ▶", "◀ 第四版 ▶"]


def test_stray_spaces_between_chinese_and_digits_go():
    assert squeeze_spaces("工银安盛保险 195亿元") == "工银安盛保险195亿元"
    assert squeeze_spaces("截至 2020年 6月末") == "截至2020年6月末"
    assert squeeze_spaces("美国 《财富》 杂志") == "美国《财富》杂志"
    assert squeeze_spaces("同比提升 371%，挽回") == "同比提升371%，挽回"


def test_meaningful_spaces_stay():
    assert squeeze_spaces("扬帆起航正当时 战略引领谱华章") == "扬帆起航正当时 战略引领谱华章"
    assert squeeze_spaces("Fortune Global 500") == "Fortune Global 500"


def test_hard_wrapped_lines_join_and_short_lines_end_paragraphs():
    raw = "\n\n".join(
        ["  第一段开头缩进两个字符的", "正文内容一直写到这一行的", "末尾。", "  第二段同样缩进了两个字", "符并且结束。"]
    )
    text, paragraphs = clean(raw)
    assert [p.text for p in paragraphs] == ["第一段开头缩进两个字符的正文内容一直写到这一行的末尾。", "第二段同样缩进了两个字符并且结束。"]
    assert text == "\n".join(p.text for p in paragraphs)


def test_digits_count_narrower_than_han():
    assert line_width("一二三") == 3
    assert line_width("12") < 2


def test_empty_text_has_no_paragraphs():
    assert clean(" \n\n \n") == ("", ())
