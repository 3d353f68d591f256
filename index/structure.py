"""Read a cleaned newsletter issue as a reader does: articles with headline, sections and byline."""

# How an issue is read. PDF extraction does not keep reading order: a headline may come after its
# story, a byline at the end of the file. These rules undo the usual cases from the text alone.
#
# 1. Every paragraph gets a role from its form (index/clean.py): page marker (◀ 第三版 ▶), byline
#    (供稿：… / 记者 … 通讯员 …), contents marker (导读, 目录), QR-code furniture (…公众号),
#    subtitle (——…), heading (short, no clause inside), or body.
# 2. A file without page markers, bylines or a contents marker is a plain document: one article,
#    or one per Markdown `# ` heading; a leading heading is its headline, later ones are sections.
# 3. A contents marker opens a contents block: the short entries and page markers after it, up to
#    the last page marker before running text. There the page markers are the entries' page
#    references, so they are content; elsewhere a page marker is the page of what follows.
# 4. Body paragraphs in a row are one run; a byline closes the article that is open.
# 5. A group of headings between two runs is a section title of the open article or the headline
#    of a new one; when the open article has no headline yet, the group may first give it its
#    headline (extraction put it after the body). Each heading goes to the neighbouring run that
#    shares more of its character bigrams, ties forward (the order of reading). What goes forward
#    is a section when the run after it shares vocabulary with the article so far, else a new
#    article.
# 6. Headings right after a byline go to the article the byline closed when it has no headline;
#    otherwise they open the next article.
# 7. Bylines and headings that fit nowhere (extraction moved them to the end of the file) go to an
#    article that lacks them: a byline to one without a byline, headings to one without a headline,
#    or as its subtitle (a kicker) when it has one; among several, the one sharing most bigrams,
#    else the nearest before.
# 8. An article left without a headline that is one short paragraph is a photo caption; it gets a
#    headline from its first sentence.

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import takewhile

from index.clean import is_markdown_heading, is_subtitle, is_title
from index.formats import TABLE_CELL
from index.profile import Profile, default_profile
from index.records import Article, Paragraph
from index.text import FULL_STOPS, char_bigrams, squash

ARTICLE, CONTENTS, CAPTION = "article", "contents", "caption"

_BODY, _HEAD, _SUB, _BYLINE, _MARKER, _CONTENTS, _FURNITURE, _LEAD = (
    "body", "head", "sub", "byline", "marker", "contents", "furniture", "lead"
)
_HEADS = (_HEAD, _SUB)
# Cosine of character-bigram counts above which the run after a heading continues the same story:
# sections of one article share most of their vocabulary, neighbouring stories little of it.
_SAME_STORY = 0.2
# A contents entry is short and not a sentence; a column name (管理沙龙) is a few characters.
_MAX_ENTRY_CHARS = 60
_MAX_COLUMN_CHARS = 6
_MAX_CAPTION_CHARS = 300
_MAX_HEADLINE_CHARS = 30
_SENTENCE_END = tuple(FULL_STOPS + "…")
_MARKDOWN_H1 = re.compile(r"#\s")


def articles(paragraphs: tuple[Paragraph, ...], profile: Profile | None = None) -> tuple[Article, ...]:
    """The articles of a cleaned document, in the order of the text; `profile`: the newsletter's
    conventions (index/profile.py), the packaged one if none is given."""
    profile = profile or default_profile()
    roles = [_role(p, profile, masthead=i < profile.masthead_lines) for i, p in enumerate(paragraphs)]
    if not paragraphs:
        return ()
    if not {_MARKER, _BYLINE, _CONTENTS, _LEAD} & set(roles):
        return _plain(paragraphs, roles)
    return _issue(paragraphs, roles, profile)


