"""Keyword tokens: what BM25 sees of a chunk, made once when the chunk is indexed and stored
with its segment (as 64-bit ids), so a reader never tokenises the archive again."""

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import jieba
import numpy as np

from index.text import HAN, HAN_RUN, NON_WORD, char_bigrams

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

# Han runs give characters and bigrams; Latin words and numbers (decimals kept whole: 5.4, 0.29)
# are single tokens; everything else (punctuation, spaces, symbols) separates.
_RUN = re.compile(rf"[{HAN}]+|[a-z]+|[0-9]+(?:\.[0-9]+)?")
_NUMBER_UNIT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(万亿|万|亿|千|百)")


@cache
def _to_simplified():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, only if asked for

    return OpenCC("t2s").convert


@dataclass(frozen=True)
class Tokenizer:
    """How text becomes BM25 tokens. The defaults are the measured choice (bench/retrieval.py);
    the other switches exist to measure the alternatives. `name` is stored with the tokens, so
    an index tokenised otherwise is re-tokenised rather than mixed."""

    chars: bool = True  # single Han characters: 1-character names, any segmentation
    bigrams: bool = True  # Han character bigrams: robust to jieba's missegmentation of names
    words: bool = False  # jieba words of min_word+ characters: measured, no gain over n-grams
    min_word: int = 1
    nfkc: bool = True  # full-width digits and letters → half-width
    units: bool = False  # "26万" / "1096亿" as a token beside the number: measured, no gain
    simplified: bool = False  # traditional → simplified (needs opencc-python-reimplemented)

    @property
    def name(self) -> str:
        parts = [p for p, on in (("char", self.chars), ("bigram", self.bigrams)) if on]
        if self.words:
            parts.append(f"jieba{self.min_word}")
        flags = [f for f, on in (("nfkc", self.nfkc), ("units", self.units), ("t2s", self.simplified)) if on]
        return "+".join(parts) + ("/" + ",".join(flags) if flags else "") + "/blake2b64-v1"

    def normalize(self, text: str) -> str:
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self.simplified:
            text = _to_simplified()(text)
        return text.lower()

    def __call__(self, text: str) -> list[str]:
        """The tokens of a passage (or of anything taken whole)."""
        return self._tokens(self.normalize(text))

    def without(self, text: str, words: frozenset[str]) -> list[str]:
        """The tokens of a text with these jieba words left out (a question's 多少, 哪些, 是否…)."""
        kept = "".join(" " if w in words else w for w in jieba.lcut(self.normalize(text)))
        return self._tokens(kept)

    def _tokens(self, text: str) -> list[str]:
        tokens: list[str] = []
        for match in _RUN.finditer(text):
            run = match.group()
            if not HAN_RUN.fullmatch(run):
                tokens.append(run)
                continue
            if self.chars:
                tokens.extend(run)
            if self.bigrams:
                tokens.extend(char_bigrams(run))
            if self.bigrams and not self.chars and len(run) == 1:
                tokens.append(run)  # a lone character has no bigram: keep it whole
        if self.words:
            tokens.extend(
                w for w in jieba.lcut(text) if len(w) >= self.min_word and HAN_RUN.search(w) and not NON_WORD.search(w)
            )
        if self.units:
            tokens.extend(number + unit for number, unit in _NUMBER_UNIT.findall(text))
        return tokens


DEFAULT = Tokenizer()
TOKENIZER = DEFAULT.name  # record it with stored token ids; another value means re-tokenise


def tokenize(text: str) -> list[str]:
    """The default tokens of a passage: characters and bigrams of Han runs, Latin words, numbers."""
    return DEFAULT(text)


def encode(tokens: Iterable[str]) -> np.ndarray:
    """Stable 64-bit ids of tokens (blake2b, the same in every process): what the store keeps,
    8 bytes a token instead of a Python string each, and what the index is built from."""
    digests = b"".join(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest() for t in tokens)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def chunk_tokens(text: str, tokenizer: Tokenizer = DEFAULT) -> np.ndarray:
    """The token ids to store for a chunk: `encode(tokenize(chunk.search_text))`."""
    return encode(tokenizer(text))
