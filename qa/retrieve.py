"""Dense retrieval: embed the question, search the stored index."""

from index import Embedder, StoredIndex
from qa.records import Hit


class ModelMismatch(Exception):
    """The index was built with another embedding model than the one asked to query it."""


class DenseRetriever:
    def __init__(self, index: StoredIndex, embedder: Embedder):
        manifest = index.manifest
        if manifest.fingerprint != embedder.fingerprint:
            raise ModelMismatch(
                f"索引由模型 {manifest.embedder}（{manifest.fingerprint}）构建，"
                f"不能用 {embedder.name}（{embedder.fingerprint}）查询；请用 `qa index build` 重建索引"
            )
        self._index = index
        self._embedder = embedder

    def search(self, question: str, k: int) -> list[Hit]:
        vector = self._embedder.embed_query(question)
        return [Hit(chunk=c, score=s, retriever="dense") for c, s in self._index.store.search(vector, k)]
