"""Retrieval: dense (FAISS), keyword (BM25) or both fused, over one stored index; over some of its
issues only, or preferring the passages of a period, when the question asks (qa/period.py)."""

from collections.abc import Callable
from enum import StrEnum

from index import Chunk, Embedder, StoredIndex
from qa.fusion import CANDIDATES, fuse
from qa.keyword import KeywordIndex
from qa.records import Hit


class ModelMismatch(Exception):
    """The index was built with another embedding model than the one asked to query it."""


class RetrievalMode(StrEnum):
    DENSE = "dense"
    KEYWORD = "keyword"
    HYBRID = "hybrid"

    @classmethod
    def from_str(cls, value: str) -> "RetrievalMode":
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"未知的检索方式 {value!r}：可选 {', '.join(m.value for m in cls)}") from None


class Retriever:
    """Searches one committed generation; the keyword index is built once, when it is opened."""

    def __init__(self, index: StoredIndex, embedder: Embedder):
        manifest = index.manifest
        if manifest.fingerprint != embedder.fingerprint:
            raise ModelMismatch(
                f"索引由模型 {manifest.embedder}（{manifest.fingerprint}）构建，"
                f"不能用 {embedder.name}（{embedder.fingerprint}）查询；请用 `qa index build --full` 重建索引"
            )
        self.index = index
        self._embedder = embedder
        self._keyword = KeywordIndex.from_rows(index.keyword_rows)

    def search(
        self,
        question: str,
        k: int,
        mode: RetrievalMode = RetrievalMode.HYBRID,
        admits: Callable[[Chunk], bool] | None = None,
        prefers: Callable[[Chunk], bool] | None = None,
    ) -> list[Hit]:
        """The k best passages; only those `admits` lets through, when given (one issue, a date
        range); those `prefers` (a period's) first among the candidates, when given."""
        allowed = {c.id for c in self.index.store.chunks() if admits(c)} if admits else None
        pool = CANDIDATES if prefers else k  # a preference reorders the candidates, not the best k
        found: list[tuple[int, float, tuple[str, ...]]]
        if mode is RetrievalMode.KEYWORD:
            found = [(i, s, ("keyword",)) for i, s in self._keyword_run(question, pool, allowed)]
        elif mode is RetrievalMode.DENSE:
            found = [(i, s, ("dense",)) for i, s in self._dense_run(question, pool, allowed)]
        else:
            # Keyword first: on a cold start the query encoder is still loading meanwhile (Assistant).
            keyword = self._keyword_run(question, CANDIDATES, allowed)
            runs = {"dense": self._dense_run(question, CANDIDATES, allowed), "keyword": keyword}
            found = [(f.id, f.score, f.retrievers) for f in fuse(runs, k=pool)]
        hits = self._hits(found)
        if prefers:
            # A stable sort: the period's passages first, each group in the order retrieval gave.
            hits.sort(key=lambda hit: not prefers(hit.chunk))
        return hits[:k]

    def _dense_run(self, question: str, k: int, allowed: set[int] | None) -> list[tuple[int, float]]:
        store = self.index.store
        # Restricted: rank every vector, then keep the allowed (exact, and cheap at an archive's size).
        found = store.search(self._embedder.embed_query(question), k if allowed is None else store.count())
        return [(c.id, s) for c, s in found if allowed is None or c.id in allowed][:k]

    def _keyword_run(self, question: str, k: int, allowed: set[int] | None) -> list[tuple[int, float]]:
        if allowed is None:
            return self._keyword.search(question, k)
        return [(i, s) for i, s in self._keyword.search(question, len(self._keyword)) if i in allowed][:k]

    def _hits(self, found: list[tuple[int, float, tuple[str, ...]]]) -> list[Hit]:
        chunks = self.index.store.chunks([i for i, _, _ in found])
        return [Hit(chunk=c, score=s, retriever="+".join(r)) for c, (_, s, r) in zip(chunks, found)]
