"""The stored index: one segment of vectors and chunk rows per document, under a manifest,
committed as a whole new generation so the index on disk is always the old one or the new one."""

import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from index.records import Chunk

CURRENT = "current"  # symlink to the committed generation folder
MANIFEST = "manifest.json"
SEGMENTS = "segments"
SEGMENT_FILES = (".npy", ".jsonl", ".tokens.npz")  # vectors, chunk rows, keyword tokens
# The document's name lives in the manifest, not in its segment, so a renamed file keeps its segment.
_ROW_FIELDS = tuple(f.name for f in fields(Chunk) if f.name != "doc_name")


class IndexMissing(Exception):
    """No usable committed index at the path; `qa index build` makes one."""


class IndexBusy(Exception):
    """Another process is writing the index."""


@dataclass(frozen=True)
class DocumentEntry:
    id: str  # sha256 of the file's bytes, which also names its segment
    chunks: int


@dataclass(frozen=True)
class Manifest:
    """How the index was built and what it holds; saved with it so the index can say what it is."""

    embedder: str
    fingerprint: str
    dim: int
    pipeline: str
    tokenizer: str
    chunk_size: int
    chunk_overlap: int
    documents: dict[str, DocumentEntry]  # by file name
    skipped: dict[str, str] = field(default_factory=dict)  # unreadable files: name → sha256
    versions: dict[str, str] = field(default_factory=dict)
    built_at: str = ""
    updated_at: str = ""

    @property
    def chunk_count(self) -> int:
        return sum(entry.chunks for _, entry in self.unique_documents().values())

    def unique_documents(self) -> dict[str, tuple[str, DocumentEntry]]:
        """By document id, the first name it goes by: a file stored twice is indexed once."""
        found: dict[str, tuple[str, DocumentEntry]] = {}
        for name, entry in self.documents.items():
            found.setdefault(entry.id, (name, entry))
        return found

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        raw = json.loads(text)
        raw["documents"] = {k: DocumentEntry(**v) for k, v in raw["documents"].items()}
        return cls(**raw)


