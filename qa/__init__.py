"""QA stage: answers questions from the stored index, with citations. `answer()` is its surface."""

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import cache

from index import Chunk, Embedder, IndexMissing, Settings, current_generation, make_embedder, open_index
from qa.composers import ALIASES, COMPOSERS, make_composers
from qa.dialogue import Reading, answer_as_typed, answers_of, earlier_turn, read, supported
from qa.generate import ComposerUnavailable, rewrite_question
from qa.history import Conversations, Turn, new_id, now, valid_id
from qa.period import EVERYTHING, Period, Scope, ScopeError, by_issue, matches, of_year, period_of, without_period
from qa.overview import contents_answer, contents_page, example_questions, is_greeting, welcome
from qa.records import Answer, Citation, Hit
from qa.retrieve import ModelMismatch, RetrievalMode, Retriever
from qa.table import table_answer
from qa.text import char_f1

__all__ = [
    "ALIASES", "COMPOSERS", "Answer", "Assistant", "Citation", "ComposerUnavailable", "Conversations", "Hit",
    "ModelMismatch", "QuestionError", "RetrievalMode", "Scope", "ScopeError", "Turn", "answer", "char_f1", "clean_question", "new_id", "now",
    "valid_id",
]


_log = logging.getLogger(__name__)
# Control characters (pasted from elsewhere) say nothing and confuse the tokenizers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
# Lone surrogates: bytes that were not UTF-8 (a terminal in another encoding gives Python
# \udcXX for each) or a broken pair from a browser. They cannot be encoded, so nothing downstream
# (the tokenizers, the history file) can take them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
INVALID_TEXT = "问题中有无法识别的字符（不是有效的 UTF-8 文字），已忽略"


def clean_question(question: str) -> str:
    """The question as it is answered and stored: no control characters, no lone surrogates, and
    in simplified characters, as the newsletter is written (個貸 → 个贷; simplified text is
    left as it is: checked on every question of eval/sets/)."""
    typed = _SURROGATE.sub("", _CONTROL.sub(" ", question or "")).strip()
    converted = _to_simplified().convert(typed)
    if len(converted) != len(typed):
        return converted
    # A character whose simplified form is outside the Basic Multilingual Plane (鮀 → 𬶍) is one
    # that simplified text, the newsletter's included, still writes as it was: it stays.
    return "".join(new if ord(new) <= 0xFFFF else old for old, new in zip(typed, converted))


@cache
def _to_simplified():
    from opencc import OpenCC  # OpenCC's tables, in pure Python: loaded once, in ~10 ms

    return OpenCC("t2s")


EXAMPLE_COUNT = 3  # example questions made per index


def _understood(reading: Reading) -> str:
    return reading.standalone if reading.rewritten else ""


def _cited_last(earlier: Sequence) -> Chunk | None:
    """The passage the conversation cited last: the issue «这一期» means."""
    for answer in reversed(answers_of(earlier)):
        if answer.citations:
            return answer.citations[0].chunk
    return None


def _issue_of(earlier: Sequence, articles: dict) -> str:
    """The document «这一期» means: the one the conversation last cited, else the newest (by date,
    then by file name, as issues are named in order)."""
    cited = _cited_last(earlier)
    if cited is not None:
        return cited.doc_id
    newest = max((chunks[0] for chunks in articles.values()), key=lambda c: (c.date, c.doc_name), default=None)
    return newest.doc_id if newest else ""


class QuestionError(ValueError):
    """A question that cannot be asked as it is (empty, too long); the message says why."""


