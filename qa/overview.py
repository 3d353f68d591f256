"""Questions that are not about one fact: what an issue holds («这一期主要讲了什么», «第二版有什么»),
answered with its headlines, each cited; and a greeting or «你能做什么», answered with a welcome and
two example questions that the index is known to answer. The patterns are in qa/dialogue.toml."""

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import jieba.posseg

from index import Chunk
from index.profile import Profile
from qa.check import check_citations
from qa.dialogue import CONVENTIONS
from qa.question import UNITS
from qa.records import Answer, Citation, Hit
from qa.text import clauses, key_terms, normalize, sentences

Articles = dict[tuple[str, str], tuple[Chunk, ...]]  # (document id, headline) → chunks in reading order

# A figure with its unit, to turn a sentence of an article into an example question.
_FIGURE = re.compile(rf"\d+(?:\.\d+)?\s*(?:{'|'.join(UNITS)}|%)")
_EXAMPLE_CHARS = (8, 28)  # an example question short enough to read at a glance
_LEADING = re.compile(r"^(?:其中|同时|此外|并且|而且|以及|和|与|及|并|还|也|都|共|已|截至\S*?[，,])+")


@dataclass(frozen=True)
class _Patterns:
    contents: re.Pattern
    asks: re.Pattern
    page: re.Pattern
    greeting: re.Pattern


@cache
def _patterns() -> _Patterns:
    data = tomllib.loads(CONVENTIONS.read_text("utf-8"))
    contents, talk = data["contents"], data["smalltalk"]
    return _Patterns(
        contents=re.compile(contents["questions"]),
        asks=re.compile(contents["asks"]),
        page=re.compile(contents["page"]),
        greeting=re.compile(talk["greetings"], re.IGNORECASE),
    )


def is_greeting(question: str) -> bool:
    return bool(_patterns().greeting.fullmatch(normalize(question)))


def contents_page(question: str) -> str | None:
    """None when the question is not about an issue's contents; else the page it asks about
    («第二版»), or "" for the whole issue."""
    patterns, text = _patterns(), normalize(question)
    page = patterns.page.search(text)
    asks = patterns.asks.search(text)
    if page and asks and len(text) <= 16:  # «第二版有什么», not «第二版那篇文章里的数字是多少»
        return page["page"]
    if patterns.contents.search(text) and asks and not _FIGURE.search(text) and len(key_terms(text)) <= 4:
        return ""
    return None


def contents_answer(question: str, articles: Articles, doc_id: str, page: str, profile: Profile) -> Answer:
    """The headlines of one issue (or of one page of it), each cited to its article's first
    passage; then its own contents box, where it has one, for the pages the file may lack."""
    ordered = sorted((chunks for (doc, _), chunks in articles.items() if doc == doc_id), key=lambda c: c[0].position)
    listed = [c[0] for c in ordered if c[0].kind == "article" and c[0].headline and (not page or page in {x.page for x in c})]
    boxes = [(c[0], entries) for c in ordered if c[0].kind == "contents"
             if (entries := [(t, where) for t, where in contents_entries(c[0].text, profile) if not page or where == page])]
    issue = ordered[0][0].source_label if ordered else ""
    where = f"{issue} {page}".strip()
    if not listed and not boxes:
        text = f"资料中没有找到{where}的文章。" if issue else "索引中还没有文章。"
        return Answer(question=question, text=text, abstained=True, kind="contents")
    lines = [f"{where} 共有 {len(listed)} 篇文章：" if listed else f"{where}："]
    lines += [f"{n}. 《{chunk.headline}》 [{n}]" for n, chunk in enumerate(listed, 1)]
    for n, (chunk, entries) in enumerate(boxes, len(listed) + 1):
        shown = "；".join(f"{title}（{at}）" if at else title for title, at in entries)
        lines.append(f"本期导读：{shown} [{n}]")
    chunks = listed + [chunk for chunk, _ in boxes]
    hits = tuple(Hit(chunk, 1.0, "contents") for chunk in chunks)
    citations = tuple(Citation(n, chunk, chunk.headline or _first_line(chunk)) for n, chunk in enumerate(chunks, 1))
    return check_citations(Answer(question=question, text="\n".join(lines), citations=citations, passages=hits, kind="contents"))


def contents_entries(text: str, profile: Profile) -> list[tuple[str, str]]:
    """A contents box's entries: (title, page), each entry ending at its page marker."""
    entries, current = [], []
    for line in text.splitlines():
        marker = profile.page_marker.search(line)
        before = profile.page_marker.sub("", line).strip()
        if before:
            current.append(before)
        if marker:
            entries.append((" ".join(current), profile.page_name(marker.group(0))))
            current = []
    return entries + ([(" ".join(current), "")] if current else [])


def _first_line(chunk: Chunk) -> str:
    return next((line.strip() for line in chunk.text.splitlines() if line.strip()), chunk.text)


def welcome(question: str, name: str, examples: list[str]) -> Answer:
    """What the assistant answers, and how to ask; never a «not found»."""
    lines = [
        f"您好！我可以回答《{name}》各期内容里的问题：数字、日期、人物、机构、文章的标题和作者，每个回答都附原文出处，点 [n] 就能看到原文。",
        "可以接着追问（如“那按揭贷款呢？”），也可以问“这一期主要讲了什么”。",
    ]
    if examples:
        lines.append("例如：" + "　".join(f"“{q}”" for q in examples))
    return Answer(question=question, text="\n".join(lines), kind="welcome")


def example_candidates(articles: Articles) -> Iterable[tuple[tuple[str, str], str, str]]:
    """(article, question, figure) made from the articles' sentences: a clause that gives one
    figure, the figure replaced by 多少 («个人新规理财产品规模达到多少亿元？»), article by article."""
    for key, chunks in sorted(articles.items(), key=lambda item: item[1][0].position):
        if chunks[0].kind != "article":
            continue
        for chunk in chunks:
            for sentence in sentences(chunk.text.replace("\n", "")):
                for clause in clauses(sentence):
                    clause = _LEADING.sub("", clause.rstrip("，。；;,：: "))
                    figures = list(_FIGURE.finditer(clause))
                    if len(figures) != 1 or figures[0].end() < len(clause) - 1:
                        continue
                    figure = figures[0]
                    unit = re.sub(r"^[\d.\s]+", "", figure.group(0))
                    question = f"{clause[: figure.start()]}多少{'' if unit == '%' else unit}？"
                    if _EXAMPLE_CHARS[0] <= len(question) <= _EXAMPLE_CHARS[1] and _names_its_subject(clause):
                        yield key, question, figure.group(0)


def _names_its_subject(clause: str) -> bool:
    """«个人新规理财产品规模达到…», not «给予当时营收仅…»: a clause that opens with its subject (or
    a period) and names two things; a verb, preposition or adverb first means it leans on another."""
    words = [(w, tag) for w, tag in jieba.posseg.lcut(clause) if w.strip()]
    nouns = [w for w, tag in words if tag.startswith(("n", "j", "eng")) and len(w) > 1]
    return bool(words) and words[0][1][:1] in ("n", "t", "j", "m", "e") and len(nouns) >= 2


def example_questions(articles: Articles, answers: Callable[[str], Answer], count: int) -> list[str]:
    """Up to `count` example questions from different articles, each one kept only if `answers`
    gives back its figure: examples that work on whatever the index holds."""
    found, used = [], set()
    for article, question, figure in example_candidates(articles):
        if article in used:
            continue
        answer = answers(question)
        if not answer.abstained and figure.replace(" ", "") in answer.short.replace(" ", ""):
            found.append(question)
            used.add(article)
            if len(found) == count:
                break
    return found
