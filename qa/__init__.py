"""QA stage: answers questions from the stored index, with citations. `answer()` is its surface."""

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import cache

from index import Embedder, IndexMissing, Settings, current_generation, make_embedder, open_index
from qa.composers import ALIASES, COMPOSERS, make_composers
from qa.generate import ComposerUnavailable
from qa.records import Answer, Citation, Hit
from qa.retrieve import ModelMismatch, RetrievalMode, Retriever
from qa.text import char_f1

__all__ = [
    "ALIASES", "COMPOSERS", "Answer", "Assistant", "Citation", "ComposerUnavailable", "Hit", "ModelMismatch",
    "QuestionError", "RetrievalMode", "answer", "char_f1", "clean_question",
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
    return _to_simplified().convert(_SURROGATE.sub("", _CONTROL.sub(" ", question or "")).strip())


@cache
def _to_simplified():
    from opencc import OpenCC  # OpenCC's tables, in pure Python: loaded once, in ~10 ms

    return OpenCC("t2s")


class QuestionError(ValueError):
    """A question that cannot be asked as it is (empty, too long); the message says why."""


class Assistant:
    """Answers from one index; picks up a newly committed index on the next question."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self._lock = threading.Lock()
        self._folder: str | None = None
        self._retriever: Retriever | None = None
        self._articles: dict[tuple[str, str], tuple] | None = None  # of self._retriever, once grouped
        self._last_error = ""
        self._refused = ""  # a generation that could not be loaded: not read again on every question
        self.composers = make_composers(settings)

    def answer(
        self, question: str, k: int | None = None, mode: str | None = None, composer: str | None = None
    ) -> Answer:
        """Answer from the k passages that retrieval `mode` (dense, keyword, hybrid) finds."""
        *_, final = self.stream(question, k, mode, composer)
        return final

    def stream(
        self, question: str, k: int | None = None, mode: str | None = None, composer: str | None = None
    ) -> Iterator[Answer]:
        """Drafts while the composer writes (generative only), then the checked, final answer."""
        notes = (INVALID_TEXT,) if _SURROGATE.search(question or "") else ()
        question = self._checked(question)
        mode = RetrievalMode.from_str(mode or self.settings.answering.retrieval)
        writer = self.composer(composer)
        started = time.perf_counter()
        hits = self._current_retriever().search(question, k or self.settings.answering.top_k, mode)
        retrieved = time.perf_counter()
        for result in writer.compose(question, hits):
            if result.draft:
                yield result
        result = replace(result, version=writer.version, warnings=notes + result.warnings)
        result.timings.update(retrieve=retrieved - started, compose=time.perf_counter() - retrieved)
        yield result

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