@dataclass(frozen=True)
class Segment:
    """One document's chunks, their vectors and their keyword tokens, row for row."""

    doc_id: str
    chunks: list[Chunk]
    vectors: np.ndarray
    tokens: np.ndarray  # every chunk's token ids (index/tokens.py) end to end
    token_counts: np.ndarray  # how many of them belong to each chunk

    def keyword_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chunk ids, token ids end to end, tokens per chunk): what a keyword index is built from."""
        return np.array([c.id for c in self.chunks], dtype=np.int64), self.tokens, self.token_counts


class FaissStore:
    """Vectors (inner product over unit vectors = cosine) and chunk rows, in memory."""

    def __init__(self, dim: int):
        self.dim = dim
        self._vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._chunks: dict[int, Chunk] = {}
        self._lock = threading.Lock()

    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        ids = np.array([c.id for c in chunks], dtype=np.int64)
        with self._lock:
            self._vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            self._chunks.update((c.id, c) for c in chunks)

    def delete(self, doc_ids: set[str]) -> int:
        """Remove every chunk of these documents; returns how many went."""
        with self._lock:
            gone = [i for i, c in self._chunks.items() if c.doc_id in doc_ids]
            self._vectors.remove_ids(np.array(gone, dtype=np.int64))
            for i in gone:
                del self._chunks[i]
        return len(gone)

    def search(self, query: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        if k <= 0 or not self._chunks:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        with self._lock:
            scores, ids = self._vectors.search(query, min(k, len(self._chunks)))
        return [(self._chunks[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def count(self) -> int:
        return self._vectors.ntotal

    def chunks(self, ids: list[int] | None = None) -> list[Chunk]:
        """All chunks, or those with these ids in that order."""
        return list(self._chunks.values()) if ids is None else [self._chunks[i] for i in ids]

    def vector_ids(self) -> list[int]:
        return faiss.vector_to_array(self._vectors.id_map).tolist()

    def info(self) -> dict:
        return {"engine": "faiss", "index": "IndexIDMap2(IndexFlatIP)", "dim": self.dim, "vectors": self.count()}


@dataclass
class StoredIndex:
    """A committed generation, opened for reading."""

    folder: Path
    manifest: Manifest
    store: FaissStore
    keyword_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per segment, see Segment


def current_folder(index_path: Path) -> Path:
    link = index_path / CURRENT
    if not link.exists():
        raise IndexMissing(f"在 {index_path} 没有找到索引；请先运行 `qa index build`")
    return link.resolve()


def read_manifest(index_path: Path) -> Manifest:
    return _read_manifest(current_folder(index_path))


def _read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.from_json((folder / MANIFEST).read_text("utf-8"))
    except (ValueError, TypeError, KeyError) as e:  # damaged, or written by an older version
        raise IndexMissing(f"索引清单 {folder / MANIFEST} 无法读取（{e}）；请运行 `qa index build --full`") from e


def open_index(index_path: Path, attempts: int = 3) -> StoredIndex:
    """Load the committed generation; if a writer retires it while it loads, load the new one."""
    for attempt in range(attempts):
        folder = current_folder(index_path)
        try:
            return _load(folder)
        except FileNotFoundError:
            if attempt + 1 == attempts:
                raise
    raise AssertionError("unreachable")


def _load(folder: Path) -> StoredIndex:
    manifest = _read_manifest(folder)
    store, keyword_rows = FaissStore(manifest.dim), []
    for doc_id, (name, _) in manifest.unique_documents().items():
        segment = read_segment(folder, doc_id, name)
        store.add(segment.chunks, segment.vectors)
        keyword_rows.append(segment.keyword_rows())
    return StoredIndex(folder=folder, manifest=manifest, store=store, keyword_rows=keyword_rows)


def read_segment(folder: Path, doc_id: str, doc_name: str) -> Segment:
    vectors_file, rows_file, tokens_file = _segment_files(folder, doc_id)
    chunks = []
    with rows_file.open(encoding="utf-8") as rows:
        for line in rows:
            chunks.append(Chunk(doc_name=doc_name, **json.loads(line)))
    with np.load(tokens_file) as tokens:
        return Segment(doc_id, chunks, np.load(vectors_file), tokens["tokens"], tokens["counts"])


def _segment_files(folder: Path, doc_id: str) -> list[Path]:
    return [folder / SEGMENTS / f"{doc_id}{suffix}" for suffix in SEGMENT_FILES]


def write_generation(index_path: Path, manifest: Manifest, new_segments: list[Segment]) -> Path:
    """Commit a generation: the manifest's documents come from `new_segments` or, unchanged,
    from the current generation (hard-linked, so an update costs what the new documents cost).

    Everything is written beside the current generation, then `current` is switched with one
    atomic rename: a crash at any point leaves the old index or the new one, never a mix.
    The previous generation stays until the next commit so readers that are loading it finish.
    """
    previous = _current_or_none(index_path)
    name = f"gen-{time.time_ns()}"
    staging = index_path / f"{name}.tmp"
    (staging / SEGMENTS).mkdir(parents=True)
    fresh = {s.doc_id: s for s in new_segments}
    written = [staging / MANIFEST, staging / SEGMENTS, staging]
    for doc_id in manifest.unique_documents():
        if doc_id in fresh:
            written += _write_segment(staging, fresh[doc_id])
        elif previous is None:
            raise ValueError(f"segment {doc_id} is neither new nor in a committed generation")
        else:
            for old, new in zip(_segment_files(previous, doc_id), _segment_files(staging, doc_id)):
                os.link(old, new)
    (staging / MANIFEST).write_text(manifest.to_json(), "utf-8")
    for path in written:  # hard links point at data that is already on disk
        _fsync(path)
    folder = index_path / name
    staging.rename(folder)
    link = index_path / f"{CURRENT}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(name)
    os.replace(link, index_path / CURRENT)
    _fsync(index_path)
    _remove_stale(index_path, keep={name, previous.name if previous else ""})
    return folder


def _write_segment(folder: Path, segment: Segment) -> list[Path]:
    files = vectors, rows, tokens = _segment_files(folder, segment.doc_id)
    np.save(vectors, np.ascontiguousarray(segment.vectors, dtype=np.float32))
    with rows.open("w", encoding="utf-8") as out:
        for chunk in segment.chunks:
            out.write(json.dumps({name: getattr(chunk, name) for name in _ROW_FIELDS}, ensure_ascii=False) + "\n")
    np.savez(tokens, tokens=segment.tokens.astype(np.uint64), counts=segment.token_counts.astype(np.int64))
    return files


@contextmanager
def writer_lock(index_path: Path, timeout: float = 0):
    """One writer at a time; a second one waits `timeout` seconds, then fails with a clear message."""
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


def _current_or_none(index_path: Path) -> Path | None:
    try:
        return current_folder(index_path)
    except IndexMissing:
        return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(index_path: Path, keep: set[str]) -> None:
    """Drop older generations and what writers that crashed mid-way left behind."""
    for path in index_path.glob("gen-*"):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