def _role(p: Paragraph, profile: Profile, masthead: bool) -> str:
    text = p.text
    if profile.is_page_marker(text):
        return _MARKER
    if profile.is_lead(text):
        return _LEAD
    if profile.is_byline(text):
        return _BYLINE
    # The masthead (工行通讯 / 2021年第11期 / 2021年11月15日) names the issue (index/issue.py): no
    # one's text, like the furniture.
    if profile.is_furniture(text) or (masthead and profile.is_masthead(text)):
        return _FURNITURE
    if profile.is_contents_marker(text):
        return _CONTENTS
    if is_subtitle(text):
        return _SUB
    return _HEAD if p.is_heading or is_title(text) or is_markdown_heading(text) else _BODY


# Plain documents ---------------------------------------------------------------------------------


def _plain(ps: tuple[Paragraph, ...], roles: list[str]) -> tuple[Article, ...]:
    starts = [i for i, p in enumerate(ps) if _MARKDOWN_H1.match(p.text)]
    if len(starts) < 2:
        starts = [0]
    elif starts[0] != 0:
        starts.insert(0, 0)
    bounds = zip(starts, starts[1:] + [len(ps)])
    spans = ([i for i in range(a, b) if roles[i] != _FURNITURE] for a, b in bounds)
    return tuple(_plain_article(ps, roles, span) for span in spans if span)


def _plain_article(ps: tuple[Paragraph, ...], roles: list[str], span: list[int]) -> Article:
    first = span[0]
    if roles[first] == _HEAD:
        # The leading heading is the headline; subtitles right under it go with it.
        subtitles = list(takewhile(lambda i: roles[i] == _SUB, span[1:]))
        headline, used = _title(ps[first].text), [first, *subtitles]
    else:
        # No heading first: the first line names the text when it is short enough to be a title.
        text = ps[first].text
        subtitles, used = [], []
        headline = text if len(text) <= _MAX_HEADLINE_CHARS else ""
    rest = [i for i in span if i not in used]
    body = [i for i in rest if roles[i] not in _HEADS]
    if not body:  # a file of headings only: they are all the text there is
        body, rest = rest, []
    return Article(
        headline=headline,
        subtitle=" ".join(ps[i].text for i in subtitles),
        sections=_sections(ps, [g for g in _groups(rest, roles) if roles[g[0]] in _HEADS]),
        start=ps[first].start,
        end=_end(ps[span[-1]]),
        body=_spans(ps, body),
    )


# Newsletter issues -------------------------------------------------------------------------------


@dataclass
class _Token:
    kind: str  # _BODY (a run), _HEAD (a group of headings and subtitles), _BYLINE or _CONTENTS
    paras: list[int]
    page: str


@dataclass
class _Draft:
    """An article while the issue is being read."""

    page: str
    heads: list[int] = field(default_factory=list)
    leads: list[int] = field(default_factory=list)  # 本报讯（记者 …）: its byline, printed first
    body: list[int] = field(default_factory=list)
    last_run: list[int] = field(default_factory=list)  # the run a trailing heading is compared with
    sections: list[list[int]] = field(default_factory=list)
    bylines: list[int] = field(default_factory=list)
    kickers: list[int] = field(default_factory=list)
    adopted: set[int] = field(default_factory=set)  # found elsewhere in the file: outside its span


def _issue(ps: tuple[Paragraph, ...], roles: list[str], profile: Profile) -> tuple[Article, ...]:
    tokens, contents, columns = _tokens(ps, roles, profile)
    drafts, orphans = _read(ps, roles, tokens, profile)
    for cluster in orphans:
        _adopt(ps, drafts, cluster)
    found = contents + [_article(ps, roles, d, columns, profile) for d in drafts]
    return tuple(sorted(found, key=lambda a: a.start))


