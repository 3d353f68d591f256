"""Repair PDF-extracted text: join hard-wrapped lines into paragraphs, mark headings, set bylines apart."""

import re
import statistics

from index.formats import TABLE_CELL  # a table row from the extractors is never a heading
from index.profile import Profile, default_profile
from index.records import Paragraph
from index.text import CJK, CJK_PUNCT, FULL_STOPS, STOPS

# Shortfalls from the column around a line, in Han-character widths: a paragraph's first line
# is indented by two characters; a heading is shorter than that.
_SHORT_BY = 1.5
_HEADING_SHORT_BY = 3.5
# In the newsletter's typesetting a digit or Latin letter takes about 0.6 of a Han character.
_NARROW_WIDTH = 0.6
_NEIGHBOURS = 3
# A paragraph ends at a full stop, also inside closing quotes or after an ellipsis.
_PARAGRAPH_END = tuple(STOPS + "…”」』")
_CLAUSE_END = _PARAGRAPH_END + tuple("；：，、’）》;:,)")
_CLOSING_QUOTES = "”」』’"
_MAX_HEADING_CHARS = 30
# Longer lines were not hard-wrapped by a PDF column: such a text has a paragraph a line.
_MAX_WRAPPED_WIDTH = 60
# Lines that by their form are never part of a paragraph. The newsletter's own (page markers,
# bylines, contents markers, QR-code furniture) are in its profile (index/newsletter.toml, read by
# index/profile.py); a subtitle opens with a dash; a Markdown heading is a heading by markup.
_MARKDOWN_HEADING = re.compile(r"#{1,6}\s+\S.*")
_SUBTITLE = re.compile(r"[—–-]{2}\s*\S.*")
_CJK = CJK + CJK_PUNCT
# A space next to a CJK character, with a non-space on the other side, is an extraction
# artefact («工银安盛保险 195亿元»); a space between two Han characters may be meaningful
# (the two halves of a headline), so that one stays.
_STRAY_SPACE = re.compile(
    rf"(?<=[{_CJK}])[ \t\u3000]+(?=[0-9A-Za-z%(《“（])"
    rf"|(?<=[0-9A-Za-z%)》”）])[ \t\u3000]+(?=[{_CJK}])"
    rf"|(?<=[{CJK_PUNCT}])[ \t\u3000]+(?=\S)"
    rf"|(?<=\S)[ \t\u3000]+(?=[{CJK_PUNCT}])"
)


# A text is hard-wrapped when many of its long lines stop mid-sentence, as lines broken at a
# column do; a text written a paragraph a line ends nearly all of them at a sentence's end.
_LONG_LINE = 12
_WRAPPED_SHARE = 0.3
# Where a plain text is not hard-wrapped, a line of its own without a sentence's end is a heading
# up to this long, commas and enumeration commas allowed («聚焦主业，小微企业贷款突破三千亿元»).
_MAX_LONG_HEADING_CHARS = 40


def is_hard_wrapped(raw: str) -> bool:
    """Whether a plain text's lines were broken at a column (PDF output) rather than written a
    paragraph a line: the share of its long lines that stop mid-sentence."""
    long = [line.strip() for line in raw.splitlines() if line_width(line.strip()) >= _LONG_LINE]
    if not long:
        return True
    stopped = sum(1 for line in long if not line.endswith(_CLAUSE_END))
    return stopped / len(long) >= _WRAPPED_SHARE


def line_width(line: str) -> float:
    """Printed width of a line in Han characters."""
    narrow = sum(1 for c in line if "!" <= c <= "~")
    return len(line) - line.count(" ") - narrow * (1 - _NARROW_WIDTH)


def is_subtitle(text: str) -> bool:
    return bool(_SUBTITLE.fullmatch(text.strip())) and is_title(text)


def is_markdown_heading(text: str) -> bool:
    return bool(_MARKDOWN_HEADING.fullmatch(text.strip()))


def is_title(text: str) -> bool:
    """Short, and no sentence or clause inside: how a headline or section title reads."""
    return _looks_like_heading(text) and not re.search(rf"[{FULL_STOPS}；，、]", text)


def squeeze_spaces(text: str) -> str:
    """Drop the stray spaces PDF extraction puts between Chinese and digits or punctuation."""
    return _STRAY_SPACE.sub("", text)


