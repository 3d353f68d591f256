"""Issue identity, the newsletter's other layouts, tables, and questions about a period (issue 19),
on files generated here: a plain-text issue, a Word file with headings and a table, an HTML page."""

import io
from pathlib import Path

import docx
import pytest
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
from reportlab.lib.styles import ParagraphStyle

from conftest import FakeEmbedder, run_qa
from index import Settings, build_index, parse_document, update_index
from index.clean import clean, is_hard_wrapped
from index.formats import docx_text, html_text, pdf_text
from index.issue import Issue, identify
from index.profile import default_profile
from qa import Assistant, Scope, ScopeError
from qa.period import Period, matches, period_of, reported_years

PLAIN_ISSUE = """工行通讯
2022年第5期（总第335期）
2022年3月10日
第1版
聚焦普惠金融主责主业，小微企业贷款余额突破三千亿元
本报讯（记者 李明 通讯员 王芳）近日，江苏分行普惠贷款余额突破3000亿元，较年初增加420亿元。
该行坚持“敢贷、愿贷、能贷、会贷”，推出了一系列普惠贷款产品。
一、强化产品创新
分行推出“经营快贷”产品，全年发放普惠贷款120亿元。
二、优化服务流程
普惠贷款审批时间缩短到3天。
（作者单位：中国工商银行江苏分行）
责任编辑：张三
第2版
养老金业务稳步发展
截至今年2月末，个人养老金账户开户数达到1308万户。
□ 陈晓
"""

HTML_ISSUE = """<html><head><meta charset="utf-8"><title>工行通讯</title></head><body>
<p>工行通讯</p><p>2021年第22期（总第322期） 2021年11月15日 星期一</p>
<p>第1版</p>
<h1>数字化转型提速，手机银行客户突破四亿户</h1>
<p>本报讯（记者 赵磊）今年前三季度，手机银行客户新增2100万户，达到4.1亿户。</p>
<h2>一、客户体验</h2><p>手机银行月活客户达到1.2亿户。</p>
<table><caption>表1 个人金融主要指标</caption>
<tr><th>指标</th><th>2020年末</th><th>2021年9月末</th></tr>
<tr><td>养老金个人账户（万户）</td><td>1108</td><td>1202</td></tr>
<tr><td>手机银行客户（亿户）</td><td>3.9</td><td>4.1</td></tr>
</table>
<p>手机银行的服务
还将继续提升。</p>
<p>（通讯员 孙丽）</p>
<p>责任编辑：李四</p>
</body></html>"""


def word_issue() -> bytes:
    d = docx.Document()
    for line in ("工行通讯", "2023年第12期（总第361期）", "2023年6月20日", "第1版"):
        d.add_paragraph(line)
    d.add_heading("个人金融业务开局良好，一季度多项指标创新高", level=1)
    d.add_paragraph("本报讯（记者 周强）一季度，全行个人金融业务实现开门红，个人存款增加5000亿元。")
    d.add_heading("一、存款增长", level=2)
    d.add_paragraph("个人存款余额达到16万亿元。")
    d.add_paragraph("表1 2023年一季度个人金融主要指标")
    rows = [["指标", "2022年末", "2023年3月末"], ["个人存款（亿元）", "150000", "155000"], ["养老金个人账户（万户）", "1308", "1502"]]
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph().add_run("二、服务提升").bold = True
    d.add_paragraph("网点服务满意度提升到98%。")
    d.add_paragraph("（作者单位：个人金融业务部）")
    d.add_paragraph("责任编辑：张三")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def parsed(tmp_path: Path, name: str, data: bytes, sidecar: bytes | None = None):
    path = tmp_path / name
    path.write_bytes(data)
    return parse_document(data, path, tmp_path, sidecar=sidecar)


def shape(doc):
    """Each article as the truth is written: headline, byline, page, section titles, text's ends."""
    found = []
    for a in doc.articles:
        body = "\n".join(doc.text[s:e] for s, e in a.body)
        found.append((a.headline, a.byline, a.page, [t for _, t in a.sections], body[:8], body[-8:]))
    return found


