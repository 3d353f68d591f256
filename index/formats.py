"""Plain-text extraction from newsletter issues delivered as text, PDF, Word (.docx) or HTML,
within a budget of characters and seconds per file."""

from __future__ import annotations

import codecs
import io
import math
import re
import statistics
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from xml.parsers import expat

from index.text import collapse_spaces


class FormatError(Exception):
    """The file cannot be turned into text; the message says why in plain Chinese words."""


@dataclass(frozen=True)
class Budget:
    """What one file may cost to read: characters extracted and seconds spent."""

    max_chars: int
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self, chars: int) -> None:
        """Raise FormatError when `chars` extracted so far exceed max_chars, or when more than
        `seconds` have passed since `started`. Extractors call it as text accumulates, so a
        file stops costing soon after it is over budget, not after it has been read whole."""
        if chars > self.max_chars:
            raise FormatError(f"文字过多（已读出 {chars:,} 字，超过 {self.max_chars:,.0f} 字的上限）")
        if time.monotonic() - self.started > self.seconds:
            raise FormatError(f"读取超时（超过 {self.seconds:g} 秒）")


# For callers that read trusted files (benchmarks, tests): nothing is ever over budget.
NO_BUDGET = Budget(max_chars=math.inf, seconds=math.inf)

PARAGRAPH_SEP = "\n\n"
PAGE_SEP = "\f"  # pages are joined by exactly one form feed: page n = text.split("\f")[n-1]
TEXT_SUFFIXES = (".txt", ".md")  # hard-wrapped plain text: line breaks inside paragraphs are not paragraph ends


def _cjk(ch: str) -> bool:
    # CJK ideographs, CJK punctuation and full-width forms: scripts written without spaces.
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF
        or 0x20000 <= o <= 0x3FFFF
    )


def _join_lines(lines: list[str]) -> str:
    """Join wrapped lines of one paragraph: no space inside Chinese, one space between Latin words."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out and not (_cjk(out[-1]) or _cjk(line[0])):
            out += " "
        out += line
    return out


def _squeeze(text: str) -> str:
    """Collapse whitespace to one space; drop it between two CJK characters where it breaks a
    line (a source line wrap), keep it where it is written on the line («□ 王立新 陈静»)."""
    out = ""
    for gap, word in re.findall(r"(\s*)(\S+)", text):
        if out and gap and not (_cjk(out[-1]) and _cjk(word[0]) and ("\n" in gap or "\r" in gap)):
            out += " "
        out += word
    return out


def _finished(text: str, budget: Budget, empty: str) -> str:
    """The extracted text, refused with `empty` when there is none, and charged to the budget."""
    if not text.strip():
        raise FormatError(empty)
    budget.check(len(text))
    return text


# ---------------------------------------------------------------------------
# Plain text (.txt, .md)
# ---------------------------------------------------------------------------

# UTF-32 first: its little-endian BOM begins with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Share of characters no written text holds (controls, unassigned code points) above which a
# decoding is taken for the wrong one, or the bytes for a binary file.
_MAX_ODD_SHARE = 0.01
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # below 32, except \t \n \f \r
# A wrong decoding shows unassigned code points from the start; looking further costs time only.
_SAMPLE = 100_000
# Box-drawing lines (U+2500) are the one common non-CJK U+XX00 character in Chinese text.
_MAX_MISPLACED_ZEROS = 0.1


TABLE_CELL = "｜"  # between the cells of a table row, as its passage reads
TABLE_HEADER = "："  # between a column's header and the cell under it
UNTITLED_TABLE = "表格"  # the title a table without one gets, so that its rows are cited to it
_MAX_TABLE_TITLE = 40


def table_rows(grid: list[list[str]], before: str = "", caption: str = "") -> list[str]:
    """A table as paragraphs: its title, then one per row, each cell under its column's header
    and the row's label first («养老金个人账户（万户）｜2020年末：1308｜2021年末：1502»), so that a
    row read alone still says what each figure is. The first row is the header. The title is its
    caption, else the paragraph above it when that reads like one (表1 …, then not repeated), else
    «表格»; it always starts with 表, which is how a citation knows a table."""
    rows = [row for row in grid if any(row)]
    if not rows:
        return []
    header, body = (rows[0], rows[1:]) if len(rows) > 1 else ([], rows)
    if caption:
        title = [f"## {caption}" if caption.startswith("表") else f"## 表：{caption}"]
    elif before.lstrip("# ").startswith("表") and len(before) <= _MAX_TABLE_TITLE:
        title = []
    else:
        title = [f"## {UNTITLED_TABLE}"]
    lines = []
    for row in body:
        cells = [row[0]] + [
            f"{header[i]}{TABLE_HEADER}{cell}" if i < len(header) and header[i] else cell
            for i, cell in enumerate(row[1:], start=1)
            if cell
        ]
        lines.append(TABLE_CELL.join(cell for cell in cells if cell))
    return title + lines


def decode_text(data: bytes, budget: Budget = NO_BUDGET) -> str:
    """Text of a plain-text file: by its BOM; BOM-less UTF-16 when it holds NULs; else UTF-8,
    else GB18030, the superset of GBK that older files use."""
    if not data.strip():
        raise FormatError("文件为空")
    text = _decoded(data)
    if not text.strip():  # a BOM alone, or UTF-16 spaces
        raise FormatError("文件为空")
    budget.check(len(text))
    return text


def _decoded(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom):], encoding)
            if text is not None:
                return text
            break  # bytes that merely start like a BOM: try the other readings
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise FormatError("看起来是二进制文件，不是文本")
        return text
    for encoding in ("utf-8-sig", "gb18030"):
        text = _strict(data, encoding)
        if text is not None:
            return text
    raise FormatError("无法识别的文字编码（既不是 UTF-8 也不是 GBK/GB18030），或不是文本文件")


def _strict(data: bytes, encoding: str) -> str | None:
    """The bytes decoded, when they decode without error to something that reads as text."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return text if _plausible(text) else None