def _tokens(
    ps: tuple[Paragraph, ...], roles: list[str], profile: Profile
) -> tuple[list[_Token], list[Article], set[str]]:
    """The issue as runs of body, groups of headings, bylines and contents blocks, in text order.

    Page markers and furniture are not tokens: a marker sets the page of what follows, furniture is
    no one's text. A run of body paragraphs goes on across them (its spans break there)."""
    tokens: list[_Token] = []
    contents: list[Article] = []
    columns: set[str] = set()
    page, i = "", 0
    while i < len(ps):
        role = roles[i]
        if role == _CONTENTS:
            end = _contents_end(ps, roles, i)
            contents.append(_contents_article(ps, i, end))
            columns |= _columns(ps, roles, range(i + 1, end))
            tokens.append(_Token(_CONTENTS, [], page))
            i = end
            continue
        if role == _MARKER:
            page = profile.page_name(ps[i].text)
        elif role != _FURNITURE:
            kind = _HEAD if role in _HEADS else role
            if kind not in (_BYLINE, _LEAD) and tokens and tokens[-1].kind == kind:
                tokens[-1].paras.append(i)
            else:
                tokens.append(_Token(kind, [i], page))
        i += 1
    return tokens, contents, columns


def _read(
    ps: tuple[Paragraph, ...], roles: list[str], tokens: list[_Token], profile: Profile
) -> tuple[list[_Draft], list[list[_Token]]]:
    """Assign runs, headings and bylines to articles; return the articles and what fit nowhere."""
    drafts: list[_Draft] = []
    orphans: list[list[_Token]] = []
    orphaned_at = -2  # index of the last orphan token
    current: _Draft | None = None  # the article whose body is being read
    closed: _Draft | None = None  # the article the previous token (its byline) closed

    def orphan(token: _Token, k: int) -> None:
        nonlocal orphaned_at
        # Orphans next to each other in the file are one cluster: they travelled together.
        if orphaned_at == k - 1:
            orphans[-1].append(token)
        else:
            orphans.append([token])
        orphaned_at = k

    marked = any(_MARKDOWN_H1.match(p.text) for p in ps)
    for k, token in enumerate(tokens):
        # A lead stands between a headline and the story's first sentence: look past it.
        following = next((t for t in tokens[k + 1 :] if t.kind != _LEAD), None)
        if token.kind == _LEAD:
            if current is None or current.body or current.leads:
                current = _Draft(page=token.page)
                drafts.append(current)
            current.leads += token.paras
            closed = None
        elif token.kind == _BODY:
            if current is None:
                current = _Draft(page=token.page)
                drafts.append(current)
            current.body += token.paras
            current.last_run = token.paras
            closed = None
        elif token.kind == _BYLINE:
            if current is not None:
                current.bylines = token.paras
                closed, current = current, None
            elif closed is not None and _framed(ps[token.paras[0]].text, profile):
                # A credit in brackets right under another is its second line (□ 作者 / （作者单位：…）);
                # unframed credits in a row were moved there by extraction, one per story.
                closed.bylines += token.paras
            else:
                orphan(token, k)
                closed = None
        elif token.kind == _CONTENTS:
            current = closed = None
        else:
            after = following.paras if following is not None and following.kind == _BODY else None
            before = current or closed
            units = _units(token.paras, roles)
            # A heading marked as the top level (Word's Heading 1, HTML's h1) opens a story.
            opens = _MARKDOWN_H1.match(ps[units[0][0]].text) is not None
            # A heading over a lead (本报讯（记者 …）) heads a story of its own, never a section.
            led = k + 1 < len(tokens) and tokens[k + 1].kind == _LEAD
            # Where headlines are marked so, a heading of a lower level (##) is a section.
            lower = marked and not opens and is_markdown_heading(ps[units[0][0]].text)
            # A numbered title (一、…) or a table's (表1 …, over its rows) is a part of the open story.
            numbered = current is not None and bool(
                profile.numbered_section.match(_title(ps[units[0][0]].text))
                or (after is not None and TABLE_CELL in ps[after[0]].text)
                or lower
            )
            cut = 0 if opens or numbered or before is None or before.heads else _cut(ps, units, before.last_run, after)
            back = [i for unit in units[:cut] for i in unit]
            ahead = [i for unit in units[cut:] for i in unit]
            if back:
                before.heads = back
                current = None  # a headline after a body ends that article
            if ahead:
                if after is None:
                    orphan(_Token(_HEAD, ahead, token.page), k)
                elif current is not None and not opens and not led and (numbered or _cohesion(ps, current.body, after) >= _SAME_STORY):
                    current.sections.append(ahead)
                else:
                    current = _Draft(page=token.page, heads=ahead)
                    drafts.append(current)
            closed = None
    return drafts, orphans


