"""Time in questions: which issues a question is answered from (a `Scope`: one issue, a date
range, both given by the user), and which period it names (2020年上半年, 今年, 最新一期, 上一期),
understood against the issues the index holds: 今年 in a question is the newest issue's year, in a
passage its own issue's."""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from index import Chunk
from qa.records import Answer, Citation, Hit
from qa.text import char_f1

# A year named outright, or relative to the newest issue (in a question) or to the passage's issue.
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_RELATIVE_YEARS = {"今年": 0, "本年": 0, "当年": 0, "去年": -1, "上年": -1, "前年": -2}
_RELATIVE_YEAR = re.compile("|".join(_RELATIVE_YEARS))
# An issue named by its place among the others.
_NEWEST = re.compile(r"最新一期|最近一期|最新的一期")
_THIS = re.compile(r"本期|这一期|这期")
_PREVIOUS = re.compile(r"上一期|上期|前一期")
_MONTH_BEFORE = re.compile(r"上个月|上月")


class ScopeError(ValueError):
    """A scope that cannot be understood (a date that is no date); the message says what to write."""


@dataclass(frozen=True)
class Scope:
    """The issues a question may be answered from: `issue` (its number 2021年第11期, its date or
    its file name) and dates from `since` to `until` (ISO, both included). Empty: every issue."""

    issue: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def of(cls, issue: str = "", since: str = "", until: str = "") -> "Scope":
        """A scope from what a user typed: dates as 2021-11-15, 2021-11 or 2021 (a month or a year
        from its first day, `until` to its last)."""
        return cls((issue or "").strip(), _day(since, first=True), _day(until, first=False))

    def __bool__(self) -> bool:
        return bool(self.issue or self.since or self.until)

    def admits(self, chunk: Chunk) -> bool:
        if self.issue and self.issue not in (chunk.issue, chunk.date, chunk.doc_name, chunk.issue_label):
            return False
        if (self.since or self.until) and not chunk.date:
            return False  # an issue without a date is in no date range
        return (not self.since or chunk.date >= self.since) and (not self.until or chunk.date <= self.until)

    @property
    def label(self) -> str:
        """In words, for the chat and the CLI: 2021年第11期, 2021-01-01 至 2021-12-31."""
        dates = f"{self.since or '最早'} 至 {self.until or '最新'}" if self.since or self.until else ""
        return "，".join(part for part in (self.issue, dates) if part)


EVERYTHING = Scope()


@dataclass(frozen=True)
class Period:
    """What a question says about time: a year it names (or implies), or an issue by its place."""

    year: int | None = None
    issue: str = ""  # the date of the issue it names (最新一期, 上一期), "" for none
    relative: bool = False  # the year is 今年, 去年 or 上个月's, not named: the asker may mean another issue's

    def elsewhere(self, answer: Answer) -> str:
        """The note an answer from outside the period carries: which year had nothing, and which
        issue the answer comes from."""
        return f"{self.year}年的报道中没有找到，以下答案出自 {answer.citations[0].chunk.issue_label}"


def period_of(question: str, dates: list[str], current: str = "") -> Period:
    """The period a question names, against the issue dates the index holds (ISO, any order) and
    the issue the conversation is about (`current`, its date; the newest when ""). 最新一期 is the
    newest, 这一期 the current, 上一期 the one before it; 今年 the newest issue's year."""
    dates = sorted(set(filter(None, dates)))
    if not dates:
        return Period()
    this = current if current in dates else dates[-1]
    if _PREVIOUS.search(question):
        before = [d for d in dates if d < this]
        return Period(issue=before[-1] if before else "")
    if _NEWEST.search(question):
        return Period(issue=dates[-1])
    if _THIS.search(question):
        return Period(issue=this)
    named = _YEAR.search(question)
    if named:
        return Period(year=int(named.group(1)))
    relative = _RELATIVE_YEAR.search(question)
    if relative:
        return Period(year=int(dates[-1][:4]) + _RELATIVE_YEARS[relative.group(0)], relative=True)
    if _MONTH_BEFORE.search(question):
        newest_day = dt.date.fromisoformat(dates[-1])
        return Period(year=(newest_day.replace(day=1) - dt.timedelta(days=1)).year, relative=True)
    return Period()