def test_a_plain_text_issue_in_other_conventions_is_read_article_by_article(tmp_path):
    doc = parsed(tmp_path, "issue.txt", PLAIN_ISSUE.encode())
    assert doc.issue == Issue("2022年第5期", "总第335期", "2022-03-10", "报头")
    assert shape(doc) == [
        (
            "聚焦普惠金融主责主业，小微企业贷款余额突破三千亿元",
            "记者 李明 通讯员 王芳 作者单位：中国工商银行江苏分行",
            "第1版",
            ["一、强化产品创新", "二、优化服务流程"],
            "近日，江苏分行普",
            "时间缩短到3天。",
        ),
        ("养老金业务稳步发展", "陈晓", "第2版", [], "截至今年2月末，", "到1308万户。"),
    ]
    assert "责任编辑" not in "".join(doc.text[a.start : a.end] for a in doc.articles)


def test_plain_text_written_a_paragraph_a_line_is_not_rewrapped():
    assert not is_hard_wrapped(PLAIN_ISSUE)
    wrapped = "今年以来，面对疫情冲击和市场竞争加\n剧的双重考验，工行江苏分行把个人贷款\n作为服务实体经济的重要抓手。\n"
    assert is_hard_wrapped(wrapped)
    assert is_hard_wrapped(Path(__file__).parents[1].joinpath("seeds/000_4734283b9fcbc3a1.txt").read_text())


def test_word_headings_bold_titles_and_a_table_are_read(tmp_path):
    doc = parsed(tmp_path, "2023.docx", word_issue())
    assert doc.issue.number == "2023年第12期" and doc.issue.date == "2023-06-20"
    (article,) = doc.articles
    assert article.headline == "个人金融业务开局良好，一季度多项指标创新高"
    assert article.byline == "记者 周强 作者单位：个人金融业务部"
    assert [t for _, t in article.sections] == ["一、存款增长", "表1 2023年一季度个人金融主要指标", "二、服务提升"]
    assert "养老金个人账户（万户）｜2022年末：1308｜2023年3月末：1502" in doc.text.splitlines()


def test_an_html_page_with_headings_and_a_captioned_table(tmp_path):
    doc = parsed(tmp_path, "page.html", HTML_ISSUE.encode())
    assert doc.issue == Issue("2021年第22期", "总第322期", "2021-11-15", "报头")
    (article,) = doc.articles
    assert (article.headline, article.byline, article.page) == (
        "数字化转型提速，手机银行客户突破四亿户", "记者 赵磊 通讯员 孙丽", "第1版"
    )  # a space written between names stays; a line broken in the page's source joins up
    assert "手机银行的服务还将继续提升。" in doc.text.splitlines()
    assert [t for _, t in article.sections] == ["一、客户体验", "表1个人金融主要指标"]
    assert "手机银行客户（亿户）｜2020年末：3.9｜2021年9月末：4.1" in doc.text.splitlines()


def test_html_headings_become_markdown_headings_and_cells_stay_in_their_rows():
    text = html_text("<h1>标题</h1><h2>小节</h2><table><tr><th>项</th><th>甲</th></tr><tr><td><p>行</p></td><td>1</td></tr></table>".encode())
    assert text.split("\n\n") == ["# 标题", "## 小节", "## 表格", "行｜甲：1"]


def test_a_ruled_pdf_table_comes_out_row_by_row():
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    table = Table([["指标", "2022年末"], ["个人存款（亿元）", "150000"]])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), "STSong-Light"), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    style = ParagraphStyle("body", fontName="STSong-Light", fontSize=11, leading=16)
    SimpleDocTemplate(out).build([Paragraph("存款稳步增长。", style), table])
    text = pdf_text(out.getvalue())
    assert "个人存款（亿元）｜2022年末：150000" in text.split("\n\n")
    assert "150000" not in text.split("\n\n")[0]  # the table's cells are not running text as well


