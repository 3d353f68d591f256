"""The stored index: FAISS vectors + SQLite chunk rows + a manifest, swapped in whole on every write."""

import json
import os
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from index.records import Chunk

CURRENT = "current"  # symlink to the committed generation folder
VECTORS = "vectors.faiss"
ROWS = "chunks.sqlite"
MANIFEST = "manifest.json"
_CHUNK_COLUMNS = ("id", "doc_id", "doc_name", "position", "text", "start", "end", "headline")


class IndexMissing(Exception):
    """No committed index at the path; `qa index build` makes one."""


class IndexBusy(Exception):
    """Another process is writing the index."""


@dataclass(frozen=True)
class DocumentEntry:
    id: str  # sha256 of the file's bytes
    chunks: int


@dataclass(frozen=True)
class Manifest:
    """How the index was built; saved beside it so the index can say what it is."""

    embedder: str
    fingerprint: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    documents: dict[str, DocumentEntry]  # by file name
    skipped: dict[str, str] = field(default_factory=dict)  # unreadable files: name → sha256
    versions: dict[str, str] = field(default_factory=dict)
    built_at: str = ""

    @property
    def chunk_count(self) -> int:
        return sum(d.chunks for d in self.documents.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        raw = json.loads(text)
        raw["documents"] = {k: DocumentEntry(**v) for k, v in raw["documents"].items()}
        return cls(**raw)


class FaissStore:
    """Vectors (inner product over unit vectors = cosine) and chunk rows of one generation."""

    def __init__(self, vectors: faiss.Index, rows: sqlite3.Connection):
        self._vectors = vectors
        self._rows = rows
        self._lock = threading.Lock()  # one SQLite connection shared by the UI's worker threads

    @classmethod
    def create(cls, dim: int) -> "FaissStore":
        rows = sqlite3.connect(":memory:", check_same_thread=False)
        rows.execute(
            "CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT, doc_name TEXT,"
            " position INTEGER, text TEXT, start INTEGER, end INTEGER, headline TEXT)"
        )
        rows.execute("CREATE INDEX chunks_doc ON chunks (doc_id)")
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), rows)

    @classmethod
    def open(cls, folder: Path) -> "FaissStore":
        vectors = faiss.read_index(str(folder / VECTORS))
        rows = sqlite3.connect(f"file:{folder / ROWS}?mode=ro", uri=True, check_same_thread=False)
        return cls(vectors, rows)

    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        ids = np.array([c.id for c in chunks], dtype=np.int64)
        self._vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        with self._lock, self._rows:
            self._rows.executemany(
                f"INSERT INTO chunks VALUES ({','.join('?' * len(_CHUNK_COLUMNS))})",
                [tuple(getattr(c, col) for col in _CHUNK_COLUMNS) for c in chunks],
            )

    def search(self, query: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        if self.count() == 0 or k <= 0:
            return []
        scores, ids = self._vectors.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        found = {c.id: c for c in self.chunks([int(i) for i in ids[0] if i >= 0])}
        return [(found[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if int(i) in found]

    def chunks(self, ids: list[int]) -> list[Chunk]:
        if not ids:
            return []
        with self._lock:
            rows = self._rows.execute(
                f"SELECT {','.join(_CHUNK_COLUMNS)} FROM chunks WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        return [Chunk(*row) for row in rows]

    def count(self) -> int:
        return self._vectors.ntotal

    def save(self, folder: Path) -> None:
        faiss.write_index(self._vectors, str(folder / VECTORS))
        with self._lock:
            target = sqlite3.connect(folder / ROWS)
            with target:
                self._rows.backup(target)
            target.close()

    def close(self) -> None:
        self._rows.close()


@dataclass
class StoredIndex:
    """A committed generation, opened for reading."""

    folder: Path
    manifest: Manifest
    store: FaissStore


def current_folder(index_path: Path) -> Path:
    link = index_path / CURRENT
    if not link.exists():
        raise IndexMissing(f"在 {index_path} 没有找到索引；请先运行 `qa index build`")
    return link.resolve()


def read_manifest(index_path: Path) -> Manifest:
    return Manifest.from_json((current_folder(index_path) / MANIFEST).read_text("utf-8"))


def open_index(index_path: Path) -> StoredIndex:
    folder = current_folder(index_path)
    manifest = Manifest.from_json((folder / MANIFEST).read_text("utf-8"))
    return StoredIndex(folder=folder, manifest=manifest, store=FaissStore.open(folder))


def write_index(index_path: Path, store: FaissStore, manifest: Manifest) -> Path:
    """Commit a new generation: write it beside the old one, then switch `current` atomically.

    A crash at any point leaves `current` on the old generation or the new one, never a mix;
    the previous generation stays until the next commit so open readers keep working.
    """
    index_path.mkdir(parents=True, exist_ok=True)
    folder = index_path / f"gen-{time.time_ns()}"
    staging = folder.with_suffix(".tmp")
    staging.mkdir()
    store.save(staging)
    (staging / MANIFEST).write_text(manifest.to_json(), "utf-8")
    _fsync_folder(staging)
    staging.rename(folder)
    link = index_path / f"{CURRENT}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(folder.name)
    os.replace(link, index_path / CURRENT)
    _fsync_folder(index_path)
    _remove_stale(index_path, keep={folder.name, _previous(index_path, folder.name)})
    return folder


@contextmanager
def writer_lock(index_path: Path, timeout: float = 0):
    """One writer at a time; a second one fails with a clear message instead of mixing writes."""
    index_path.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_path / ".write.lock")
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise IndexBusy(f"另一个进程正在写入索引 {index_path}，请稍后再试") from None
    try:
        yield
    finally:
        lock.release()


def _fsync_folder(folder: Path) -> None:
    for path in [*folder.iterdir(), folder]:
        if path.is_symlink():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _generations(index_path: Path) -> list[str]:
    return sorted(p.name for p in index_path.glob("gen-*"))


def _previous(index_path: Path, newest: str) -> str:
    older = [g for g in _generations(index_path) if g < newest and not g.endswith(".tmp")]
    return older[-1] if older else ""


def _remove_stale(index_path: Path, keep: set[str]) -> None:
    """Drop old generations and leftovers of writers that crashed mid-way."""
    for name in _generations(index_path):
        if name not in keep:
            shutil.rmtree(index_path / name, ignore_errors=True)
