"""What reading one file may cost: budgets of characters and seconds, zip bombs, UTF-16 text,
and the Chinese messages a user sees. Every input is generated here."""

import io
import math
import random
import re
import time
import tracemalloc
import zipfile

import pytest

from index import formats
from index.formats import Budget, FormatError, decode_text, docx_text, html_text, pdf_text
from tests.test_formats import make_pdf

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
DOC_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W_NS}><w:body>'.encode()
DOC_TAIL = b"</w:body></w:document>"
UNLIMITED_CHARS = math.inf


def budget(max_chars=600_000, seconds=120.0, **kw) -> Budget:
    return Budget(max_chars=max_chars, seconds=seconds, **kw)


def paragraph(text: str) -> bytes:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()


def docx_of(xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", xml)
    return buf.getvalue()


def varied_text(n: int, seed: int = 7) -> str:
    # Random ideographs deflate less than 2x: text like this is never mistaken for a bomb.
    rnd = random.Random(seed)
    return "".join(chr(rnd.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def varied_docx(chars: int, per_paragraph: int = 500) -> bytes:
    text = varied_text(chars)
    body = b"".join(paragraph(text[i:i + per_paragraph]) for i in range(0, chars, per_paragraph))
    return docx_of(DOC_HEAD + body + DOC_TAIL)


def refusal(extract, *args) -> str:
    with pytest.raises(FormatError) as error:
        extract(*args)
    return str(error.value)


def figure(message: str, pattern: str) -> int:
    """The number a message reports where `pattern` has (\\S+)."""
    return int(re.search(pattern, message).group(1).replace(",", ""))


# --------------------------------------------------------------------------- Budget


def test_budget_over_chars_names_both_figures():
    assert refusal(budget().check, 600_001) == "文字过多（已读出 600,001 字，超过 600,000 字的上限）"


def test_budget_over_time():
    late = budget(started=time.monotonic() - 121)
    assert refusal(late.check, 0) == "读取超时（超过 120 秒）"


def test_budget_within_limits_and_unlimited():
    budget().check(600_000)
    Budget(max_chars=math.inf, seconds=math.inf).check(10**12)


# --------------------------------------------------------------------------- DOCX bombs

BOMB_PARAGRAPH = paragraph("工行通讯个人金融")
BOMB_MB = 200


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    """A .docx whose document.xml inflates to 200 MB, written in 1 MB pieces so the test never holds it."""
    piece = BOMB_PARAGRAPH * (2**20 // len(BOMB_PARAGRAPH))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("word/document.xml", "w") as part:
            part.write(DOC_HEAD)
            for _ in range(BOMB_MB):
                part.write(piece)
            part.write(DOC_TAIL)
    return buf.getvalue()


BOMB_MESSAGE = r"^Word 文件压缩比异常（约 (\S+) 倍，上限 100 倍），可能是压缩炸弹$"


def test_docx_bomb_is_what_it_claims(docx_bomb):
    info = zipfile.ZipFile(io.BytesIO(docx_bomb)).getinfo("word/document.xml")
    assert info.file_size > BOMB_MB * 10**6
    assert len(docx_bomb) < 2**20  # well under 1 MB on disk


def test_docx_bomb_is_refused_fast(docx_bomb):
    started = time.perf_counter()
    message = refusal(docx_text, docx_bomb, budget())
    elapsed = time.perf_counter() - started
    assert re.match(BOMB_MESSAGE, message), message
    assert figure(message, BOMB_MESSAGE) > 100
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_docx_bomb_is_refused_in_little_memory(docx_bomb):
    # No character limit: the bomb guard alone must stop it, before the text piles up.
    tracemalloc.start()
    try:
        message = refusal(docx_text, docx_bomb, budget(max_chars=UNLIMITED_CHARS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert re.match(BOMB_MESSAGE, message), message
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_docx_over_the_ratio_cap_without_any_text():
    # Empty paragraphs: no characters to count, only the ratio can tell.
    xml = DOC_HEAD + b"<w:p/>" * (8 * 2**20 // 6) + DOC_TAIL
    message = refusal(docx_text, docx_of(xml), budget(max_chars=UNLIMITED_CHARS))
    assert re.match(BOMB_MESSAGE, message), message


def test_small_highly_compressible_docx_is_read():
    # Under 1 MB inflated the ratio proves nothing and costs nothing: a short repetitive issue is fine.
    xml = DOC_HEAD + paragraph("本期要闻") * 10_000 + DOC_TAIL
    data = docx_of(xml)
    assert len(xml) / len(data) > 100
    assert docx_text(data, budget()).count("本期要闻") == 10_000


def test_docx_over_the_byte_cap(monkeypatch):
    monkeypatch.setattr(formats, "_MAX_XML_BYTES", 2**20)
    data = varied_docx(400_000)  # ~1.2 MB of XML, deflating less than 2x
    assert refusal(docx_text, data, budget()) == "Word 文件解压后过大（word/document.xml 超过 1 MB 的上限）"


def test_docx_over_the_char_cap_stops_soon_after_it():
    data = varied_docx(300_000)
    message = refusal(docx_text, data, budget(max_chars=100_000))
    pattern = r"^文字过多（已读出 (\S+) 字，超过 100,000 字的上限）$"
    assert re.match(pattern, message), message
    # Stopped within one 64 KB block of XML (under 22,000 ideographs), not after reading all 300,000.
    assert 100_000 < figure(message, pattern) < 122_000


def test_docx_under_the_char_cap_is_read_whole():
    text = docx_text(varied_docx(300_000), budget(max_chars=400_000))
    assert len("".join(text.split())) == 300_000


def test_docx_nested_too_deep():
    xml = DOC_HEAD + b"<w:sdt>" * 2000 + b"</w:sdt>" * 2000 + DOC_TAIL
    assert refusal(docx_text, docx_of(xml), budget()) == "Word 文件结构异常（元素嵌套超过 1,000 层）"


def test_docx_with_one_huge_token():
    # A 6 MB attribute of varied bytes: no bomb by ratio, but expat would hold and rescan it whole.
    noise = random.Random(3).randbytes(3 * 2**20).hex().encode()
    xml = DOC_HEAD + b'<w:p w:x="' + noise + b'"/>' + DOC_TAIL
    assert refusal(docx_text, docx_of(xml), budget()) == "Word 文件结构异常（一个 XML 标记超过 4 MB）"


def test_docx_with_a_dtd_is_refused():
    # Entities declared in a DTD could expand a few bytes into megabytes of text.
    xml = (b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "' + b"x" * 100 + b'">]>'
           + DOC_HEAD.split(b"\n", 1)[1] + paragraph("&a;&a;") + DOC_TAIL)
    assert refusal(docx_text, docx_of(xml), budget()) == "Word 文件结构异常（含有 DTD 声明）"


RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Target="/word/main.xml" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/officeDocument"/></Relationships>')


def docx_with_rels(rels: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_rels/.rels", rels)
        zf.writestr("word/main.xml", DOC_HEAD + paragraph("主文档") + DOC_TAIL)
    return buf.getvalue()


def test_docx_main_part_comes_from_the_relationships():
    assert docx_text(docx_with_rels(RELS), budget()) == "主文档"


def test_docx_relationships_with_a_dtd_are_refused():
    rels = RELS.replace(b"?><", b'?><!DOCTYPE r [<!ENTITY a "aaaa">]><', 1)
    assert refusal(docx_text, docx_with_rels(rels), budget()) == "Word 文件结构异常（含有 DTD 声明）"


def test_docx_bzip2_member_is_refused():
    # zipfile inflates bzip2 and LZMA without bounding the output of one read.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("word/document.xml", DOC_HEAD + paragraph("正文") + DOC_TAIL)
    assert refusal(docx_text, buf.getvalue(), budget()) == (
        "Word 文件损坏：无法读取 word/document.xml（不支持的压缩方式 12）"
    )


def test_docx_with_broken_xml():
    message = refusal(docx_text, docx_of(DOC_HEAD + b"<w:p><w:r></w:p>" + DOC_TAIL), budget())
    assert message == "Word 文件损坏：无法读取 word/document.xml（XML 格式错误，第 2 行）"


def test_docx_without_text():
    assert refusal(docx_text, docx_of(DOC_HEAD + b"<w:p/>" + DOC_TAIL), budget()) == "Word 文件中没有文字"


def test_legacy_doc_is_refused():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    assert refusal(docx_text, ole, budget()) == "这是旧版 .doc 或加密的 .docx，请另存为 .docx 后再上传"


# --------------------------------------------------------------------------- plain text

# 一 开 最 退 are U+XX00: in UTF-16 they carry a NUL in the low byte, the "wrong" place.
TEXT = "工行通讯 2020年第3期\n一、个人金融业务开局良好，最新数据显示：\n新增客户26万户。\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_utf16_text(encoding, bom):
    data = TEXT.encode(encoding)
    if bom:
        data = "\ufeff".encode(encoding) + data
    assert decode_text(data, budget()) == TEXT


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_where_ideographs_outnumber_ascii(encoding):
    # Long lines with many 一: most NULs sit where ASCII would put them in the other byte order,
    # and the ideographs chosen (both bytes 0x4E-0x9F) read as ideographs both ways round, so
    # only the line breaks can tell which order is right.
    rnd = random.Random(5)
    both_ways = [chr(hi << 8 | lo) for hi in range(0x4E, 0xA0) for lo in range(0x4E, 0xA0)]
    lines = [("一" + "".join(rnd.choices(both_ways, k=9))) * 20 for _ in range(3)]
    text = "\n".join(lines)
    assert decode_text(text.encode(encoding), budget()) == text


@pytest.mark.parametrize("encoding", ["utf-32-le", "utf-32-be"])
def test_utf32_with_bom(encoding):
    assert decode_text(("\ufeff" + TEXT).encode(encoding), budget()) == TEXT


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "文件为空"),
        ("\ufeff \n ".encode("utf-16-le"), "文件为空"),
        (b"\x00\x01PK\x03\x04binary", "看起来是二进制文件，不是文本"),
        (b"\x00\x01PK\x03\x04binary!", "看起来是二进制文件，不是文本"),  # odd length: not UTF-16
        (bytes(range(256)) * 8, "看起来是二进制文件，不是文本"),
        # Starts like a UTF-16 BOM, but reads as unassigned code points.
        (b"\xff\xfe\xfa\x80\x81" * 20, "无法识别的文字编码（既不是 UTF-8 也不是 GBK/GB18030），或不是文本文件"),
    ],
)
def test_text_that_is_not_text(data, message):
    assert refusal(decode_text, data, budget()) == message


def test_utf8_and_gb18030_still_read():
    assert decode_text("\ufeff工行通讯".encode(), budget()) == "工行通讯"
    assert decode_text("王堃同志".encode("gb18030"), budget()) == "王堃同志"


def test_text_over_the_char_cap():
    message = refusal(decode_text, ("字" * 1001).encode(), budget(max_chars=1000))
    assert message == "文字过多（已读出 1,001 字，超过 1,000 字的上限）"


# --------------------------------------------------------------------------- PDF


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf()


def test_pdf_messages_are_chinese(pdf):
    assert refusal(pdf_text, "这只是文本".encode(), budget()) == "不是 PDF 文件（没有 %PDF- 文件头）"
    assert refusal(pdf_text, pdf[: len(pdf) // 2], budget()) == (
        "PDF 文件不完整（末尾没有 %%EOF 标记），可能没有下载完"
    )


def test_pdf_parser_failure_names_the_error_type(pdf):
    broken = pdf[:9] + b"\x00garbage" * 200 + pdf[-40:]
    assert re.fullmatch(r"PDF 解析失败（[A-Za-z]+）", refusal(pdf_text, broken, budget()))


def test_pdf_out_of_time(pdf):
    late = budget(seconds=1.0, started=time.monotonic() - 10)
    assert refusal(pdf_text, pdf, late) == "读取超时（超过 1 秒）"


def test_pdf_over_the_char_cap_stops_after_the_page_that_crossed_it(pdf):
    first_page = pdf_text(pdf).split("\f")[0]
    message = refusal(pdf_text, pdf, budget(max_chars=10))
    assert message == f"文字过多（已读出 {len(first_page):,} 字，超过 10 字的上限）"


# --------------------------------------------------------------------------- HTML


def html_page(chars: int) -> bytes:
    text = varied_text(chars)
    return ("<html><body>" + "".join(f"<p>{text[i:i + 400]}</p>" for i in range(0, chars, 400))
            + "</body></html>").encode()


def test_html_over_the_char_cap_stops_soon_after_it():
    message = refusal(html_text, html_page(300_000), budget(max_chars=50_000))
    pattern = r"^文字过多（已读出 (\S+) 字，超过 50,000 字的上限）$"
    assert re.match(pattern, message), message
    assert 50_000 < figure(message, pattern) < 50_000 + 64 * 2**10  # within one 64 K piece


def test_html_under_the_char_cap_is_read_whole():
    text = html_text(html_page(300_000), budget(max_chars=400_000))
    assert len("".join(text.split())) == 300_000


def test_html_out_of_time():
    late = budget(seconds=2.5, started=time.monotonic() - 3)
    assert refusal(html_text, html_page(1000), late) == "读取超时（超过 2.5 秒）"