def test_word_without_styles_reads_as_before():
    assert "#" not in docx_text(word_issue()).split("\n\n")[0]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("2021-11-15.txt", Issue("", "", "2021-11-15", "文件名")),
        ("工行通讯2022年第5期.txt", Issue("2022年第5期", "", "", "文件名")),
        ("20230620_第12期.txt", Issue("2023年第12期", "", "2023-06-20", "文件名")),
        ("notes.txt", Issue()),
    ],
)
def test_an_issue_is_known_by_its_file_name_when_it_has_no_masthead(name, expected):
    assert identify(["正文第一段。"], name, None, default_profile()) == expected


def test_a_sidecar_fills_in_what_masthead_and_name_leave_out(tmp_path):
    sidecar = b'number = "2020\xe5\xb9\xb4\xe7\xac\xac7\xe6\x9c\x9f"\ndate = 2020-07-15\n'
    doc = parsed(tmp_path, "seed.txt", "这是正文，没有报头。\n".encode() * 3, sidecar)
    assert doc.issue == Issue("2020年第7期", "", "2020-07-15", "说明文件")
    assert doc.issue.label == "2020年第7期（7月15日）"


@pytest.mark.parametrize("sidecar, message", [(b"date = 'soon'", "date"), (b"volume = 3", "未知的键"), (b"= =", "TOML")])
def test_a_bad_sidecar_is_a_clear_error(tmp_path, sidecar, message):
    from index import LoadError

    with pytest.raises(LoadError, match=message):
        parsed(tmp_path, "a.txt", "正文。\n".encode(), sidecar)


def test_a_new_sidecar_rereads_its_document_only(settings, fake_embedder):
    build_index(settings, fake_embedder, progress=False)
    seed = next(settings.docs_dir.glob("*.txt"))
    seed.with_name(seed.stem + ".meta.toml").write_text('number = "2020年第7期"\ndate = 2020-07-15\n', "utf-8")
    report = update_index(settings, fake_embedder, progress=False)
    assert report.replaced == [seed.name]
    chunk = Assistant(settings, fake_embedder).answer("上半年代销工银瑞信基金多少？").citations[0].chunk
    assert "· 工行通讯 2020年第7期（7月15日）" in chunk.citation_label


# Periods ------------------------------------------------------------------------------------------

DATES = ["2021-11-15", "2022-03-10", "2023-06-20"]


@pytest.mark.parametrize(
    "question, current, expected",
    [
        ("最新一期说了什么？", "", Period(issue="2023-06-20")),
        ("上一期的养老金账户有多少？", "", Period(issue="2022-03-10")),
        ("这一期讲了什么", "2021-11-15", Period(issue="2021-11-15")),
        ("2021年手机银行客户多少？", "", Period(year=2021)),
        ("今年一季度存款增加多少？", "", Period(year=2023, relative=True)),
        ("去年的存款呢", "", Period(year=2022, relative=True)),
        ("养老金账户有多少？", "", Period()),
    ],
)
def test_a_question_names_its_period_against_the_issues_held(question, current, expected):
    assert period_of(question, DATES, current) == expected


def test_a_passage_reports_on_the_years_its_issue_date_gives_its_words():
    from index import Chunk

    def chunk(text, date):
        return Chunk(id=1, doc_id="d", doc_name="a.txt", position=0, text=text, start=0, end=len(text), date=date)

    assert reported_years(chunk("今年上半年代销基金1250亿元。", "2020-07-15")) == {2020}
    assert reported_years(chunk("较去年同期增长5%。", "2020-07-15")) == {2019}
    assert reported_years(chunk("2018年末达到100亿元。", "2020-07-15")) == {2018}
    assert reported_years(chunk("上半年代销基金。", "")) == set()
    assert matches(Period(year=2020), chunk("上半年代销基金1250亿元。", "2020-07-15"))


def test_a_scope_of_dates_and_its_errors():
    assert Scope.of(since="2021", until="2022-03") == Scope("", "2021-01-01", "2022-03-31")
    with pytest.raises(ScopeError, match="2021-11-15"):
        Scope.of(since="next week")


