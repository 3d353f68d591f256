"""A reader's `VectorStore` (index/records.py) in FAISS: vectors and chunk rows in memory."""

import threading

import numpy as np

from index import ann
from index.records import Chunk


class FaissStore:
    """Vectors (inner product over unit vectors = cosine) and chunk rows, in memory."""

    def __init__(self, dim: int, size: int = 0):
        """`size`, the number of vectors it will hold, picks flat or IVF (index/ann.py)."""
        self.dim = dim
        self._spec = ann.choose(size)
        self._vectors = ann.make_index(dim, spec=self._spec)
        self._chunks: dict[int, Chunk] = {}
        self._lock = threading.Lock()

    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        ids = np.array([c.id for c in chunks], dtype=np.int64)
        with self._lock:
            ann.train(self._vectors, vectors)  # IVF only, on its first add
            self._vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            self._chunks.update((c.id, c) for c in chunks)

    def search(self, query: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        if k <= 0 or not self._chunks:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        with self._lock:
            scores, ids = ann.search(self._vectors, query, min(k, len(self._chunks)))
        return [(self._chunks[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def count(self) -> int:
        """Vectors held: exactly those of the generation it was loaded from."""
        return self._vectors.ntotal

    def chunks(self, ids: list[int] | None = None) -> list[Chunk]:
        """All chunks, or those with these ids in that order."""
        return list(self._chunks.values()) if ids is None else [self._chunks[i] for i in ids]

    def vector_ids(self) -> list[int]:
        return ann.stored_ids(self._vectors).tolist()

    def info(self) -> dict:
        return {
            "engine": "faiss",
            "index": ann.describe(self._vectors),
            "kind": self._spec.kind,
            "dim": self.dim,
            "vectors": self.count(),
        }
