"""Plain-text extraction from newsletter issues delivered as PDF, Word (.docx) or HTML."""

from __future__ import annotations

import codecs
import io
import re
import statistics
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from xml.etree import ElementTree


class FormatError(Exception):
    """The file cannot be turned into text; the message says why in plain words."""


PARAGRAPH_SEP = "\n\n"
PAGE_SEP = "\f"  # pages are joined by exactly one form feed: page n = text.split("\f")[n-1]


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
    """Collapse whitespace; drop it entirely between two CJK characters (source line wraps)."""
    words = text.split()
    out = ""
    for w in words:
        if out and not (_cjk(out[-1]) and _cjk(w[0])):
            out += " "
        out += w
    return out


def _require_text(text: str, what: str) -> str:
    if not text.strip():
        raise FormatError(f"{what} contains no text")
    return text


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
    return re.sub(r"\s+", " ", "".join(out)).strip()


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


def _open_pdf_pages(data: bytes) -> list[list[dict]]:
    """Characters of every page; every parser failure becomes a FormatError."""
    # Imported here: loading pdfminer costs time that .docx/HTML-only runs need not pay.
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return [page.chars for page in pdf.pages]
    except Exception as exc:  # noqa: BLE001 — pdfminer raises many unrelated types on bad input
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise FormatError("encrypted PDF: a password is required to open it") from exc
        if isinstance(cause, PDFEncryptionError):
            raise FormatError(f"encrypted PDF with unsupported encryption: {cause}") from exc
        raise FormatError(f"PDF parser failed: {type(cause).__name__}: {cause}") from exc


def pdf_text(data: bytes) -> str:
    """Text of a PDF: paragraphs separated by a blank line, pages by a form feed."""
    if b"%PDF-" not in data[:1024]:
        raise FormatError("not a PDF file (no %PDF- header)")
    # A cut-off download can still parse partially; refuse it rather than index half an issue.
    if b"%%EOF" not in data[-2048:]:
        raise FormatError("truncated PDF: no %%EOF marker at the end of the file")
    pages = _open_pdf_pages(data)
    if not pages:
        raise FormatError("PDF has no pages")

    glyphs = [c for page in pages for c in page if c["text"].strip()]
    if not glyphs:
        raise FormatError("PDF has no text layer (scanned?) — OCR is not supported yet")
    unmapped = sum(1 for c in glyphs if c["text"].startswith("(cid:"))
    if unmapped > _MAX_UNMAPPED * len(glyphs):
        raise FormatError(
            "PDF text layer has no Unicode mapping for its fonts — text cannot be recovered without OCR"
        )

    texts = []
    for page in pages:
        # A few unmapped glyphs (symbols, dingbats) would only add noise.
        chars = [c for c in page if not c["text"].startswith("(cid:")]
        texts.append(_page_text(chars))
    return _require_text(PAGE_SEP.join(texts), "PDF")


# ---------------------------------------------------------------------------
# DOCX — read WordprocessingML directly with the standard library: we only need
# the text of paragraphs and table cells in body order, which python-docx does
# not give for nested tables without walking the XML anyway.
# ---------------------------------------------------------------------------

_MAX_PART = 256 * 1024 * 1024  # refuse zip bombs before inflating them
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _local(tag: str) -> str:
    # Match on local names so both transitional and strict OOXML namespaces work.
    return tag.rsplit("}", 1)[-1]


def _main_part(zf: zipfile.ZipFile) -> str:
    """Path of the main document part, from the package relationships."""
    try:
        rels = ElementTree.fromstring(zf.read("_rels/.rels"))
    except (KeyError, ElementTree.ParseError):
        return "word/document.xml"
    for rel in rels:
        if rel.get("Type", "").endswith("/officeDocument"):
            return rel.get("Target", "word/document.xml").lstrip("/")
    return "word/document.xml"