@pytest.fixture
def archive(tmp_path) -> Settings:
    """Two issues reporting the same measure for different periods, and the Word and HTML issues."""
    docs = tmp_path / "archive"
    docs.mkdir()
    for date, number, figure in (("2020-07-15", 7, "1250"), ("2021-07-15", 7, "1480")):
        (docs / f"{date}.txt").write_text(
            f"工行通讯\n{date[:4]}年第{number}期\n第1版\n代销基金再创新高\n"
            f"今年上半年，全行代销工银瑞信基金{figure}亿元，同比增长较快。\n（作者单位：个人金融业务部）\n",
            "utf-8",
        )
    (docs / "2023.docx").write_bytes(word_issue())
    (docs / "page.html").write_text(HTML_ISSUE, "utf-8")
    settings = Settings(docs_dir=docs, home=tmp_path / "var", index_dir=tmp_path / "index").with_(composer="rules")
    build_index(settings, FakeEmbedder(), progress=False)
    return settings


def test_a_year_in_the_question_picks_the_issue_that_reports_on_it(archive):
    assistant = Assistant(archive, FakeEmbedder())
    for year, figure in (("2020", "1250"), ("2021", "1480")):
        result = assistant.answer(f"{year}年上半年代销工银瑞信基金多少？")
        assert result.citations[0].chunk.date == f"{year}-07-15"
        assert figure in result.text


def test_a_scope_restricts_the_answer_to_its_issues(archive):
    assistant = Assistant(archive, FakeEmbedder())
    result = assistant.answer("上半年代销工银瑞信基金多少？", scope=Scope.of(until="2020"))
    assert {hit.chunk.date for hit in result.passages} == {"2020-07-15"}
    result = assistant.answer("上半年代销工银瑞信基金多少？", scope=Scope.of(issue="2021年第7期"))
    assert {hit.chunk.issue for hit in result.passages} == {"2021年第7期"}
    assert "1480" in result.text


def test_the_latest_issue_is_the_newest_by_date(archive):
    result = Assistant(archive, FakeEmbedder()).answer("最新一期个人存款余额达到多少？")
    assert {hit.chunk.date for hit in result.passages} == {"2023-06-20"}


