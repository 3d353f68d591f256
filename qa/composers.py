"""One protocol for every way of writing the answer: the question and the retrieved passages in,
drafts (the generative composer's words as they come) and then a checked `Answer` out.

- `reader`: the trained reader (qa/reader.py) finds the answer span across the
  passages, or abstains when "no answer" wins by the margin calibrated on validation data;
- `rules` (the default until the reader beats it, README *The reader*): the hand-written extractive composer (qa/compose.py);
- `generative`: an OpenAI-compatible endpoint (qa/generate.py).
Each one's answer passes the citation check (qa/check.py).
"""

import re
from collections.abc import Iterator
from functools import cached_property
from typing import Protocol

from index import Settings, ensure_e5_model
from index.text import CLAUSE_ENDS, SENTENCE_ENDS
from qa.check import abstention, check_citations
from qa.compose import compose, statement
from qa.generate import generate
from qa.reader import Reader, Span
from qa.records import Answer, Citation, Hit

COMPOSERS = ("reader", "rules", "generative")
ALIASES = {"extractive": "rules"}  # the rules composer's name before the reader came
_SENTENCE_END = re.compile(rf"[{SENTENCE_ENDS}\n]")
_TRAILING = CLAUSE_ENDS + " "


class Composer(Protocol):
    name: str  # one of COMPOSERS

    @property
    def version(self) -> str: ...  # what exactly answers: the reader's name and fingerprint, say

    def compose(self, question: str, hits: list[Hit]) -> Iterator[Answer]: ...


class RulesComposer:
    name = version = "rules"

    def __init__(self, settings: Settings):
        self.min_support = settings.answering.min_support
        self.profile = settings.profile  # the newsletter's conventions (index/profile.py)

    def compose(self, question: str, hits: list[Hit]) -> Iterator[Answer]:
        yield compose(question, hits, self.min_support, self.profile)


class GenerativeComposer:
    name = "generative"

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def version(self) -> str:
        return f"generative:{self.settings.answering.llm_model}"

    def compose(self, question: str, hits: list[Hit]) -> Iterator[Answer]:
        final = yield from generate(question, hits, self.settings)
        yield final


class ReaderComposer:
    """The reader's span as the short answer, the sentence that holds it as the citation."""

    name = "reader"

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def reader(self) -> Reader:
        cache = self.settings.model_cache
        return Reader(ensure_e5_model(cache), runtime=self.settings.answering.reader_runtime, cache_dir=cache)

    @property
    def version(self) -> str:
        return self.reader.name

    def compose(self, question: str, hits: list[Hit]) -> Iterator[Answer]:
        span = self.reader.read(question, [h.chunk.full_text for h in hits])
        if span is None or span.margin < self.reader.threshold:
            yield abstention(question, hits, self.name)
            return
        yield check_citations(answer_from_span(question, hits, span))


def answer_from_span(question: str, hits: list[Hit], span: Span) -> Answer:
    """The reader's span said once, in its sentence (qa/compose.py `statement`)."""
    n, chunk = span.passage + 1, hits[span.passage].chunk
    sentence = sentence_around(chunk.full_text, span.start, span.end)
    short = span.text.strip(_TRAILING) or span.text
    text = statement(short, sentence, n)
    citation = Citation(n=n, chunk=chunk, quote=sentence)
    return Answer(question=question, text=text, short=short, citations=(citation,), passages=tuple(hits), composer="reader")


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or sentences) of `text` that the span [start, end) stands in."""
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    after = _SENTENCE_END.search(text, max(end - 1, left))
    right = after.end() if after else len(text)
    return text[left:right].strip()


def make_composers(settings: Settings) -> dict[str, Composer]:
    """Every composer by name; the reader loads its model on its first question."""
    return {"reader": ReaderComposer(settings), "rules": RulesComposer(settings), "generative": GenerativeComposer(settings)}