def _plausible(text: str) -> bool:
    """Almost no control characters and almost no unassigned code points: what a person wrote,
    not binary data or bytes read with the wrong encoding."""
    if len(_CONTROL.findall(text)) > _MAX_ODD_SHARE * len(text):
        return False
    sample = text[:_SAMPLE]
    unassigned = sum(1 for c in sample if unicodedata.category(c) == "Cn")
    return unassigned <= _MAX_ODD_SHARE * len(sample)


def _utf16_without_bom(data: bytes) -> str | None:
    """BOM-less UTF-16, little- or big-endian, when the bytes read as text one way or the other."""
    if len(data) % 2:
        return None
    # ASCII and line breaks have a zero high byte: at odd offsets in little-endian, even in big.
    odd, even = data[1::2].count(0), data[0::2].count(0)
    order = ("utf-16-le", "utf-16-be") if odd >= even else ("utf-16-be", "utf-16-le")
    texts = [t for t in (_strict(data, encoding) for encoding in order) if t is not None and _zeros_fit(t)]
    # Line breaks settle the byte order: read the wrong way round, each becomes U+0A00, which no text holds.
    return max(texts, key=lambda t: t.count("\n"), default=None)


def _zeros_fit(text: str) -> bool:
    """Whether the zero bytes sit where text puts them: in ASCII or Latin-1 characters, or in
    ideographs such as 一 开 最 (U+XX00). Chinese prose can hold more of those than ASCII, so
    which parity has more NULs does not tell the byte order; binary data puts them anywhere."""
    zeros = [c for c in text[:_SAMPLE] if ord(c) < 0x100 or ord(c) & 0xFF == 0]
    misplaced = sum(1 for c in zeros if not (_cjk(c) if ord(c) >= 0x100 else _latin1_text(c)))
    return misplaced <= _MAX_MISPLACED_ZEROS * len(zeros)


def _latin1_text(ch: str) -> bool:
    return ch in "\t\n\r\f" or " " <= ch < "\x7f" or ch >= "\xa0"  # not C0 or C1 controls


# ---------------------------------------------------------------------------
# PDF
#
# Library choice, measured with `python bench/pdf_extract.py` (6 generated A4
# pages, STSong-Light, a headline spanning two justified columns, 11 191 chars,
# 2-core CPU; recall = non-whitespace source chars recovered in reading order,
# difflib blocks; interleaved = right column starts before the left one ends;
# paragraphs = source paragraphs coming out as exactly one "\n\n" block):
#
#   stream written column by column            recall  interleaved  paragraphs  ms/page
#     pypdf extract_text                         1.000   no  0/6       0.000       9-13
#     pypdf extraction_mode="layout"             0.521   yes 6/6       0.094      10-13
#     pdfplumber extract_text                    0.521   yes 6/6       0.000      66-73
#     pdfplumber extract_text(layout=True)       0.521   yes 6/6       0.000      61-75
#     pdfplumber chars + column cut (below)      1.000   no  0/6       1.000      63-76
#   stream written row by row (left i, right i; same printed page)
#     pypdf extract_text                         0.521   yes 6/6       0.000        9
#     pdfplumber extract_text                    0.521   yes 6/6       0.000      65-73
#     pdfplumber chars + column cut (below)      1.000   no  0/6       1.000      62-76
#
# Both decode STSong-Light (UniGB-UCS2-H) completely (order-free recall 1.000);
# the difference is ordering.  pypdf is right only when the producer wrote the
# content stream in reading order, and it exposes text runs without widths or
# per-character boxes, so gutters, indents and heading sizes are out of reach.
# pdfplumber is ~7x slower (its pdfminer parse; our layout pass adds ~6 ms/page)
# but gives every glyph with box and size.  Choice: pdfplumber, with the column
# cut and paragraph recovery below.
# ---------------------------------------------------------------------------

_MAX_UNMAPPED = 0.5  # more "(cid:N)" glyphs than this → the text layer is useless