def without_period(question: str) -> str:
    """The question less the words that name its period, for the composer: once retrieval has
    chosen the period's passages, «2020年上半年» is matched by a 2020 issue's «今年上半年»."""
    rest = question
    for words in (_PREVIOUS, _NEWEST, _THIS, _YEAR, _RELATIVE_YEAR):
        rest = words.sub("", rest)
    return re.sub(r"^[的，、\s]+", "", rest) or question


def reported_years(chunk: Chunk) -> set[int]:
    """The years a passage reports on: those it names, and those its relative words name from its
    issue's date (今年, 去年); a passage that names none reports on its issue's year."""
    return _years(chunk.text, chunk.date) or ({int(chunk.date[:4])} if chunk.date else set())


def _years(text: str, date: str) -> set[int]:
    """The years a text names, outright or (against `date`, its issue's) by 今年, 去年."""
    named = {int(y) for y in _YEAR.findall(text)}
    if not date:
        return named
    return named | {int(date[:4]) + _RELATIVE_YEARS[w] for w in _RELATIVE_YEAR.findall(text)}


def matches(period: Period, chunk: Chunk) -> bool:
    """Whether a passage is of the period: from the issue named, or reporting on the year named."""
    if period.issue:
        return chunk.date == period.issue
    return period.year is not None and period.year in reported_years(chunk)


def of_year(result: Answer, year: int | None, hits: list[Hit], compose: Callable[[list[Hit]], Answer]) -> Answer:
    """An answer to a question that names a year, from a sentence of that year. A passage can be
    of the year and its cited sentence not («总行召开2019年工作会议…会议指出，去年全年…»): a cited
    sentence that names only other years is set aside with its passage, and the rest answer."""
    for _ in range(_SET_ASIDE):
        if year is None or result.abstained or not result.citations:
            return result
        cited = result.citations[0]
        years = _years(cited.quote, cited.chunk.date)
        if not years or year in years:
            return result
        hits = [hit for hit in hits if hit.chunk.id != cited.chunk.id]
        if not hits:
            return result
        result = compose(hits)
    return result


# How many passages `of_year` sets aside before it keeps the answer it has.
_SET_ASIDE = 3


def _day(text: str, first: bool) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    try:
        if re.fullmatch(r"\d{4}", text):
            return f"{text}-01-01" if first else f"{text}-12-31"
        if re.fullmatch(r"\d{4}-\d{1,2}", text):
            year, month = map(int, text.split("-"))
            start = dt.date(year, month, 1)
            end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            return (start if first else end).isoformat()
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ScopeError(f"日期 {text!r} 无法识别：请写成 2021-11-15、2021-11 或 2021") from None


# Two cited sentences give the same measure when, figures aside, they share this much of their text.
_SAME_MEASURE = 0.6
_FIGURES = re.compile(r"[\d.,，%％]+")


def by_issue(result: Answer, hits: list[Hit], compose: Callable[[list[Hit]], Answer]) -> Answer:
    """When the passages come from several dated issues and another issue's passages answer the
    question with another figure for the same measure, the answer gives each, the newest first, and
    names the issue of each: «2021年第7期（7月15日）：…[1]；2020年第7期（7月15日）：…[2]». `compose`
    answers the question from a list of hits (the composer that gave `result`)."""
    if result.abstained or not result.citations or not result.citations[0].chunk.date:
        return result
    first = result.citations[0]
    numbers = {hit.chunk.id: n for n, hit in enumerate(hits, start=1)}
    others: dict[str, list] = {}
    for hit in hits:
        if hit.chunk.date and hit.chunk.date != first.chunk.date:
            others.setdefault(hit.chunk.date, []).append(hit)
    found = [(first.chunk, result.short, first)]
    for group in others.values():
        other = compose(group)
        if other.abstained or not other.citations or other.short == result.short:
            continue
        cited = other.citations[0]
        if _measure_overlap(cited.quote, first.quote) >= _SAME_MEASURE:
            found.append((cited.chunk, other.short, Citation(numbers[cited.chunk.id], cited.chunk, cited.quote)))
    if len(found) == 1:
        return result
    found.sort(key=lambda f: f[0].date, reverse=True)
    lines = [f"{chunk.issue_label}：{citation.quote} [{citation.n}]" for chunk, _, citation in found]
    return replace(
        result,
        text="各期报道的数字不同（新的在前）：\n" + "\n".join(lines),
        short=found[0][1],
        citations=tuple(citation for _, _, citation in found),
    )


def _measure_overlap(a: str, b: str) -> float:
    return char_f1(_FIGURES.sub("", a), _FIGURES.sub("", b))
