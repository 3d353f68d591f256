"""Keyword retrieval: BM25 (bm25s) over Chinese tokens — characters, character bigrams and jieba words.

Tokens are made once, when a chunk is indexed (`tokenize(chunk.search_text)`), and stored with
its segment; a reader builds the BM25 matrix once from the stored lists, never per question.
"""

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import bm25s
import jieba
import numpy as np

from qa.text import QUESTION_WORDS

jieba.setLogLevel(60)

# Han runs give characters and bigrams; Latin words and numbers (decimals kept whole: 5.4, 0.29)
# are single tokens; everything else (punctuation, spaces, symbols) separates.
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_RUN = re.compile(rf"{_HAN}+|[a-z]+|[0-9]+(?:\.[0-9]+)?")
_IS_HAN = re.compile(rf"{_HAN}+")
_NUMBER_UNIT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(万亿|万|亿|千|百)")
_NOT_WORD = re.compile(r"[\s\W_]+")


@cache
def _to_simplified():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, optional

    return OpenCC("t2s").convert


@dataclass(frozen=True)
class Tokenizer:
    """How text becomes BM25 tokens; `name` is stored with the tokens, so an index made with other
    settings is re-tokenised rather than mixed. The defaults are the measured choice
    (bench/retrieval.py): each piece is kept because it moved hit@1 on the seed or CMRC sets."""

    chars: bool = True  # single Han characters: survive any segmentation, catch 1-character names
    bigrams: bool = True  # Han character bigrams: robust to jieba's missegmentation of names
    words: bool = True  # jieba words of 3+ characters (shorter ones repeat the n-grams)
    min_word: int = 3
    nfkc: bool = True  # full-width digits and letters → half-width
    units: bool = False  # "26万" / "1096亿" as one token beside the number
    simplified: bool = False  # traditional → simplified (needs opencc-python-reimplemented)

    @property
    def name(self) -> str:
        parts = [p for p, on in (("char", self.chars), ("bigram", self.bigrams)) if on]
        if self.words:
            parts.append(f"jieba{self.min_word}")
        flags = [f for f, on in (("nfkc", self.nfkc), ("units", self.units), ("t2s", self.simplified)) if on]
        return "+".join(parts) + ("/" + ",".join(flags) if flags else "") + "/v1"

    def normalize(self, text: str) -> str:
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self.simplified:
            text = _to_simplified()(text)
        return text.lower()

    def __call__(self, text: str) -> list[str]:
        """The tokens of a passage (or of anything else, taken whole)."""
        return self._tokens(self.normalize(text))

    def question(self, question: str) -> list[str]:
        """The tokens of a question, without the words that only shape it (多少, 哪些, 是否…):
        they are frequent in questions and rare in passages, so BM25 would weigh them highly."""
        text = self.normalize(question)
        kept = "".join(" " if w in QUESTION_WORDS else w for w in jieba.lcut(text))
        return self._tokens(kept)

    def _tokens(self, text: str) -> list[str]:
        tokens: list[str] = []
        for match in _RUN.finditer(text):
            run = match.group()
            if not _IS_HAN.fullmatch(run):
                tokens.append(run)
                continue
            if self.chars:
                tokens.extend(run)
            if self.bigrams:
                tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            if not self.chars and (len(run) == 1 or not self.bigrams):
                tokens.append(run)
        if self.words:
            tokens.extend(
                w for w in jieba.lcut(text) if len(w) >= self.min_word and _IS_HAN.search(w) and not _NOT_WORD.search(w)
            )
        if self.units:
            tokens.extend(number + unit for number, unit in _NUMBER_UNIT.findall(text))
        return tokens


DEFAULT = Tokenizer()
TOKENIZER = DEFAULT.name  # record with stored tokens; a different value means re-tokenise


def tokenize(text: str) -> list[str]:
    """The default tokenizer's tokens of a passage: what is stored for each chunk."""
    return DEFAULT(text)


def question_tokens(question: str) -> list[str]:
    """The default tokenizer's tokens of a question, question words dropped."""
    return DEFAULT.question(question)


class KeywordIndex:
    """BM25 over chunks given by (id, tokens). `add`/`remove` take effect at the next search,
    which rebuilds the matrix once (bm25s has no incremental update); a reader that loads a
    generation builds it once, from the tokens stored with the segments."""

    def __init__(
        self,
        ids: Iterable[int] = (),
        tokens: Iterable[Sequence[str]] = (),
        tokenizer: Tokenizer = DEFAULT,
        k1: float = 1.5,
        b: float = 0.75,
    ):
        self.tokenizer = tokenizer
        self.k1, self.b = k1, b
        self._tokens: dict[int, Sequence[str]] = {}
        self._lock = threading.Lock()
        self._bm25: bm25s.BM25 | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self.add(ids, tokens)

    @classmethod
    def from_texts(cls, ids: Iterable[int], texts: Iterable[str], tokenizer: Tokenizer = DEFAULT, **bm25) -> "KeywordIndex":
        """Tokenise here (tests, benchmarks); the store passes tokens it kept instead."""
        return cls(ids, [tokenizer(t) for t in texts], tokenizer, **bm25)

    def add(self, ids: Iterable[int], tokens: Iterable[Sequence[str]]) -> None:
        ids, tokens = list(ids), list(tokens)
        if len(ids) != len(tokens):
            raise ValueError(f"{len(ids)} ids but {len(tokens)} token lists")
        with self._lock:
            self._tokens.update(zip(ids, tokens))
            self._bm25 = None

    def remove(self, ids: Iterable[int]) -> int:
        """Drop these chunks; returns how many were there."""
        with self._lock:
            gone = sum(self._tokens.pop(i, None) is not None for i in ids)
            if gone:
                self._bm25 = None
        return gone

    def __len__(self) -> int:
        return len(self._tokens)

    def build(self) -> None:
        """Build the BM25 matrix now rather than at the first search (a reader does it at load)."""
        with self._lock:
            self._built()

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        """The k best chunks for a question as (chunk id, BM25 score), best first; only chunks that
        share a token with the question, ties in the order the chunks were added."""
        return self.search_tokens(self.tokenizer.question(question), k)

    def search_tokens(self, tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        with self._lock:
            bm25, ids = self._built()
        if bm25 is None:
            return []
        token_ids = bm25.get_tokens_ids(list(tokens))
        if not token_ids:
            return []
        scores = bm25.get_scores(token_ids)
        matched = np.flatnonzero(scores > 0)
        if len(matched) > k:
            # argpartition for speed at 100k chunks, then a stable sort of the few kept
            cut = np.partition(scores[matched], len(matched) - k)[len(matched) - k]
            matched = matched[scores[matched] >= cut]
        best = matched[np.argsort(-scores[matched], kind="stable")][:k]
        return [(int(ids[i]), float(scores[i])) for i in best]

    def _built(self) -> tuple[bm25s.BM25 | None, np.ndarray]:
        if self._bm25 is None and self._tokens:
            bm25 = bm25s.BM25(k1=self.k1, b=self.b)
            bm25.index([list(t) for t in self._tokens.values()], show_progress=False)
            self._ids = np.fromiter(self._tokens, dtype=np.int64, count=len(self._tokens))
            self._bm25 = bm25
        return self._bm25, self._ids