class _Seg:
    """A run of characters on one baseline, not crossing a column gap."""

    __slots__ = ("chars", "x0", "x1", "top", "bottom", "size", "text")

    def __init__(self, chars: list[dict]):
        self.chars = chars
        self.x0 = min(c["x0"] for c in chars)
        self.x1 = max(c["x1"] for c in chars)
        self.top = min(c["top"] for c in chars)
        self.bottom = max(c["bottom"] for c in chars)
        self.size = statistics.median(c["size"] for c in chars)
        self.text = _seg_text(chars)


def _seg_text(chars: list[dict]) -> str:
    # Latin PDFs often position words instead of drawing spaces; restore those.
    out, prev = [], None
    for c in chars:
        t = c["text"]
        if prev is not None and t.strip() and out and out[-1].strip():
            gap = c["x0"] - prev["x1"]
            if gap > 0.25 * c["size"] and not (_cjk(out[-1][-1]) and _cjk(t[0])):
                out.append(" ")
        out.append(t)
        prev = c
    return collapse_spaces("".join(out)).strip()


def _segments(chars: list[dict]) -> list[_Seg]:
    """Group characters into baseline rows, then split rows at gaps wider than one em."""
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: (c["top"] + c["bottom"]) / 2):
        mid = (c["top"] + c["bottom"]) / 2
        if rows:
            last = rows[-1]
            last_mid = (last[0]["top"] + last[0]["bottom"]) / 2
            if abs(mid - last_mid) <= 0.4 * max(c["size"], last[0]["size"]):
                last.append(c)
                continue
        rows.append([c])

    segs = []
    for row in rows:
        row.sort(key=lambda c: c["x0"])
        run: list[dict] = []
        for c in row:
            if run:
                prev = run[-1]
                # Producers that fake bold draw each glyph twice at nearly the same spot.
                if c["text"] == prev["text"] and abs(c["x0"] - prev["x0"]) < 0.3 * c["size"]:
                    continue
                if c["x0"] - prev["x1"] > max(c["size"], prev["size"]):
                    _add_seg(segs, run)
                    run = []
            run.append(c)
        _add_seg(segs, run)
    return segs


def _add_seg(segs: list[_Seg], run: list[dict]) -> None:
    # Chinese typesetting often indents with drawn U+3000 spaces; the geometry must
    # start at the first visible glyph for the indent to show.
    visible = [i for i, c in enumerate(run) if c["text"].strip()]
    if visible:
        segs.append(_Seg(run[visible[0]:visible[-1] + 1]))


