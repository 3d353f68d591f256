"""Text extraction from PDF, .docx and HTML, on files generated at test time."""

import io
import zipfile

import docx
import pytest
from PIL import Image
from reportlab.lib import pdfencrypt
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from index.formats import EXTRACTORS, TEXT_SUFFIXES, FormatError, decode_text, docx_text, html_text, pdf_text

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def chars(text: str) -> str:
    """Non-whitespace characters, in order."""
    return "".join(text.split())


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


# --------------------------------------------------------------------------- PDF

HEADLINE = "工行通讯：个人金融战略稳步推进"
SUBHEAD = "数字转型"
# Each paragraph is a list of printed lines; the first line carries the two-character indent.
LEFT = [
    ["总行党委高屋建瓴，着眼", "未来，全面布局个人金融", "业务发展。"],
    ["一年来的实践证明，围绕", "以人民为中心，做好个金", "业务是践行初心的体现，"],
]
# The right column opens by finishing the left column's last paragraph, then a sub-heading.
RIGHT = [
    ["也是全行奋斗目标的政治", "站位。"],
    [SUBHEAD],
    ["顺应互联网时代发展，以", "金融科技为抓手，推动智", "慧化转型。"],
]
PAGE2 = [["第二页正文：联动发展外化", "于行，各条线协同作战。"]]
EXPECTED_PAGE1 = [
    HEADLINE,
    "总行党委高屋建瓴，着眼未来，全面布局个人金融业务发展。",
    "一年来的实践证明，围绕以人民为中心，做好个金业务是践行初心的体现，也是全行奋斗目标的政治站位。",
    SUBHEAD,
    "顺应互联网时代发展，以金融科技为抓手，推动智慧化转型。",
]
EXPECTED_PAGE2 = ["第二页正文：联动发展外化于行，各条线协同作战。"]

BODY, LEAD = 10.5, 16.0


def column_lines(paras, x, top, continued=False):
    """(x, y, size, text) for each printed line of a column, top to bottom.

    continued: the first paragraph carries on from the previous column (no indent).
    """
    out, y = [], top
    for n, para in enumerate(paras):
        if para == [SUBHEAD]:
            y -= LEAD * 0.5
            out.append((x + 2 * BODY, y, 14.0, SUBHEAD))
            y -= LEAD * 1.5
            continue
        for k, line in enumerate(para):
            indent = 2 * BODY if k == 0 and not (n == 0 and continued) else 0.0
            out.append((x + indent, y, BODY, line))
            y -= LEAD
    return out


def make_pdf(row_by_row: bool = False) -> bytes:
    """Two pages: a headline over two columns (with a sub-heading), then one column.

    row_by_row writes the content stream across the columns line by line, the order that
    defeats extractors trusting the stream; the printed page is identical.
    """
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    c.setFont(FONT, 18)
    c.drawCentredString(297, 780, HEADLINE)
    left = column_lines(LEFT, 60, 740)
    right = column_lines(RIGHT, 320, 740, continued=True)
    lines = left + right
    if row_by_row:
        lines.sort(key=lambda t: (-t[1], t[0]))
    for x, y, size, text in lines:
        c.setFont(FONT, size)
        c.drawString(x, y, text)
    c.showPage()
    c.setFont(FONT, BODY)
    for x, y, _, text in column_lines(PAGE2, 60, 780):
        c.drawString(x, y, text)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def two_column_pdf() -> bytes:
    return make_pdf()


@pytest.mark.parametrize("row_by_row", [False, True], ids=["column-stream", "row-stream"])
def test_pdf_two_columns_come_out_in_reading_order(row_by_row):
    text = pdf_text(make_pdf(row_by_row))
    expected = "".join(EXPECTED_PAGE1) + "".join(EXPECTED_PAGE2)
    assert chars(text) == chars(expected)


def test_pdf_paragraphs_headings_and_pages(two_column_pdf):
    pages = pdf_text(two_column_pdf).split("\f")
    assert len(pages) == 2
    assert paragraphs(pages[0]) == EXPECTED_PAGE1
    assert paragraphs(pages[1]) == EXPECTED_PAGE2


def test_pdf_title_over_one_of_three_columns_is_read_first():
    # A centred title sits over the middle column only and a page number sits in a
    # gutter: the title must still open the page and the columns stay whole.
    columns = [[f"第{c}栏第{r}行正文内容" for r in range(6)] for c in "一二三"]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    c.setFont(FONT, 18)
    c.drawCentredString(297, 790, "三栏版面标题")
    c.setFont(FONT, BODY)
    for i, col in enumerate(columns):
        for r, line in enumerate(col):
            c.drawString(50 + i * 180, 740 - r * LEAD, line)
    c.drawCentredString(212, 600, "3")
    c.showPage()
    c.save()
    text = pdf_text(buf.getvalue())
    assert chars(text) == chars("三栏版面标题" + "".join("".join(col) for col in columns) + "3")
    assert paragraphs(text)[0] == "三栏版面标题"


def image_only_pdf() -> bytes:
    scan = Image.new("RGB", (200, 100), "white")
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawImage(ImageReader(scan), 50, 500, 400, 200)
    c.rect(40, 490, 420, 220)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_pdf_without_text_layer_is_refused():
    with pytest.raises(FormatError, match="PDF 没有文字层（可能是扫描件），暂不支持 OCR"):
        pdf_text(image_only_pdf())


