"""Keyword retrieval: BM25 over Chinese characters and character bigrams, built once per index load.

A chunk is tokenised once, when it is indexed (index/tokens.py): the store keeps the 64-bit ids
of its tokens with the chunk's segment. A reader builds the BM25
matrix once from those stored ids (`KeywordIndex`), never per question; a question is tokenised
(question words dropped) and scored against it.
"""

import threading
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from index.tokens import DEFAULT, Tokenizer, encode
from qa.text import QUESTION_WORDS

# Above this many new tokens, the vocabulary is extended with pandas' hash table (factorize):
# for 20M tokens 0.63 s, where numpy's sort (unique) takes 5.4 s. Below it numpy's sort is quicker
# than importing pandas at all (0.2–0.3 s of a cold `qa ask`, which a seed or an archive of 300
# issues, 0.7M tokens, never needs).
HASH_ABOVE = 2_000_000

# BM25 (Lucene's variant, as bm25s computes it). A low k1 saturates term frequency early: every
# chunk of an article repeats the article's name (its headline), so with the textbook k1=1.5
# the chunk that names it most — usually the first — outranked the one holding the asked-for
# fact (bench/retrieval.py: CMRC hit@1 0.865 at k1=1.5, b=0.75; see K1/B there).
K1 = 0.3
B = 0.5


def question_tokens(question: str, tokenizer: Tokenizer = DEFAULT) -> list[str]:
    """The tokens of a question without the words that only shape it (多少, 哪些, 是否…):
    frequent in questions, rare in passages, BM25 would weigh them as if they mattered."""
    return tokenizer.without(question, QUESTION_WORDS)