class Assistant:
    """Answers from one index; picks up a newly committed index on the next question."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        if hasattr(self.embedder, "preload"):  # its model loads while the index does (index/onnx_embed.py)
            self.embedder.preload()
        self._lock = threading.Lock()
        self._folder: str | None = None
        self._retriever: Retriever | None = None
        self._articles: dict[tuple[str, str], tuple] | None = None  # of self._retriever, once grouped
        self._last_error = ""
        self._refused = ""  # a generation that could not be loaded: not read again on every question
        self._examples: tuple[Retriever, list[str]] | None = None  # of the retriever they were made from
        self.composers = make_composers(settings)

    def answer(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        composer: str | None = None,
        earlier: Sequence = (),
        rewrite: bool = True,
        scope: Scope = EVERYTHING,
    ) -> Answer:
        """Answer from the k passages that retrieval `mode` (dense, keyword, hybrid) finds; `earlier`
        is the conversation so far (its `Turn`s or `Answer`s), which a follow-up leans on; `scope`
        the issues it may be answered from (qa/period.py)."""
        *_, final = self.stream(question, k, mode, composer, earlier, rewrite, scope)
        return final

    def stream(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        composer: str | None = None,
        earlier: Sequence = (),
        rewrite: bool = True,
        scope: Scope = EVERYTHING,
    ) -> Iterator[Answer]:
        """Drafts while the composer writes (generative only), then the checked, final answer.
        A question that leans on `earlier` is answered as its standalone rewrite (qa/dialogue.py),
        which the answer carries as `understood`; `rewrite=False` answers it as typed."""
        notes = (INVALID_TEXT,) if _SURROGATE.search(question or "") else ()
        question = self._checked(question)
        started = time.perf_counter()
        special = self._not_a_fact(question, earlier)
        if special is not None:
            yield replace(special, warnings=notes, timings={"compose": time.perf_counter() - started})
            return
        mode = RetrievalMode.from_str(mode or self.settings.answering.retrieval)
        writer = self.composer(composer)
        reading = self.reading(question, earlier, writer) if rewrite else Reading(question, question)
        k = k or self.settings.answering.top_k
        hits, asked, period = self._search(reading.standalone, k, mode, scope, earlier)
        retrieved = time.perf_counter()
        for result in writer.compose(asked, hits):
            if result.draft:
                yield replace(result, question=question, understood=_understood(reading))

        def compose(some: list[Hit]) -> Answer:
            return list(writer.compose(asked, some))[-1]

        result = of_year(result, period.year, hits, compose)
        if result.abstained and period.relative:
            # Nothing of the year 今年 means, counted from the newest issue: the asker may mean
            # another issue's 今年, so the best passages of any year answer, and say which issue.
            hits, asked, _ = self._search(reading.standalone, k, mode, scope, earlier, periods=False)
            result = compose(hits)
            if not result.abstained:
                result = replace(result, warnings=result.warnings + (period.elsewhere(result),))
        # A question that names a table's row and column is answered by that cell, whoever composes.
        result = table_answer(reading.standalone, hits) or result
        if reading.rewritten and not supported(reading, result, self.settings.profile, self._article):
            result = answer_as_typed(reading, writer, hits, self.settings.profile, self._article)
        if asked == reading.standalone and writer.name != "generative":
            # No period named: where issues give the same measure differently, say each one's.
            result = by_issue(result, hits, compose)
        result = replace(result, question=question, understood=_understood(reading), version=writer.version)
        result = replace(result, warnings=notes + result.warnings)
        result.timings.update(retrieve=retrieved - started, compose=time.perf_counter() - retrieved)
        yield result

    def _search(
        self, question: str, k: int, mode: RetrievalMode, scope: Scope, earlier: Sequence, periods: bool = True
    ) -> tuple[list[Hit], str, Period]:
        """Retrieval within `scope`, and (unless `periods` is false) within the issue or the period
        the question names: 最新一期 and 上一期 restrict it to that issue, a year (2020年, 今年) puts
        that year's passages first. With the hits, the question the composer is to answer from them
        (less its period when retrieval has taken care of it) and that period (empty when it has not)."""
        retriever = self._current_retriever()
        cited = _cited_last(earlier)
        period = period_of(question, self.issue_dates(), cited.date if cited is not None else "") if periods else Period()
        of_period = lambda chunk: matches(period, chunk)  # noqa: E731
        if period.issue:
            admits = lambda chunk: of_period(chunk) and scope.admits(chunk)  # noqa: E731
        else:
            admits = scope.admits if scope else None
        prefers = of_period if period.year is not None else None
        hits = retriever.search(question, k, mode, admits, prefers)
        if period.issue or (hits and prefers and prefers(hits[0].chunk)):
            return hits, without_period(question), period
        return hits, question, Period()

    def issues(self) -> list[str]:
        """The issues the current index holds, as citations name them, newest first: what the chat
        offers to restrict a question to (`Scope.issue` takes these)."""
        firsts = sorted((chunks[0] for chunks in self.articles().values()), key=lambda c: (c.date, c.doc_name), reverse=True)
        return list(dict.fromkeys(c.issue_label for c in firsts))

    def issue_dates(self) -> list[str]:
        """The dates of the issues the current index holds (those it could read)."""
        return sorted({chunks[0].date for chunks in self.articles().values() if chunks[0].date})

    def reading(self, question: str, earlier: Sequence = (), writer=None) -> Reading:
        """How `question` is meant after `earlier`: the language model's rewrite when the generative
        composer answers and can rewrite, else qa/dialogue.py's; both checked the same way."""
        before = earlier_turn(earlier)
        if before is None:
            return Reading(question, question)
        if writer is not None and writer.name == "generative":
            try:
                standalone = rewrite_question(question, before, self.settings)
            except ComposerUnavailable as e:
                _log.warning("改写追问不可用，改用规则：%s", e)
            else:
                if standalone and standalone != question:
                    return Reading(question, standalone, "generative", tuple(filter(None, (question, before.leaned))))
                return Reading(question, question)
        return read(question, before, self.settings.profile, self._similarity)

    def examples(self, count: int = 3) -> list[str]:
        """Example questions made from the current index and known to be answered by it: what the
        chat offers to click and the welcome names. Made once per index."""
        retriever = self._current_retriever()
        with self._lock:
            if self._examples is not None and self._examples[0] is retriever:
                return self._examples[1][:count]
        made = example_questions(self.articles(), lambda q: self.answer(q, composer="rules"), EXAMPLE_COUNT)
        with self._lock:
            self._examples = (retriever, made)
        return made[:count]

    def _not_a_fact(self, question: str, earlier: Sequence) -> Answer | None:
        """A greeting's welcome, or an issue's contents; None for a question about a fact."""
        if is_greeting(question):
            return welcome(question, self.settings.profile.name, self.examples(2))
        page = contents_page(question)
        if page is None:
            return None
        articles = self.articles()
        return contents_answer(question, articles, _issue_of(earlier, articles), page, self.settings.profile)

    def _article(self, chunk: Chunk) -> str:
        """The whole article a chunk belongs to, as the index holds it now."""
        return "\n".join(c.full_text for c in self.articles().get((chunk.doc_id, chunk.headline), (chunk,)))

    def _similarity(self, phrase: str, candidates: list[str]) -> list[float]:
        vectors = self.embedder.embed_passages([phrase, *candidates])
        return [float(vectors[0] @ v) for v in vectors[1:]]

    def composer(self, name: str | None = None):
        """The composer `name` says (qa/composers.py), or the configured one."""
        name = name or self.settings.answering.composer
        name = ALIASES.get(name, name)
        if name not in self.composers:
            raise QuestionError(f"未知的回答方式 {name!r}：可选 {'、'.join(COMPOSERS)}。")
        return self.composers[name]

    def articles(self) -> dict[tuple[str, str], tuple]:
        """The current index's chunks by article, keyed (document id, headline), each in reading
        order: what the chat shows as the whole article, and counts. Grouped once per retriever."""
        retriever = self._current_retriever()
        with self._lock:
            if self._articles is not None and self._retriever is retriever:
                return self._articles
        found: dict[tuple[str, str], list] = {}
        for chunk in retriever.index.store.chunks():  # outside the lock: questions go on meanwhile
            found.setdefault((chunk.doc_id, chunk.headline), []).append(chunk)
        grouped = {key: tuple(sorted(chunks, key=lambda c: c.position)) for key, chunks in found.items()}
        with self._lock:
            if self._retriever is retriever:  # not replaced by a newer index meanwhile
                self._articles = grouped
        return grouped

    def _current_retriever(self) -> Retriever:
        """The retriever of the committed index; when the index on disk cannot be read (deleted,
        corrupt, a disk error), the one already loaded goes on answering and the log says why."""
        with self._lock:
            try:
                folder = current_generation(self.settings)  # the FAISS folder or Milvus collection it names
                if folder != self._folder and (folder != self._refused or self._retriever is None):
                    try:
                        self._retriever = Retriever(open_index(self.settings), self.embedder)
                    except (IndexMissing, OSError, ValueError, EOFError):
                        self._refused = folder
                        raise
                    self._folder = folder
                    self._articles = None
            except (IndexMissing, OSError, ValueError, EOFError) as e:
                if self._retriever is None:
                    raise
                if str(e) != self._last_error:
                    _log.warning("索引无法读取，继续使用已加载的索引（%s）：%s", self._folder, e)
                    self._last_error = str(e)
            return self._retriever

    def _checked(self, question: str) -> str:
        question = clean_question(question)
        if not question:
            raise QuestionError("问题是空的，请输入要查询的内容。")
        limit = self.settings.answering.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"问题太长（{len(question)} 字），请精简到 {limit} 字以内。")
        if not any(c.isalnum() for c in question):
            raise QuestionError("问题里没有可以查询的文字（只有标点或表情），请用文字描述想了解的内容。")
        return question


_assistants: dict[Settings, Assistant] = {}


def answer(
    question: str, settings: Settings | None = None, k: int | None = None, mode: str | None = None
) -> Answer:
    """Answer one question from the index that `settings` names (the defaults if none)."""
    settings = settings or Settings()
    if settings not in _assistants:
        _assistants[settings] = Assistant(settings)
    return _assistants[settings].answer(question, k, mode)
