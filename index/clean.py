"""Repair text extracted from a PDF: join hard-wrapped lines into paragraphs, mark likely headings."""

import re
import statistics

from index.records import Paragraph

# Shortfalls from the column around a line, in Han-character widths: a paragraph's first line
# is indented by two characters; a heading is shorter than that.
_SHORT_BY = 1.5
_HEADING_SHORT_BY = 3.5
# In the newsletter's typesetting a digit or Latin letter takes about 0.6 of a Han character.
_NARROW_WIDTH = 0.6
_NEIGHBOURS = 3
_PARAGRAPH_END = tuple("。！？…”」』!?")
_CLAUSE_END = _PARAGRAPH_END + tuple("；：，、’）》;:,)")
_MAX_HEADING_CHARS = 30
# Longer lines were not hard-wrapped by a PDF column: such a text has a paragraph a line.
_MAX_WRAPPED_WIDTH = 60
_PAGE_MARKER = re.compile(r"◀\s*第\S{1,3}版\s*▶")
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\u2018-\u201d"
# A space next to a CJK character, with a non-space on the other side, is an extraction
# artefact («工银安盛保险 195亿元»); a space between two Han characters may be meaningful
# (the two halves of a headline), so that one stays.
_STRAY_SPACE = re.compile(
    rf"(?<=[{_CJK}])[ \t\u3000]+(?=[0-9A-Za-z%(《“（])"
    rf"|(?<=[0-9A-Za-z%)》”）])[ \t\u3000]+(?=[{_CJK}])"
    rf"|(?<=[\u3000-\u303f\uff00-\uffef\u2018-\u201d])[ \t\u3000]+(?=\S)"
    rf"|(?<=\S)[ \t\u3000]+(?=[\u3000-\u303f\uff00-\uffef\u2018-\u201d])"
)


def line_width(line: str) -> float:
    """Printed width of a line in Han characters."""
    narrow = sum(1 for c in line if "!" <= c <= "~")
    return len(line) - line.count(" ") - narrow * (1 - _NARROW_WIDTH)


def squeeze_spaces(text: str) -> str:
    """Drop the stray spaces PDF extraction puts between Chinese and digits or punctuation."""
    return _STRAY_SPACE.sub("", text)


def clean(raw: str) -> tuple[str, tuple[Paragraph, ...]]:
    """Return the cleaned text (paragraphs joined by newlines) and its paragraphs."""
    lines = _lines(raw)
    blocks = _paragraph_blocks(lines)
    paragraphs, parts, offset = [], [], 0
    for block, is_heading in blocks:
        text = squeeze_spaces("".join(block))
        if not text:
            continue
        paragraphs.append(Paragraph(text=text, start=offset, is_heading=is_heading))
        parts.append(text)
        offset += len(text) + 1
    return "\n".join(parts), tuple(paragraphs)


def _lines(raw: str) -> list[str]:
    """Non-empty stripped lines, with page markers split off onto lines of their own."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    raw = _PAGE_MARKER.sub(lambda m: f"\n{m.group(0)}\n", raw)
    return [line.strip() for line in raw.split("\n") if line.strip()]


def _paragraph_blocks(lines: list[str]) -> list[tuple[list[str], bool]]:
    shortfalls = _shortfalls([line_width(line) for line in lines])
    blocks: list[tuple[list[str], bool]] = []
    current: list[str] = []
    for i, line in enumerate(lines):
        if _PAGE_MARKER.fullmatch(line):  # page furniture, never part of a paragraph
            blocks += [(current, False)] if current else []
            blocks.append(([line], False))
            current = []
            continue
        starts_fresh = not current
        current.append(line)
        heading = starts_fresh and shortfalls[i] >= _HEADING_SHORT_BY and _looks_like_heading(line)
        # A short line that stops mid-sentence is a wrap artefact (digits, hanging
        # punctuation), not the end of a paragraph.
        ends = line.endswith(_PARAGRAPH_END) and (
            shortfalls[i] >= _SHORT_BY
            or _is_indented(lines, shortfalls, i + 1)
            or line_width(line) > _MAX_WRAPPED_WIDTH
        )
        if heading or ends or i + 1 == len(lines):
            blocks.append((current, heading))
            current = []
    if current:
        blocks.append((current, False))
    return blocks


def _shortfalls(widths: list[float]) -> list[float]:
    """How much narrower each line is than the column around it."""
    result = []
    for i, width in enumerate(widths):
        around = widths[max(0, i - _NEIGHBOURS) : i] + widths[i + 1 : i + 1 + _NEIGHBOURS]
        # The upper quartile, so that nearby headings and paragraph ends don't narrow the column.
        column = statistics.quantiles(around, n=4)[2] if len(around) > 1 else width * 2
        result.append(column - width)
    return result


def _is_indented(lines: list[str], shortfalls: list[float], i: int) -> bool:
    """A paragraph's indented first line: short, but not itself a paragraph's last line."""
    return (
        i < len(lines)
        and _SHORT_BY <= shortfalls[i] < _HEADING_SHORT_BY
        and not lines[i].endswith(_PARAGRAPH_END)
    )


def _looks_like_heading(line: str) -> bool:
    return (
        len(line) <= _MAX_HEADING_CHARS
        and not line.endswith(_CLAUSE_END)
    )