def clean(raw: str, hard_wrapped: bool = True, profile: Profile | None = None) -> tuple[str, tuple[Paragraph, ...]]:
    """Return the cleaned text (paragraphs joined by newlines) and its paragraphs.

    `hard_wrapped`: lines were broken at a column (text copied out of a PDF); otherwise, as
    the PDF, Word and HTML extractors give it, every line is a paragraph already. `profile`:
    the newsletter's conventions (index/profile.py), the packaged one if none is given."""
    profile = profile or default_profile()
    lines = _lines(raw, profile)
    blocks = (
        _paragraph_blocks(lines, profile)
        if hard_wrapped
        else [([line], _is_heading_line(line, profile)) for line in lines]
    )
    paragraphs, parts, offset = [], [], 0
    for block, is_heading in blocks:
        text = squeeze_spaces("".join(block))
        if not text:
            continue
        paragraphs.append(Paragraph(text=text, start=offset, is_heading=is_heading))
        parts.append(text)
        offset += len(text) + 1
    return "\n".join(parts), tuple(paragraphs)


def _lines(raw: str, profile: Profile) -> list[str]:
    """Non-empty stripped lines; page markers and bylines glued to other text go onto lines of their own."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    raw = profile.page_marker.sub(lambda m: f"\n{m.group(0)}\n", raw)
    raw = profile.trailing_credit.sub("\n", raw)
    lines = [line.strip() for line in raw.split("\n") if line.strip()]
    return [part for line in lines for part in _split_glued(line, profile)]


def _split_glued(line: str, profile: Profile) -> list[str]:
    """A credit glued to the text after it, or a story's lead (本报讯（记者 …）) before its first
    sentence, on a line of its own."""
    glued = profile.glued_credit.match(line) or profile.lead.match(line)
    if glued is None or glued.end() == len(line):
        return [line]
    return [line[: glued.end()].strip(), line[glued.end() :].strip()]


def _paragraph_blocks(lines: list[str], profile: Profile) -> list[tuple[list[str], bool]]:
    shortfalls = _shortfalls([line_width(line) for line in lines])
    blocks: list[tuple[list[str], bool]] = []
    current: list[str] = []
    # Whether the last block closed a unit (heading, byline, page marker): a headline may follow.
    after_unit = True
    for i, line in enumerate(lines):
        alone = _stands_alone(line, current, profile)
        if alone is not None:
            blocks += [(current, False)] if current else []
            blocks.append(([line], alone))
            current, after_unit = [], True
            continue
        starts_fresh = not current
        current.append(line)
        heading = (
            starts_fresh
            and _looks_like_heading(line)
            and (
                shortfalls[i] >= _HEADING_SHORT_BY
                # A title after another unit, followed by a paragraph's indented first line, can
                # only be a headline, however wide: body text cannot start twice in a row.
                or (after_unit and is_title(line) and _is_indented(lines, shortfalls, i + 1))
            )
        )
        # A short line that stops mid-sentence is a wrap artefact (digits, hanging
        # punctuation), not the end of a paragraph.
        ends = line.endswith(_PARAGRAPH_END) and (
            shortfalls[i] >= _SHORT_BY
            or _is_indented(lines, shortfalls, i + 1)
            or line_width(line) > _MAX_WRAPPED_WIDTH
        )
        if heading or ends or i + 1 == len(lines):
            blocks.append((current, heading))
            current, after_unit = [], heading
    if current:
        blocks.append((current, False))
    return blocks


def _is_heading_line(line: str, profile: Profile) -> bool:
    """A line that is a paragraph by itself (not hard-wrapped text) is a heading when it is short
    and no sentence: a long headline's commas are allowed, a table row and a credit are not."""
    alone = _stands_alone(line, [], profile)
    if alone is not None:
        return alone
    # A colon inside is a sentence's (他说：…), except in a numbered title («一、事前：把好准入关»).
    colon = "" if profile.numbered_section.match(line) else "：:"
    # A closing quote ends a sentence only after a stop («……。”»): «以监督问责让人“不敢违”» is a title.
    return (
        len(line) <= _MAX_LONG_HEADING_CHARS
        and not line.rstrip(_CLOSING_QUOTES).endswith(_CLAUSE_END)
        and not re.search(rf"[{FULL_STOPS}；;{colon}]|{TABLE_CELL}", line)
    )


def _stands_alone(line: str, current: list[str], profile: Profile) -> bool | None:
    """Whether a line that is a paragraph by its form alone is a heading; None for other lines."""
    if profile.is_page_marker(line) or profile.is_furniture(line) or profile.is_lead(line):
        return False
    if profile.is_contents_marker(line) or is_markdown_heading(line):
        return True
    # After a sentence's end a byline closes the paragraph even when the paragraph's last line
    # did not look like one; in mid-sentence such a line is wrapped text.
    if profile.is_byline(line) and (not current or current[-1].endswith(_PARAGRAPH_END)):
        return False
    # A dash-led line inside a paragraph is a wrapped dash, not a subtitle.
    return True if not current and is_subtitle(line) else None


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