def _find_gutter(segs: list[_Seg]) -> tuple[float, float] | None:
    """Widest vertical strip between column lines that few lines cross, or None.

    Only narrow lines (column lines) decide where the strip is, so a headline or lead
    spanning the columns cannot hide the gutter under it; a page number sitting in the
    gutter is tolerated by allowing a small coverage.
    """
    width = max(s.x1 for s in segs) - min(s.x0 for s in segs)
    narrow = [s for s in segs if s.x1 - s.x0 < 0.6 * width]
    if len(narrow) < 4:
        return None
    lo, hi = int(min(s.x0 for s in narrow)), int(max(s.x1 for s in narrow)) + 1
    cover = [0] * (hi - lo + 1)
    for s in narrow:
        for x in range(int(s.x0) - lo, int(s.x1) - lo + 1):
            cover[x] += 1
    limit = max(1, max(cover) // 10)
    em = statistics.median(s.size for s in segs)
    best = None
    start = None
    for x, n in enumerate(cover + [limit + 1]):
        if n <= limit and start is None:
            start = x
        elif n > limit and start is not None:
            gap = (lo + start, lo + x)
            inside = start > 0 and x < len(cover)
            if inside and x - start >= 0.8 * em and (best is None or x - start > best[1] - best[0]):
                if _is_gutter(segs, narrow, gap):
                    best = gap
            start = None
    return best


def _is_gutter(segs: list[_Seg], narrow: list[_Seg], gap: tuple[float, float]) -> bool:
    # Text on both sides, and most lines stop at the strip: in single-column prose
    # most lines would cross it.
    left = sum(1 for s in narrow if s.x1 <= gap[1])
    right = sum(1 for s in narrow if s.x0 >= gap[0])
    crossing = sum(1 for s in segs if s.x0 < gap[0] and s.x1 > gap[1])
    return left >= 2 and right >= 2 and crossing < len(segs) - crossing


class _Block:
    """Lines read together: one column of a band, or a run of full-width lines.

    fresh: the block cannot continue the previous block's paragraph (it follows
    whitespace across the whole page region, or is or follows a full-width run).
    """

    def __init__(self, segs: list[_Seg], spanning: bool = False):
        self.segs = segs
        self.spanning = spanning
        self.fresh = spanning
        self.left = min(s.x0 for s in segs)
        self.right = max(s.x1 for s in segs)
        gaps = [b.top - a.bottom for a, b in zip(segs, segs[1:]) if b.top > a.bottom]
        self.usual_gap = statistics.median(gaps) if gaps else None
        # Ragged-right text would look like "short last line" everywhere; only trust that
        # cue when most lines reach the right edge (justified, as Chinese body text is).
        flush = sum(1 for s in segs if self.right - s.x1 < 0.5 * s.size)
        self.justified = flush >= 0.6 * len(segs)


def _same_columns(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] < b[1] and b[0] < a[1]


def _row_cut(segs: list[_Seg]) -> tuple[list[_Seg], list[_Seg]] | None:
    """Split at the first horizontal white strip across the region where the column layout changes.

    This puts a headline above the columns even when it sits over one column only (a
    centred title over three columns); strips between columns that simply go on, such
    as paragraph spacing that happens to line up, are not cut.
    """
    ordered = sorted(segs, key=lambda s: s.top)
    em = statistics.median(s.size for s in segs)
    bottom = ordered[0].bottom
    for i in range(1, len(ordered)):
        if ordered[i].top - bottom >= 0.8 * em:
            upper, lower = ordered[:i], ordered[i:]
            if not _same_columns(_find_gutter(upper), _find_gutter(lower)):
                return upper, lower
        bottom = max(bottom, ordered[i].bottom)
    return None


def _reading_order(segs: list[_Seg]) -> list[_Block]:
    """Recursive XY cut: blocks in reading order.

    Regions whose column layout differs are read top to bottom; within a region, lines
    crossing the gutter (headlines, full-width paragraphs) cut it into horizontal bands,
    and inside a band the left side is read before the right side.
    """
    rows = _row_cut(segs)
    if rows is not None:
        upper, lower = (_reading_order(part) for part in rows)
        lower[0].fresh = True
        return upper + lower
    gutter = _find_gutter(segs)
    if gutter is None:
        return [_Block(sorted(segs, key=lambda s: (s.top, s.x0)))]
    g0, g1 = gutter
    blocks: list[_Block] = []
    band: list[_Seg] = []
    wide: list[_Seg] = []

    def flush_band():
        for side in ([s for s in band if s.x1 <= g1], [s for s in band if s.x1 > g1]):
            if side:
                blocks.extend(_reading_order(side) if len(side) < len(segs) else [_Block(side)])
        band.clear()

    def flush_wide():
        if wide:
            blocks.append(_Block(list(wide), spanning=True))
            wide.clear()

    for s in sorted(segs, key=lambda s: (s.top, s.x0)):
        if s.x0 < g0 and s.x1 > g1:
            flush_band()
            wide.append(s)
        else:
            flush_wide()
            band.append(s)
    flush_band()
    flush_wide()
    return blocks


def _starts_paragraph(prev: _Seg, s: _Seg, prev_block: _Block, block: _Block, first: bool) -> bool:
    if abs(s.size - prev.size) > 0.15 * max(s.size, prev.size):
        return True  # heading next to body text
    if s.x0 - block.left > 1.0 * s.size:
        return True  # first-line indent
    if prev_block.justified and prev_block.right - prev.x1 > 1.5 * prev.size:
        return True  # previous line stopped short: last line of its paragraph
    if first:
        # Moving on to the next column keeps the paragraph: text flows on.
        return block.fresh or prev_block.spanning
    return block.usual_gap is not None and s.top - prev.bottom > block.usual_gap + 0.5 * s.size


def _paragraphs(blocks: list[_Block]) -> list[str]:
    """Split blocks into paragraphs by size changes, indents, short last lines and extra leading."""
    paras: list[list[str]] = []
    prev = prev_block = None
    for block in blocks:
        for i, s in enumerate(block.segs):
            if prev is None or _starts_paragraph(prev, s, prev_block, block, first=i == 0):
                paras.append([])
            paras[-1].append(s.text)
            prev, prev_block = s, block
    return [p for p in (_join_lines(lines) for lines in paras) if p]


def _page_text(chars: list[dict]) -> str:
    segs = _segments(chars)
    if not segs:
        return ""
    return PARAGRAPH_SEP.join(_paragraphs(_reading_order(segs)))


def _pdf_pages(data: bytes) -> Iterator[tuple[list[dict], list[list[str]]]]:
    """Characters of each page in turn, outside its ruled tables, and the rows of those tables
    (`table_rows`); every parser failure becomes a FormatError."""
    # Imported here: loading pdfminer costs time that .docx/HTML-only runs need not pay.
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                tables = page.find_tables()  # ruled tables only: a table's lines say where it is
                chars = [c for c in page.chars if not any(_inside(c, t.bbox) for t in tables)]
                rows = [table_rows([[_cell(c) for c in row] for row in t.extract()]) for t in tables]
                page.close()  # its layout objects are not needed once the characters are out
                yield chars, [r for r in rows if r]
    except Exception as exc:  # noqa: BLE001 — pdfminer raises many unrelated types on bad input
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise FormatError("PDF 已加密，需要密码才能打开") from exc
        if isinstance(cause, PDFEncryptionError):
            raise FormatError(f"PDF 的加密方式不受支持（{cause}）") from exc
        raise FormatError(f"PDF 解析失败（{type(cause).__name__}）") from exc


def _inside(char: dict, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return x0 <= (char["x0"] + char["x1"]) / 2 <= x1 and top <= (char["top"] + char["bottom"]) / 2 <= bottom


def _cell(text: str | None) -> str:
    return collapse_spaces(text or "").strip()


def pdf_text(data: bytes, budget: Budget = NO_BUDGET) -> str:
    """Text of a PDF: paragraphs separated by a blank line, pages by a form feed."""
    if b"%PDF-" not in data[:1024]:
        raise FormatError("不是 PDF 文件（没有 %PDF- 文件头）")
    # A cut-off download can still parse partially; refuse it rather than index half an issue.
    if b"%%EOF" not in data[-2048:]:
        raise FormatError("PDF 文件不完整（末尾没有 %%EOF 标记），可能没有下载完")

    texts: list[str] = []
    glyphs = unmapped = extracted = 0
    for page, tables in _pdf_pages(data):
        visible = [c for c in page if c["text"].strip()]
        glyphs += len(visible) + sum(map(len, tables))
        unmapped += sum(1 for c in visible if c["text"].startswith("(cid:"))
        # A few unmapped glyphs (symbols, dingbats) would only add noise. A table's rows follow
        # the page's running text: where it stood among the columns is not kept.
        text = _page_text([c for c in page if not c["text"].startswith("(cid:")])
        texts.append(PARAGRAPH_SEP.join([text] * bool(text) + ["\n\n".join(rows) for rows in tables]))
        extracted += len(texts[-1])
        budget.check(extracted)  # page by page: a 5,000-page file stops at its limit
    if not texts:
        raise FormatError("PDF 文件中没有页面")
    if not glyphs:
        raise FormatError("PDF 没有文字层（可能是扫描件），暂不支持 OCR")
    if unmapped > _MAX_UNMAPPED * glyphs:
        raise FormatError("PDF 的字体没有 Unicode 映射，无法提取文字")
    return _finished(PAGE_SEP.join(texts), budget, "PDF 中没有文字")


# ---------------------------------------------------------------------------
# DOCX — read WordprocessingML directly with the standard library: we only need
# the text of paragraphs and table cells in body order, which python-docx does
# not give for nested tables without walking the XML anyway.
# ---------------------------------------------------------------------------

# The main part is inflated and parsed block by block, counting the bytes it really inflates to
# and the compressed bytes really read: the sizes in the zip headers are the attacker's to write.
_MAX_XML_BYTES = 128 * 2**20  # a long newsletter's document.xml is a few MB; 128 MB is beyond any real one
# A real document.xml deflates 5-20x; a bomb is one repeated pattern, which deflates up to ~1000x.
_MAX_RATIO = 100
_RATIO_FLOOR = 2**20  # under 1 MB inflated, a part costs nothing whatever its ratio, and a short prefix proves little
_MAX_RELS_BYTES = 2**20  # _rels/.rels lists a handful of relationships: a few hundred bytes
# zipfile reads ahead about one block (at least 4 KB) of compressed data, which hides a bomb's
# ratio until ~100 blocks are inflated: with 4 KB blocks the 1 MB floor is what decides.
_INFLATE_BLOCK = 4 * 2**10
# What expat is given at once: expat rescans an unfinished token on every call, so small pieces
# would make a long token cost quadratic time.
_PARSE_BLOCK = 64 * 2**10
_MAX_DEPTH = 1000  # tables in tables in text boxes stay under ~100 levels; each open level costs memory
# expat holds an unfinished token (tag, attribute, comment) whole, and rescans it on every block.
_MAX_TOKEN = 4 * 2**20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DEFAULT_PART = "word/document.xml"
_STYLES_PART = "word/styles.xml"
_MAX_STYLES_BYTES = 8 * 2**20  # a styles part is tens of KB
_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*(\d)|title|标题")
_MAX_BOLD_TITLE = 40  # a bold paragraph longer than a headline is emphasis, not a title
# Elements of a run that stand for a character; text itself is in w:t.
_RUN_MARKS = {"tab": "\t", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}


class _CountedBytes(io.BytesIO):
    """The archive's bytes, counting how many are read: the real compressed size of what was inflated."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.read_count = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_count += len(chunk)
        return chunk


def _local(tag: str) -> str:
    # Match on local names so both transitional and strict OOXML namespaces work.
    return tag.rsplit("}", 1)[-1]


def _damaged(part: str, detail: str) -> FormatError:
    return FormatError(f"Word 文件损坏：无法读取 {part}（{detail}）")


def _open_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    # Only the methods Word writes: zipfile inflates bzip2 and LZMA without an output bound.
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged(info.filename, f"不支持的压缩方式 {info.compress_type}")
    try:
        return zf.open(info)
    except RuntimeError as exc:  # what zipfile raises for an encrypted member
        raise _damaged(info.filename, "内容已加密") from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _damaged(info.filename, type(exc).__name__) from exc


def _inflate(zf: zipfile.ZipFile, archive: _CountedBytes, info: zipfile.ZipInfo, max_bytes: int) -> Iterator[bytes]:
    """The part's bytes in blocks of _PARSE_BLOCK, refused as soon as what it really inflates to is too much."""
    with _open_part(zf, info) as part:
        compressed_start = archive.read_count
        inflated = 0
        pending: list[bytes] = []
        while block := _read_block(part, info):
            inflated += len(block)
            _check_inflated(info, inflated, archive.read_count - compressed_start, max_bytes)
            pending.append(block)
            if len(pending) * _INFLATE_BLOCK >= _PARSE_BLOCK:
                yield b"".join(pending)
                pending.clear()
        if pending:
            yield b"".join(pending)


def _read_block(part, info: zipfile.ZipInfo) -> bytes:
    try:
        return part.read(_INFLATE_BLOCK)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(info.filename, type(exc).__name__) from exc


def _check_inflated(info: zipfile.ZipInfo, inflated: int, compressed: int, max_bytes: int) -> None:
    """Refuse the part once the bytes it really inflated to, or their ratio to the compressed
    bytes really read, are over the limit."""
    if inflated > max_bytes:
        raise FormatError(f"Word 文件解压后过大（{info.filename} 超过 {max_bytes / 2**20:g} MB 的上限）")
    # `compressed` includes zipfile's read-ahead, so the measured ratio is never above the real one.
    if inflated > _RATIO_FLOOR and inflated > _MAX_RATIO * compressed:
        # Measuring stops as soon as it passes the cap; the sizes the zip declares tell how far the
        # bomb would have gone (shown only, never trusted to let a part through).
        ratio = max(inflated // max(compressed, 1), info.file_size // max(info.compress_size, 1))
        raise FormatError(f"Word 文件压缩比异常（约 {ratio:,} 倍，上限 {_MAX_RATIO} 倍），可能是压缩炸弹")


def _main_part(zf: zipfile.ZipFile, archive: _CountedBytes) -> str:
    """Path of the main document part, from the package relationships."""
    try:
        info = zf.getinfo("_rels/.rels")
    except KeyError:
        return _DEFAULT_PART
    targets: list[str] = []

    def relationship(name: str, attrs: dict) -> None:
        if attrs.get("Type", "").endswith("/officeDocument"):
            targets.append(attrs.get("Target", _DEFAULT_PART))

    if not _parse_part(zf, archive, info, _MAX_RELS_BYTES, relationship):
        return _DEFAULT_PART
    return targets[0].lstrip("/") if targets else _DEFAULT_PART


def _parse_part(zf: zipfile.ZipFile, archive: _CountedBytes, info: zipfile.ZipInfo, max_bytes: int, start) -> bool:
    """Feed a small part's start tags to `start`; False when its XML is broken."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = _refuse_doctype
    try:
        parser.Parse(b"".join(_inflate(zf, archive, info, max_bytes)), True)
    except expat.ExpatError:
        return False
    return True


def _paragraph_text(raw: str) -> str:
    lines = [collapse_spaces(line).strip() for line in raw.split("\n")]
    return "\n".join(line for line in lines if line)


class _WordText:
    """Text of WordprocessingML from expat's callbacks: paragraphs and table cells in document
    order; tabs and breaks kept; not deleted text or field codes. A heading (a Heading or Title
    style, by `headings`: style id → level) or a short paragraph all in bold comes out as a
    Markdown heading («# …», «## …»); the outermost tables come out row by row (`table_rows`).

    No tree is built: a paragraph's text is kept as it arrives and everything else is forgotten
    at its end tag, so memory follows the text read so far, not the size of the XML.
    """

    def __init__(self, headings: dict[str, int] | None = None):
        self.headings = headings or {}
        self.blocks: list[str] = []
        self.cells: list[list[str]] = []  # blocks of the table cells open outside a paragraph
        self.rows: list[list[str]] | None = None  # the outermost table's rows so far
        self.table_depth = 0
        self.para: list[str] | None = None  # text of the open (outermost) paragraph
        self.para_depth = 0
        self.level = 0  # the open paragraph's heading level by its style; 0 for body text
        self.plain = 0  # characters of the open paragraph outside bold runs
        self.bold = False  # whether the open run is bold
        self.text_depth = 0  # depth of the open w:t; 0 when none
        self.skip_depth = 0  # depth of the element whose content is ignored; 0 when none
        self.depth = 0
        self.chars = 0  # characters of text collected so far

    def start(self, name: str, attrs) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise FormatError(f"Word 文件结构异常（元素嵌套超过 {_MAX_DEPTH:,} 层）")
        if self.skip_depth or self.text_depth:
            if self.para is not None and self.skip_depth:
                self._property(_local(name), attrs)
            return
        local = _local(name)
        if local == "Fallback" or local.endswith("Pr"):
            # mc:Fallback repeats a text box for old readers; *Pr are properties (tab stops,
            # sections): only the style and the bold of a paragraph's are looked at.
            self.skip_depth = self.depth
        elif self.para is None:
            if local == "p":
                self.para, self.para_depth, self.level, self.plain = [], self.depth, 0, 0
            elif local == "tbl":
                self.table_depth += 1
                if self.table_depth == 1:
                    self.rows = []
            elif local == "tr" and self.table_depth == 1:
                self.rows.append([])
            elif local == "tc":
                self.cells.append([])
        elif local == "r":
            self.bold = False
        elif local == "t":
            self.text_depth = self.depth
        elif local in _RUN_MARKS:
            self.para.append(_RUN_MARKS[local])
        # Everything else (hyperlinks, insertions, text boxes inside the paragraph, sdt around
        # paragraphs) is only looked through.

    def _property(self, local: str, attrs) -> None:
        value = next((v for k, v in attrs.items() if _local(k) == "val"), None)
        if local == "pStyle":
            self.level = self.headings.get(value or "", 0)
        elif local == "b":
            self.bold = value not in ("0", "false", "off")

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth -= 1
        if self.skip_depth or self.text_depth:
            if depth == self.skip_depth:
                self.skip_depth = 0
            elif depth == self.text_depth:
                self.text_depth = 0
        elif self.para is not None:
            if depth == self.para_depth:
                self._add(self._paragraph())
                self.para = None
        elif _local(name) == "tc":
            cell = "\n".join(b for b in self.cells.pop() if b)
            if self.table_depth == 1 and not self.cells:
                self.rows[-1].append(collapse_spaces(cell).strip())
            else:
                self._add(cell)
        elif _local(name) == "tbl":
            self.table_depth -= 1
            if self.table_depth == 0:
                for row in table_rows(self.rows, self.blocks[-1] if self.blocks else ""):
                    self._add(row)
                self.rows = None

    def data(self, text: str) -> None:
        if self.text_depth and self.depth == self.text_depth:
            self.para.append(text)
            self.chars += len(text)
            if not self.bold:
                self.plain += len(text.strip())

    def _paragraph(self) -> str:
        text = _paragraph_text("".join(self.para))
        bold_title = not self.plain and 0 < len(text) <= _MAX_BOLD_TITLE and "\n" not in text
        level = self.level or (2 if bold_title else 0)
        # In a table a bold cell is its header, not a title.
        return f"{'#' * level} {text}" if level and text and not self.cells else text

    def _add(self, block: str) -> None:
        (self.cells[-1] if self.cells else self.blocks).append(block)


def _refuse_doctype(*_) -> None:
    # WordprocessingML never has a DTD; one here is there to expand entities.
    raise FormatError("Word 文件结构异常（含有 DTD 声明）")


def _word_text(blocks: Iterator[bytes], part: str, budget: Budget, headings: dict[str, int]) -> str:
    """Parse the main part as it inflates, charging its text to the budget block by block."""
    reader = _WordText(headings)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    parser.StartDoctypeDeclHandler = _refuse_doctype
    fed = 0
    try:
        for block in blocks:
            parser.Parse(block, False)
            fed += len(block)
            # After Parse, CurrentByteIndex is just past the last complete event.
            if fed - parser.CurrentByteIndex > _MAX_TOKEN:
                raise FormatError(f"Word 文件结构异常（一个 XML 标记超过 {_MAX_TOKEN // 2**20} MB）")
            budget.check(reader.chars)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _damaged(part, f"XML 格式错误，第 {exc.lineno} 行") from exc
    return PARAGRAPH_SEP.join(b for b in reader.blocks if b.strip())


def docx_text(data: bytes, budget: Budget = NO_BUDGET) -> str:
    """Text of a .docx: paragraphs and table cells in order, separated by a blank line."""
    if data.startswith(_OLE_MAGIC):
        raise FormatError("这是旧版 .doc 或加密的 .docx，请另存为 .docx 后再上传")
    archive = _CountedBytes(data)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # ValueError: a corrupt directory
        raise FormatError("不是有效的 Word（.docx）文件") from exc
    with zf:
        part = _main_part(zf, archive)
        try:
            info = zf.getinfo(part)
        except KeyError as exc:
            raise FormatError(f"不是有效的 Word（.docx）文件：压缩包中没有 {part}") from exc
        text = _word_text(_inflate(zf, archive, info, _MAX_XML_BYTES), part, budget, _heading_styles(zf, archive))
    return _finished(text, budget, "Word 文件中没有文字")


def _heading_styles(zf: zipfile.ZipFile, archive: _CountedBytes) -> dict[str, int]:
    """Heading level by style id, from word/styles.xml: Title and Heading 1 are 1, Heading n is n.
    A style's id is the author's or the locale's (Heading1, 1, 标题1); its name is not."""
    levels: dict[str, int] = {}
    current: list[str] = []

    def start(name: str, attrs: dict) -> None:
        local = _local(name)
        values = {_local(k): v for k, v in attrs.items()}
        if local == "style":
            current[:] = [values.get("styleId", "")]
        elif local == "name" and current:
            found = _HEADING_STYLE.fullmatch(values.get("val", "").strip().lower())
            if found:
                levels[current[0]] = int(found.group(1) or 1)

    try:
        info = zf.getinfo(_STYLES_PART)
    except KeyError:
        return levels
    return levels if _parse_part(zf, archive, info, _MAX_STYLES_BYTES, start) else {}


# ---------------------------------------------------------------------------
# HTML — the standard library parser is enough: we only need block boundaries
# and to skip a few elements, not a DOM.
# ---------------------------------------------------------------------------

_SKIP = {"script", "style", "nav", "noscript", "template", "title", "svg", "iframe", "object"}
_BLOCK = {
    "p", "div", "li", "td", "th", "tr", "table", "caption", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "main", "header", "footer",
    "aside", "blockquote", "pre", "figure", "figcaption", "address", "hr", "body", "form",
}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_BR = "\x00"  # marks <br> while source newlines are still plain whitespace
_HTML_PIECE = 64 * 2**10  # characters fed to the parser between two looks at the budget


def _charset_alias(name: str) -> str:
    # Pages labelled GB2312/GBK routinely contain GBK-only characters; GB18030 decodes all of them.
    name = name.lower()
    if name in ("gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936", "euc-cn", "gb18030"):
        return "gb18030"
    return name


def _decode_html(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    head = data[:4096]
    declared = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    candidates = [_charset_alias(declared.group(1).decode("ascii"))] if declared else []
    candidates += ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    # A few broken bytes should not cost the whole page: keep the best guess, marked.
    for encoding in candidates:
        try:
            return data.decode(encoding, errors="replace")
        except LookupError:
            continue
    raise AssertionError("unreachable: utf-8 is always known")


class _TextParser(HTMLParser):
    """Collects text, starting a new paragraph at every block boundary; h1–h6 come out as Markdown
    headings (h1 «# …», the others «## …»), the outermost tables row by row (`table_rows`)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.buf: list[str] = []
        self.skip: list[str] = []  # open elements whose content is dropped
        self.kept = 0  # characters in blocks
        self.pending = 0  # characters in buf, not yet a block
        self.heading = ""  # the Markdown mark of the open h1–h6
        self.tables = 0  # how many tables are open
        self.rows: list[list[str]] = []  # the outermost table's rows so far
        self.caption: list[str] = []  # its caption's text, when it has one

    def handle_starttag(self, tag, attrs):
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.append(tag)
            return
        if tag in _SKIP:
            self.skip.append(tag)
        elif tag == "br":
            self.buf.append(_BR)
        elif tag in _BLOCK:
            self._boundary(tag)
            if tag in _HEADINGS:
                self.heading = "#" if tag == "h1" else "##"
            elif tag == "table":
                self.tables += 1
                if self.tables == 1:
                    self.rows, self.caption = [], []
            elif tag == "tr" and self.tables == 1:
                self.rows.append([])

    def handle_startendtag(self, tag, attrs):
        if tag == "br" and not self.skip:
            self.buf.append(_BR)
        elif tag in _BLOCK and not self.skip:
            self._boundary(tag)

    def handle_endtag(self, tag):
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in _BLOCK:
            self._boundary(tag, end=True)
            if tag == "table" and self.tables:
                self.tables -= 1
                if self.tables == 0:
                    before = self.blocks[-1] if self.blocks else ""
                    for row in table_rows(self.rows, before, "".join(self.caption)):
                        self.blocks.append(row)
                        self.kept += len(row)

    def _boundary(self, tag: str, end: bool = False) -> None:
        """A block starts or ends: what was read so far is a paragraph, or a cell of the outermost
        table, or its caption."""
        if self.tables == 1 and tag in ("td", "th", "caption") and end:
            text = _squeeze("".join(self.buf).replace(_BR, " "))
            self.buf.clear()
            self.pending = 0
            if tag == "caption":
                self.caption.append(text)
            elif self.rows:
                self.rows[-1].append(text)
            return
        if self.tables == 1 and self.rows and tag not in ("table", "tr", "td", "th"):
            return  # blocks inside a cell (p, div) stay in the cell's text
        self.flush()
        if end and tag in _HEADINGS:
            self.heading = ""

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)
            self.pending += len(data)

    @property
    def chars(self) -> int:
        """Characters extracted so far, counting text not yet closed by a block boundary."""
        return self.kept + self.pending

    def flush(self):
        # <br><br> is how many CMS pages separate paragraphs; a single <br> is a line break.
        text = "".join(self.buf)
        self.buf.clear()
        self.pending = 0
        for chunk in re.split(_BR + r"\s*" + _BR, text):
            lines = [_squeeze(line) for line in chunk.split(_BR)]
            para = "\n".join(line for line in lines if line)
            if para:
                para = f"{self.heading} {para}" if self.heading else para
                self.blocks.append(para)
                self.kept += len(para)


def html_text(data: bytes, budget: Budget = NO_BUDGET) -> str:
    """Text of an HTML page: headings, paragraphs, list items and table cells as paragraphs."""
    parser = _TextParser()
    # NUL is a parse error that browsers render as U+FFFD; here it would pose as <br>.
    page = _decode_html(data).replace(_BR, "\ufffd")
    for piece in range(0, len(page), _HTML_PIECE):
        parser.feed(page[piece:piece + _HTML_PIECE])
        budget.check(parser.chars)
    parser.close()
    parser.flush()
    return _finished(PARAGRAPH_SEP.join(parser.blocks), budget, "HTML 页面中没有文字")


EXTRACTORS: dict[str, Callable[[bytes, Budget], str]] = {
    ".txt": decode_text,
    ".md": decode_text,
    ".pdf": pdf_text,
    ".docx": docx_text,
    ".html": html_text,
    ".htm": html_text,
}