def _units(paras: list[int], roles: list[str]) -> list[list[int]]:
    """Headings with the subtitles under them: a subtitle never leaves its headline."""
    units: list[list[int]] = []
    for i in paras:
        if roles[i] == _SUB and units:
            units[-1].append(i)
        else:
            units.append([i])
    return units


def _cut(ps: tuple[Paragraph, ...], units: list[list[int]], back: list[int], ahead: list[int] | None) -> int:
    """How many of the headings belong to the headless run before them rather than the run after."""
    if ahead is None:
        return len(units)
    before, after = _bigrams(_joined(ps, back)), _bigrams(_joined(ps, ahead))
    titles = [_joined(ps, unit) for unit in units]
    scores = [
        sum(_affinity(t, before) for t in titles[:k]) + sum(_affinity(t, after) for t in titles[k:])
        for k in range(len(units) + 1)
    ]
    return scores.index(max(scores))  # the first best: ties go forward


def _adopt(ps: tuple[Paragraph, ...], drafts: list[_Draft], cluster: list[_Token]) -> None:
    """Give bylines and headings that fit nowhere to the article that lacks them."""
    bylines = [i for t in cluster if t.kind == _BYLINE for i in t.paras]
    heads = [i for t in cluster if t.kind == _HEAD for i in t.paras]
    if bylines:
        pool = [d for d in drafts if not d.bylines]
    else:
        pool = [d for d in drafts if not d.heads]
    pool = pool or drafts
    if not pool:
        return
    where = ps[cluster[0].paras[0]].start
    words = _bigrams(_joined(ps, heads))

    def fit(d: _Draft) -> tuple[float, bool, int]:
        start = ps[d.body[0]].start
        shared = _affinity_counts(words, _bigrams(_joined(ps, d.body))) if words else 0.0
        return shared, start < where, start if start < where else -start

    home = max(pool, key=fit)
    home.bylines += bylines
    if home.heads:
        home.kickers += heads
    else:
        home.heads = heads
    home.adopted |= set(bylines) | set(heads)


def _article(ps: tuple[Paragraph, ...], roles: list[str], d: _Draft, columns: set[str], profile: Profile) -> Article:
    titles = [ps[i].text for i in d.heads if roles[i] != _SUB]
    column = titles.pop(0) if len(titles) > 1 and titles[0] in columns else ""
    headline = " ".join(_title(t) for t in titles)
    subtitle = " ".join(ps[i].text for i in [i for i in d.heads if roles[i] == _SUB] + d.kickers)
    kind = ARTICLE
    if not headline and len(d.body) == 1 and len(ps[d.body[0]].text) <= _MAX_CAPTION_CHARS:
        kind, headline = CAPTION, _caption_headline(ps[d.body[0]].text)
    own = sorted(set(d.heads + d.leads + d.body + d.bylines + [i for s in d.sections for i in s]) - d.adopted)
    credits = [profile.lead_credit(ps[i].text) for i in d.leads] + [profile.byline_text(ps[i].text) for i in d.bylines]
    return Article(
        headline=headline,
        kind=kind,
        byline=" ".join(filter(None, credits)),
        column=column,
        sections=_sections(ps, d.sections),
        page=d.page,
        start=ps[own[0]].start,
        end=_end(ps[own[-1]]),
        subtitle=subtitle,
        body=_spans(ps, d.body),
    )


# Contents blocks ---------------------------------------------------------------------------------


def _contents_end(ps: tuple[Paragraph, ...], roles: list[str], i: int) -> int:
    """Index after a contents block: its entries up to the last page marker before running text."""
    j, last_marker = i + 1, None
    while j < len(ps) and (roles[j] == _MARKER or (roles[j] in (_HEAD, _SUB, _BODY) and _is_entry(ps[j].text))):
        if roles[j] == _MARKER:
            last_marker = j
        j += 1
    return last_marker + 1 if last_marker is not None else j