def test_truncated_pdf_is_refused(two_column_pdf):
    with pytest.raises(FormatError, match="PDF 文件不完整（末尾没有 %%EOF 标记），可能没有下载完"):
        pdf_text(two_column_pdf[: len(two_column_pdf) // 2])


def test_corrupt_pdf_reports_the_parser_failure(two_column_pdf):
    # Keep header and trailer so the damage is only visible to the parser.
    broken = two_column_pdf[:9] + b"\x00garbage" * 200 + two_column_pdf[-40:]
    with pytest.raises(FormatError, match=r"^PDF 解析失败（\w+）$"):
        pdf_text(broken)


def test_encrypted_pdf_is_refused():
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret", canPrint=0))
    c.setFont(FONT, 12)
    c.drawString(100, 700, "加密文本")
    c.showPage()
    c.save()
    with pytest.raises(FormatError, match="PDF 已加密，需要密码才能打开"):
        pdf_text(buf.getvalue())


def test_not_a_pdf_is_refused():
    with pytest.raises(FormatError, match="不是 PDF 文件（没有 %PDF- 文件头）"):
        pdf_text("这只是文本".encode())


# --------------------------------------------------------------------------- DOCX


def make_docx() -> bytes:
    doc = docx.Document()
    doc.add_heading("工行通讯 2020年第3期", level=1)
    doc.add_paragraph("个人金融战略实施以来，成效显著。")
    table = doc.add_table(rows=2, cols=2)
    for cell, text in zip(
        (c for row in table.rows for c in row.cells), ["指标", "数值", "新增客户", "26万户"]
    ):
        cell.text = text
    doc.add_heading("联动发展", level=2)
    doc.add_paragraph("与私人银行条线联动，成效明显。")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_docx_paragraphs_and_table_cells_in_document_order():
    text = docx_text(make_docx())
    # Headings by their style as Markdown headings; the table row by row, each cell under its header.
    assert paragraphs(text) == [
        "# 工行通讯 2020年第3期",
        "个人金融战略实施以来，成效显著。",
        "## 表格",
        "新增客户｜数值：26万户",
        "## 联动发展",
        "与私人银行条线联动，成效明显。",
    ]


def test_docx_that_is_not_a_zip_is_refused():
    with pytest.raises(FormatError, match="不是有效的 Word（\\.docx）文件"):
        docx_text("不是压缩包".encode())


def test_zip_without_document_part_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(FormatError, match="不是有效的 Word（\\.docx）文件：压缩包中没有 word/document\\.xml"):
        docx_text(buf.getvalue())


# --------------------------------------------------------------------------- HTML

GBK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="gbk"><title>站点标题</title>
<style>p { color: red }</style></head>
<body>
<nav><a href="/">首页</a> <a href="/list">往期</a></nav>
<h1>工行通讯</h1>
<p>王堃同志指出，
   个人金融业务发展势头良好。</p>
<ul><li>新增客户26万户</li><li>渗透率34%</li></ul>
<table><tr><td>指标</td><td>数值</td></tr></table>
</body></html>"""


def test_html_declared_gbk_is_decoded():
    # 堃 is in GBK but not GB2312: decoding must not stop at GB2312.
    text = html_text(GBK_PAGE.encode("gbk"))
    assert paragraphs(text) == [
        "# 工行通讯",
        "王堃同志指出，个人金融业务发展势头良好。",
        "新增客户26万户",
        "渗透率34%",
        "## 表格",
        "指标｜数值",  # one row: no header to put over it
    ]
    for dropped in ("首页", "站点标题", "color"):
        assert dropped not in text


def test_html_script_is_dropped():
    page = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>
    <body><h2>要闻</h2><script>var secret = "脚本内容不应出现";</script>
    <p>第一段。<br>第一段第二行。<br><br>第二段。</p></body></html>"""
    text = html_text(page.encode("utf-8"))
    assert "脚本" not in text and "secret" not in text
    assert paragraphs(text) == ["## 要闻", "第一段。\n第一段第二行。", "第二段。"]


def test_html_without_declaration_falls_back_to_gb18030():
    text = html_text("<p>工商银行</p>".encode("gb18030"))
    assert text == "工商银行"


def test_html_utf8_bom_wins_over_wrong_meta():
    page = '<meta charset="gbk"><p>工商银行</p>'
    assert html_text(b"\xef\xbb\xbf" + page.encode("utf-8")) == "工商银行"


@pytest.mark.parametrize("page", [b"", b"<html><body>  </body></html>", b"<script>x()</script>"])
def test_html_without_text_is_refused(page):
    with pytest.raises(FormatError, match="HTML 页面中没有文字"):
        html_text(page)


def test_extractors_by_suffix():
    assert EXTRACTORS == {
        ".txt": decode_text,
        ".md": decode_text,
        ".pdf": pdf_text,
        ".docx": docx_text,
        ".html": html_text,
        ".htm": html_text,
    }
    assert TEXT_SUFFIXES == (".txt", ".md")