def test_citations_and_status_name_the_issue_and_its_date(archive, capsys):
    result = Assistant(archive, FakeEmbedder()).answer("手机银行月活客户达到多少？")
    assert result.citations[0].chunk.citation_label == (
        "《数字化转型提速，手机银行客户突破四亿户》· 工行通讯 2021年第22期（11月15日）· 第1版"
    )
    options = ["--docs", str(archive.docs_dir), "--index-dir", str(archive.index_dir)]
    assert run_qa(["index", "status", *options]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert listed == ["2023年第12期（6月20日）", "2021年第22期（11月15日）", "2021年第7期（7月15日）", "2020年第7期（7月15日）"]


def test_ask_takes_an_issue_and_dates_and_refuses_a_date_that_is_none(archive, capsys):
    options = ["--docs", str(archive.docs_dir), "--index-dir", str(archive.index_dir)]
    assert run_qa(["ask", "上半年代销工银瑞信基金多少？", "--since", "2021-01", "--until", "2021", *options]) == 0
    assert "1480" in capsys.readouterr().out
    assert run_qa(["ask", "上半年代销工银瑞信基金多少？", "--since", "明年", *options]) == 1
    assert "无法识别" in capsys.readouterr().err


def test_issues_that_disagree_are_each_named_the_newest_first(archive):
    result = Assistant(archive, FakeEmbedder()).answer("上半年代销工银瑞信基金多少？")
    assert result.text.index("2021年第7期（7月15日）") < result.text.index("2020年第7期（7月15日）")
    assert "1480" in result.text and "1250" in result.text and result.short.startswith("1480")
    assert [c.chunk.date for c in result.citations] == ["2021-07-15", "2020-07-15"]


def test_a_question_naming_a_row_and_a_column_is_answered_by_the_cell(archive):
    assistant = Assistant(archive, FakeEmbedder())
    result = assistant.answer("2021年9月末养老金个人账户有多少万户？")
    assert result.short == "1202万户"
    assert result.citations[0].quote == "养老金个人账户（万户）｜2020年末：1108｜2021年9月末：1202"
    assert "表1个人金融主要指标" in result.citations[0].chunk.citation_label
    assert assistant.answer("养老金个人账户的不良率是多少？").short != "1202万户"
    assert assistant.answer("养老金个人账户比2020年末增加了多少万户？").short != "1108万户"  # the base, not the value


def test_the_layout_issues_are_read_as_their_truth_says(tmp_path):
    """The three invented issues of eval/corpora/layouts/, the Word one generated here, against the
    structure written by hand (eval/layouts.py; README *An archive of issues*)."""
    import importlib.util
    import shutil

    from eval.layouts import read_layouts

    layouts = Path(__file__).parents[1] / "eval/corpora/layouts"
    folder = tmp_path / "layouts"
    shutil.copytree(layouts, folder, ignore=shutil.ignore_patterns("*.docx"))
    spec = importlib.util.spec_from_file_location("make_layouts", layouts.parent / "make_layouts.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    assert maker.main(["--out", str(folder)]) == 0
    reading = read_layouts(folder)
    assert (reading.issues_identified, reading.issues) == (3, 3)
    assert reading.articles == 21 and not reading.misses, reading.misses


def test_eval_answers_within_the_scope_it_is_given(archive, tmp_path, capsys):
    import json

    questions = tmp_path / "set.jsonl"
    row = {"id": "p1", "question": "上半年代销工银瑞信基金多少？", "answers": ["1250亿元"], "doc": "2020-07-15.txt"}
    questions.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    options = ["--docs", str(archive.docs_dir), "--index-dir", str(archive.index_dir), "--out", str(tmp_path / "report")]
    for scope, correct in ((["--until", "2020"], True), (["--issue", "2021年第7期"], False)):
        assert run_qa(["eval", "--set", str(questions), "--json", *scope, *options]) == 0
        outcome = json.loads(capsys.readouterr().out)["outcomes"][0]
        assert outcome["correct"] is correct, outcome


def test_the_period_words_are_taken_off_for_the_composer_only():
    from qa.period import without_period

    assert without_period("2020年上半年代销基金多少？") == "上半年代销基金多少？"
    assert without_period("最新一期的养老金账户有多少？") == "养老金账户有多少？"
    assert without_period("今年") == "今年"  # nothing left: the question stays as it was


def test_a_year_is_answered_from_a_sentence_of_that_year(tmp_path):
    """January's issue names its own year in its headline and reports on the year before: «2020年全年»
    is in the 2021 issue's «去年全年», not in the 2020 issue's."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for year, profit in ((2020, "3120"), (2021, "3350")):
        (docs / f"{year}-01-15.txt").write_text(
            f"工行通讯\n{year}年第1期\n第1版\n总行召开{year}年工作会议\n"
            f"近日，总行召开{year}年工作会议，部署今年重点任务。\n会议指出，去年全年全行实现净利润{profit}亿元。\n",
            "utf-8",
        )
    settings = Settings(docs_dir=docs, home=tmp_path / "var", index_dir=tmp_path / "index").with_(composer="rules")
    build_index(settings, FakeEmbedder(), progress=False)
    result = Assistant(settings, FakeEmbedder()).answer("2020年全年全行实现净利润多少？")
    assert result.citations[0].chunk.date == "2021-01-15"
    assert "3350" in result.text and "3120" not in result.text


def test_the_generated_archive_is_read_issue_by_issue_and_its_questions_hold(tmp_path):
    from eval.corpora.make_archive import write_archive

    questions = write_archive(tmp_path / "a", count=14, first_year=2020, seed=3)
    write_archive(tmp_path / "b", count=14, first_year=2020, seed=3)
    docs = tmp_path / "a" / "docs"
    files = sorted(docs.iterdir())
    assert [f.read_bytes() for f in files] == [(tmp_path / "b" / "docs" / f.name).read_bytes() for f in files]
    dates = []
    for path in files:
        doc = parse_document(path.read_bytes(), path, docs)
        assert doc.issue.source.startswith("报头") and doc.issue.total
        assert [a.headline for a in doc.articles][0] == "全行个人金融业务保持稳健增长"
        dates.append(doc.issue.date)
    assert len(set(dates)) == 14 and min(dates) >= "2020-01-05" and max(dates) <= "2021-02-25"
    assert {q["kind"] for q in questions} >= {"half-year", "full-year", "newest", "previous", "last-year"}
    for q in questions:  # every answer is in the issue the question is about
        assert q["answers"][0] in (docs / q["doc"]).read_text("utf-8"), q


def test_a_title_that_ends_in_a_closing_quote_is_a_heading_and_a_quoted_sentence_is_not():
    _, paragraphs = clean("（二）以监督问责让人“不敢违”\n他说：“合规是底线。”\n", hard_wrapped=False)
    assert [p.is_heading for p in paragraphs] == [True, False]


def test_this_year_means_the_newest_issue_s_and_else_the_issue_that_answers(tmp_path):
    """«今年» is counted from the newest issue; where that year says nothing of it, the asker may
    mean an older issue's «今年»: that one answers, and says that it is another year's."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "2022-03-10.txt").write_text(
        "工行通讯\n2022年第5期\n第1版\n江苏分行线上贷款快速增长\n今年前两个月，江苏分行通过线上渠道发放小微贷款468亿元。\n", "utf-8"
    )
    (docs / "2023-06-20.txt").write_text(
        "工行通讯\n2023年第12期\n第1版\n养老金业务稳步发展\n今年以来，养老金个人账户达到1502万户。\n", "utf-8"
    )
    settings = Settings(docs_dir=docs, home=tmp_path / "var", index_dir=tmp_path / "index").with_(composer="rules")
    build_index(settings, FakeEmbedder(), progress=False)
    assistant = Assistant(settings, FakeEmbedder())
    result = assistant.answer("今年前两个月江苏分行通过线上渠道发放小微贷款多少？")
    assert "468亿元" in result.text and result.citations[0].chunk.date == "2022-03-10"
    assert result.warnings == ("2023年的报道中没有找到，以下答案出自 2022年第5期（3月10日）",)
    assert assistant.answer("2023年前两个月江苏分行通过线上渠道发放小微贷款多少？").abstained  # a year named is meant
    assert not assistant.answer("今年养老金个人账户达到多少万户？").warnings  # the newest year answers


def test_a_heading_over_a_lead_opens_a_story_even_after_numbered_sections(tmp_path):
    text = (
        "工行通讯\n2020年第14期\n第1版\n新疆分行国际贸易融资快速增长\n"
        "本报讯（记者 常思远）截至6月末，新疆分行累计投放国际贸易融资326亿元。\n"
        "一、贸易融资产品更加丰富\n该行推出“出口e贷”，上半年发放贷款42亿元，支持国际贸易融资。\n"
        "企业凭出口订单即可获得融资，户均贷款约290万元。\n外贸企业的融资成本较去年下降了0.4个百分点。\n"
        "我行发布供应链金融平台“工银e链通”\n"
        "本报讯（记者 范立新）7月20日，我行发布供应链金融平台，上半年发放国际贸易融资贷款。\n"
        "平台试运行三个月以来，已接入核心企业210家。\n年内将力争接入核心企业500家以上。\n"
    )  # a paragraph a line (not hard-wrapped), as the layout issues are written
    doc = parsed(tmp_path, "issue.txt", text.encode())
    assert [(a.headline, [t for _, t in a.sections]) for a in doc.articles] == [
        ("新疆分行国际贸易融资快速增长", ["一、贸易融资产品更加丰富"]),
        ("我行发布供应链金融平台“工银e链通”", []),
    ]