def _is_entry(text: str) -> bool:
    return len(text) <= _MAX_ENTRY_CHARS and not text.endswith(_SENTENCE_END)


def _contents_article(ps: tuple[Paragraph, ...], i: int, end: int) -> Article:
    body = ((ps[i + 1].start, _end(ps[end - 1])),) if end > i + 1 else ()
    return Article(
        headline=squash(ps[i].text),
        kind=CONTENTS,
        start=ps[i].start,
        end=_end(ps[end - 1]),
        body=body,
    )


def _columns(ps: tuple[Paragraph, ...], roles: list[str], block: range) -> set[str]:
    """Column names of a contents block: a short first line of an entry that has a title after it."""
    entries: list[list[int]] = [[]]
    for i in block:
        if roles[i] == _MARKER:
            entries.append([])
        else:
            entries[-1].append(i)
    return {
        ps[e[0]].text
        for e in entries
        if len(e) > 1 and roles[e[0]] == _HEAD and len(ps[e[0]].text) <= _MAX_COLUMN_CHARS
    }


# Small helpers -----------------------------------------------------------------------------------


def _groups(indices: list[int], roles: list[str]) -> list[list[int]]:
    """Consecutive paragraphs of the same kind (headings, or anything else) in a row."""
    groups: list[list[int]] = []
    for i in indices:
        if groups and groups[-1][-1] == i - 1 and (roles[i] in _HEADS) == (roles[i - 1] in _HEADS):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _sections(ps: tuple[Paragraph, ...], groups: list[list[int]]) -> tuple[tuple[int, str], ...]:
    # Two short lines set one above the other («齐心协力» / «战略落地稳扎稳打») are one title.
    return tuple((ps[g[0]].start, " ".join(_title(ps[i].text) for i in g)) for g in groups)


def _spans(ps: tuple[Paragraph, ...], indices: list[int]) -> tuple[tuple[int, int], ...]:
    """Character spans of paragraphs next to each other, so a span never takes in anything between."""
    spans: list[tuple[int, int]] = []
    previous = None
    for i in sorted(indices):
        if previous is not None and i == previous + 1:
            spans[-1] = (spans[-1][0], _end(ps[i]))
        else:
            spans.append((ps[i].start, _end(ps[i])))
        previous = i
    return tuple(spans)


def _framed(text: str, profile: Profile) -> bool:
    return profile.byline_text(text) != text.strip()


def _end(p: Paragraph) -> int:
    return p.start + len(p.text)


def _title(text: str) -> str:
    return re.sub(r"^#{1,6}\s*", "", text).strip()


def _caption_headline(text: str) -> str:
    """The first sentence's opening clauses, as many as fit a headline."""
    sentence = re.split(rf"(?<=[{FULL_STOPS}])", text, maxsplit=1)[0]
    headline = ""
    for clause in re.split(r"(?<=[，；：])", sentence):
        if headline and len(headline + clause) > _MAX_HEADLINE_CHARS:
            break
        headline += clause
    return headline.rstrip("，；：" + FULL_STOPS)


def _joined(ps: tuple[Paragraph, ...], indices: list[int]) -> str:
    return "\n".join(ps[i].text for i in indices)


def _bigrams(text: str) -> Counter:
    """Character bigrams within runs of letters and digits: the vocabulary Chinese text shares."""
    return Counter(pair for run in re.findall(r"[^\W_]+", text) for pair in char_bigrams(run))


def _affinity(title: str, text: Counter) -> float:
    return _affinity_counts(_bigrams(title), text)


def _affinity_counts(words: Counter, text: Counter) -> float:
    """Share of a title's bigrams that the text uses."""
    return len(words.keys() & text.keys()) / len(words) if words else 0.0


def _cohesion(ps: tuple[Paragraph, ...], a: list[int], b: list[int]) -> float:
    x, y = _bigrams(_joined(ps, a)), _bigrams(_joined(ps, b))
    dot = sum(n * y[w] for w, n in x.items())
    norm = math.sqrt(sum(n * n for n in x.values()) * sum(n * n for n in y.values()))
    return dot / norm if norm else 0.0