class KeywordIndex:
    """BM25 over chunks given as (chunk id, token ids or token strings).

    Built with vectorised numpy/scipy from the token ids: a hash table maps ids to columns
    (pandas.factorize) and scipy groups the postings by column: ~7 s for 100k chunks on 2 busy
    cores, where bm25s' own builder took 11 s for 20k, from strings that alone would need GBs. What
    `add_packed` adds takes effect at the next search (or `build`), which merges it into the matrix
    once; a chunk id added again replaces its old tokens. Safe to search from several threads."""

    def __init__(
        self,
        ids: Iterable[int] = (),
        tokens: Iterable[Sequence[str] | np.ndarray] = (),
        tokenizer: Tokenizer = DEFAULT,
        k1: float = K1,
        b: float = B,
    ):
        self.tokenizer, self.k1, self.b = tokenizer, k1, b
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)  # row → chunk id
        self._rows: dict[int, int] = {}
        self._vocab = np.zeros(0, dtype=np.uint64)  # column → token id
        # The vocabulary sorted, and each sorted token id's column: a question's tokens are looked up here.
        self._sorted, self._columns = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        self._tf = sp.csc_matrix((0, 0), dtype=np.float32)  # rows = chunks, columns = tokens
        self._lengths = np.zeros(0, dtype=np.float32)  # tokens per chunk, repeats included
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (ids, flat token ids, lengths)
        self._pending_ids: set[int] = set()  # their ids: an id added again is looked for only if there
        self._removed: set[int] = set()
        self._idf = np.zeros(0, dtype=np.float32)
        self._norm = np.zeros(0, dtype=np.float32)
        self._dirty = False
        ids = np.fromiter(ids, dtype=np.int64)
        arrays = [t if isinstance(t, np.ndarray) else encode(t) for t in tokens]
        if len(ids) != len(arrays):
            raise ValueError(f"{len(ids)} ids but {len(arrays)} token lists")
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        flat = np.concatenate(arrays).astype(np.uint64) if arrays else np.zeros(0, dtype=np.uint64)
        self.add_packed(ids, flat, lengths)

    @classmethod
    def from_texts(
        cls, ids: Iterable[int], texts: Iterable[str], tokenizer: Tokenizer = DEFAULT, **bm25
    ) -> "KeywordIndex":
        """Tokenise here (tests, benchmarks); a store passes the token ids it kept instead."""
        return cls(ids, [tokenizer(t) for t in texts], tokenizer, **bm25)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], tokenizer: Tokenizer = DEFAULT, **bm25
    ) -> "KeywordIndex":
        """Built from a stored index's keyword rows (`StoredIndex.keyword_rows`: per segment, chunk
        ids, token ids end to end, tokens per chunk), as a reader does once when it loads."""
        index = cls(tokenizer=tokenizer, **bm25)
        for ids, tokens, counts in rows:
            index.add_packed(ids, tokens, counts)
        index.build()
        return index

    def add_packed(self, ids: np.ndarray, flat: np.ndarray, lengths: np.ndarray) -> None:
        """Chunks whose token ids lie end to end in `flat`, `lengths[i]` of them for chunk i: the
        form a segment stores them in, loaded without splitting."""
        ids, lengths = np.asarray(ids, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
        if len(ids) != len(lengths) or int(lengths.sum()) != len(flat):
            raise ValueError("ids, lengths and token ids disagree")
        if not len(ids):
            return
        with self._lock:
            added = set(ids.tolist())
            self._remove(added)  # added again: the new tokens replace the old
            self._pending.append((ids, np.asarray(flat, dtype=np.uint64), lengths))
            self._pending_ids |= added
            self._dirty = True

    def __len__(self) -> int:
        with self._lock:
            pending = sum(len(p[0]) for p in self._pending)
            return len(self._rows) - len(self._removed) + pending

    def build(self) -> None:
        """Merge what was added now rather than at the next search (a reader does it once, when
        it loads an index)."""
        with self._lock:
            self._merge()

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        """The k best chunks for a question as (chunk id, BM25 score), best first: only chunks
        sharing a token with it; ties in the order the chunks were added."""
        return self.search_tokens(question_tokens(question, self.tokenizer), k)

    def search_tokens(self, tokens: Sequence[str] | np.ndarray, k: int) -> list[tuple[int, float]]:
        query = tokens if isinstance(tokens, np.ndarray) else encode(tokens)
        if k <= 0 or not len(query):
            return []
        with self._lock:
            self._merge()
            scores, ids = self._scores(query), self._ids
        if scores is None:
            return []
        matched = np.flatnonzero(scores > 0)
        if len(matched) > k:
            # partition first (100k chunks), then a stable sort of the few kept
            cut = np.partition(scores[matched], len(matched) - k)[len(matched) - k]
            matched = matched[scores[matched] >= cut]
        best = matched[np.argsort(-scores[matched], kind="stable")][:k]
        return [(int(ids[i]), float(scores[i])) for i in best]

    def _scores(self, query: np.ndarray) -> np.ndarray | None:
        columns = _columns_of(self._sorted, self._columns, query)
        columns, repeats = np.unique(columns[columns >= 0], return_counts=True)  # a repeated token counts again
        if not len(columns) or not len(self._ids):
            return None
        indptr, rows_of, tf_of = self._tf.indptr, self._tf.indices, self._tf.data
        rows = np.concatenate([rows_of[indptr[c] : indptr[c + 1]] for c in columns])
        tf = np.concatenate([tf_of[indptr[c] : indptr[c + 1]] for c in columns])
        weight = np.repeat(self._idf[columns] * repeats, np.diff(indptr)[columns])
        return np.bincount(rows, weights=weight * tf / (tf + self._norm[rows]), minlength=len(self._ids))

    def _remove_pending(self, ids: set[int]) -> int:
        """Drops the pending chunks with these ids. Only called when one is pending: a reader loading
        300 segments scanned the ones before each (1.3 s of a cold `qa ask` on a 300-issue archive)
        to find nothing."""
        gone = 0
        for n, (part_ids, flat, lengths) in enumerate(self._pending):
            drop = np.isin(part_ids, list(ids))
            if drop.any():
                gone += int(drop.sum())
                self._pending[n] = (part_ids[~drop], flat[np.repeat(~drop, lengths)], lengths[~drop])
        self._pending_ids -= ids
        return gone

    def _remove(self, ids: set[int]) -> int:
        gone = self._remove_pending(ids) if not ids.isdisjoint(self._pending_ids) else 0
        built = {i for i in ids if i in self._rows and i not in self._removed}
        self._removed |= built
        if gone or built:
            self._dirty = True
        return gone + len(built)

    def _merge(self) -> None:
        if not self._dirty:
            return
        tf, ids, lengths = self._tf, self._ids, self._lengths
        if self._removed:
            keep = ~np.isin(ids, list(self._removed))
            tf, ids, lengths = tf[keep], ids[keep], lengths[keep]
        parts = [p for p in self._pending if len(p[0])]
        if parts:
            new_ids = np.concatenate([p[0] for p in parts])
            flat = np.concatenate([p[1] for p in parts])
            new_lengths = np.concatenate([p[2] for p in parts])
            codes, vocab = _extended(self._vocab, self._sorted, self._columns, flat)
            new_tf = _term_frequencies(codes, new_lengths, len(vocab))
            if tf.shape[0]:
                tf.resize((tf.shape[0], len(vocab)))  # new tokens: empty columns for the old rows
                tf = sp.vstack([tf, new_tf], format="csc", dtype=np.float32)
            else:
                tf = new_tf
            ids = np.concatenate([ids, new_ids])
            lengths = np.concatenate([lengths, new_lengths.astype(np.float32)])
            self._vocab, self._columns = vocab, np.argsort(vocab)
            self._sorted = vocab[self._columns]
        self._tf, self._ids, self._lengths = tf, ids, lengths
        self._rows = {int(i): n for n, i in enumerate(ids)}
        self._pending, self._pending_ids, self._removed, self._dirty = [], set(), set(), False
        # Lucene's BM25: idf = ln(1 + (N − df + ½) / (df + ½)); tf / (tf + k1·(1 − b + b·len/avglen))
        n, df = len(ids), np.diff(tf.indptr)
        self._idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        mean = float(lengths.mean()) if n else 1.0
        self._norm = (self.k1 * (1 - self.b + self.b * lengths / max(mean, 1e-9))).astype(np.float32)


def _columns_of(sorted_tokens: np.ndarray, columns: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The column of each token id, given the vocabulary sorted and each sorted id's column; -1
    for one the vocabulary lacks."""
    tokens = np.asarray(tokens, dtype=np.uint64)
    if not len(sorted_tokens):
        return np.full(len(tokens), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_tokens, tokens), len(sorted_tokens) - 1)
    return np.where(sorted_tokens[at] == tokens, columns[at], -1)


def _extended(vocab: np.ndarray, sorted_tokens: np.ndarray, columns: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the column of each token id in `flat`, the vocabulary with its new ids appended): the
    columns known ids have keep their numbers."""
    if len(flat) > HASH_ABOVE:
        import pandas as pd

        codes, extended = pd.factorize(np.concatenate([vocab, flat]))
        return codes[len(vocab) :], np.asarray(extended, dtype=np.uint64)
    unique, inverse = np.unique(flat, return_inverse=True)
    found = _columns_of(sorted_tokens, columns, unique)
    new = found < 0
    found[new] = len(vocab) + np.arange(int(new.sum()))
    return found[inverse.ravel()], np.concatenate([vocab, unique[new]])


def _term_frequencies(columns: np.ndarray, lengths: np.ndarray, n_columns: int) -> sp.csc_matrix:
    """Chunks × tokens matrix of term frequencies from each chunk's token columns laid end to end.

    Vectorised: the rows go in as CSR with repeats, scipy's counting sort turns them into
    columns (each column's rows stay in ascending order), then repeats, now adjacent, are summed."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ones = np.ones(len(columns), dtype=np.float32)
    by_column = sp.csr_matrix((ones, columns.astype(np.int32), indptr), shape=(len(lengths), n_columns)).tocsc()
    rows, starts = by_column.indices, by_column.indptr
    if not len(rows):
        return sp.csc_matrix((len(lengths), n_columns), dtype=np.float32)
    first = np.empty(len(rows), dtype=bool)  # an entry that is not a repeat of the one before
    first[0] = True
    np.not_equal(rows[1:], rows[:-1], out=first[1:])
    first[starts[:-1][starts[:-1] < len(rows)]] = True
    kept = np.flatnonzero(first)
    counts = np.add.reduceat(by_column.data, kept)
    new_starts = np.concatenate([[0], np.cumsum(first)])[starts]
    return sp.csc_matrix((counts, rows[kept], new_starts), shape=by_column.shape)