def _run_text(elem: ElementTree.Element) -> str:
    """Visible text under a paragraph: text, tabs and breaks; not deleted text or field codes."""
    out = []
    for child in elem:
        name = _local(child.tag)
        if name == "t":
            out.append(child.text or "")
        elif name == "tab":
            out.append("\t")
        elif name in ("br", "cr"):
            out.append("\n")
        elif name == "noBreakHyphen":
            out.append("-")
        elif name == "Fallback" or name.endswith("Pr"):
            # mc:Fallback repeats a text box for old readers; *Pr are properties (tab stops...).
            continue
        else:
            out.append(_run_text(child))
    return "".join(out)


def _paragraph(p: ElementTree.Element) -> str:
    lines = [" ".join(line.split()) for line in _run_text(p).split("\n")]
    return "\n".join(line for line in lines if line)


def _docx_blocks(elem: ElementTree.Element) -> list[str]:
    """Paragraphs and table cells in document order, each cell as one block."""
    blocks = []
    for child in elem:
        name = _local(child.tag)
        if name == "p":
            blocks.append(_paragraph(child))
        elif name == "tc":
            blocks.append("\n".join(b for b in _docx_blocks(child) if b))
        elif name != "sectPr":
            blocks.extend(_docx_blocks(child))  # tbl, tr, sdt, customXml ...
    return blocks


def docx_text(data: bytes) -> str:
    """Text of a .docx: paragraphs and table cells in order, separated by a blank line."""
    if data.startswith(_OLE_MAGIC):
        raise FormatError(
            "not a valid .docx (zip) file: it is an OLE container (legacy .doc or password-protected .docx)"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FormatError("not a valid .docx (zip) file") from exc
    with zf:
        part = _main_part(zf)
        try:
            info = zf.getinfo(part)
        except KeyError as exc:
            raise FormatError(f"not a .docx: the zip has no {part}") from exc
        if info.file_size > _MAX_PART:
            raise FormatError(f"{part} is too large ({info.file_size} bytes uncompressed)")
        try:
            root = ElementTree.fromstring(zf.read(info))
        except (ElementTree.ParseError, zipfile.BadZipFile, OSError) as exc:
            raise FormatError(f"damaged .docx: cannot read {part}: {exc}") from exc
    body = next((c for c in root if _local(c.tag) == "body"), root)
    blocks = [b for b in _docx_blocks(body) if b.strip()]
    return _require_text(PARAGRAPH_SEP.join(blocks), ".docx")


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
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_BR = "\x00"  # marks <br> while source newlines are still plain whitespace
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


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
    """Collects text, starting a new paragraph at every block boundary."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.buf: list[str] = []
        self.skip: list[str] = []  # open elements whose content is dropped

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
            self.flush()

    def handle_startendtag(self, tag, attrs):
        if tag == "br" and not self.skip:
            self.buf.append(_BR)
        elif tag in _BLOCK and not self.skip:
            self.flush()

    def handle_endtag(self, tag):
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in _BLOCK:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)

    def flush(self):
        # <br><br> is how many CMS pages separate paragraphs; a single <br> is a line break.
        text = "".join(self.buf)
        self.buf.clear()
        for chunk in re.split(_BR + r"\s*" + _BR, text):
            lines = [_squeeze(line) for line in chunk.split(_BR)]
            para = "\n".join(line for line in lines if line)
            if para:
                self.blocks.append(para)


def html_text(data: bytes) -> str:
    """Text of an HTML page: headings, paragraphs, list items and table cells as paragraphs."""
    parser = _TextParser()
    # NUL is a parse error that browsers render as U+FFFD; here it would pose as <br>.
    parser.feed(_decode_html(data).replace(_BR, "\ufffd"))
    parser.close()
    parser.flush()
    return _require_text(PARAGRAPH_SEP.join(parser.blocks), "HTML")


EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    ".pdf": pdf_text,
    ".docx": docx_text,
    ".html": html_text,
    ".htm": html_text,
}
