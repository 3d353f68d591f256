"""Retrieval: dense (FAISS), keyword (BM25) or both fused, over one stored index."""

from enum import StrEnum

from index import Embedder, StoredIndex
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

    def search(self, question: str, k: int, mode: RetrievalMode = RetrievalMode.HYBRID) -> list[Hit]:
        if mode is RetrievalMode.KEYWORD:
            return self._hits([(i, s, ("keyword",)) for i, s in self._keyword.search(question, k)])
        dense = self.index.store.search(self._embedder.embed_query(question), CANDIDATES if mode is RetrievalMode.HYBRID else k)
        if mode is RetrievalMode.DENSE:
            return [Hit(chunk=c, score=s, retriever="dense") for c, s in dense]
        runs = {"dense": [(c.id, s) for c, s in dense], "keyword": self._keyword.search(question, CANDIDATES)}
        return self._hits([(f.id, f.score, f.retrievers) for f in fuse(runs, k=k)])

    def _hits(self, found: list[tuple[int, float, tuple[str, ...]]]) -> list[Hit]:
        chunks = self.index.store.chunks([i for i, _, _ in found])
        return [Hit(chunk=c, score=s, retriever="+".join(r)) for c, (_, s, r) in zip(chunks, found)]
