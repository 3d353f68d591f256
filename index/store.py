"""The stored index: one segment of vectors and chunk rows per document, under a manifest,
committed as a whole new generation so the index on disk is always the old one or the new one.

Where it lives is the configuration's `store` (index/config.py): a folder of generations read
into FAISS (here, the default) or a Milvus collection (index/milvus.py). Both are an
`IndexBackend`; what a reader searches is a `VectorStore`; nothing above them knows which."""

import json
import os
import shutil
import threading
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Protocol

import numpy as np
from filelock import FileLock, Timeout

from index import ann
from index.config import Settings
from index.records import Chunk

CURRENT = "current"  # symlink to the committed generation folder
MANIFEST = "manifest.json"
SEGMENTS = "segments"
SEGMENT_FILES = (".npy", ".jsonl", ".tokens.npz")  # vectors, chunk rows, keyword tokens
# The document's name lives in the manifest, not in its segment, so a renamed file keeps its segment.
_ROW_FIELDS = tuple(f.name for f in fields(Chunk) if f.name != "doc_name")


def chunk_row(chunk: Chunk) -> str:
    """A chunk as one stored row (JSON), as a FAISS segment and a Milvus collection keep it."""
    return json.dumps({name: getattr(chunk, name) for name in _ROW_FIELDS}, ensure_ascii=False)


def chunk_from_row(doc_name: str, row: str) -> Chunk:
    """The chunk a stored row holds, under the name the manifest gives its document."""
    return Chunk(doc_name=doc_name, **json.loads(row))


class IndexMissing(Exception):
    """No usable committed index at the path; `qa index build` makes one."""


class StoreUnavailable(IndexMissing):
    """The configured store cannot be reached or refused a request, so no index can be read from it."""


class IndexCorrupt(IndexMissing):
    """A file of the committed index cannot be read as written; rebuilding repairs it."""


class IndexWriteError(Exception):
    """The new index could not be written (a full disk, say); the committed one is untouched."""


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


class VectorStore(Protocol):
    """What a reader searches: the vectors and the chunk rows of one committed index."""

    dim: int

    def search(self, query: np.ndarray, k: int) -> list[tuple[Chunk, float]]: ...

    def chunks(self, ids: list[int] | None = None) -> list[Chunk]: ...

    def count(self) -> int: ...

    def vector_ids(self) -> list[int]: ...

    def info(self) -> dict: ...


class FaissStore:
    """Vectors (inner product over unit vectors = cosine) and chunk rows, in memory."""

    def __init__(self, dim: int, size: int = 0):
        """`size`, the number of vectors it will hold, picks flat or IVF (index/ann.py)."""
        self.dim = dim
        self._vectors = ann.make_index(dim, size)
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
            scores, ids = ann.search(self._vectors, query, min(k, len(self._chunks)))
        return [(self._chunks[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def count(self) -> int:
        return self._vectors.ntotal

    def chunks(self, ids: list[int] | None = None) -> list[Chunk]:
        """All chunks, or those with these ids in that order."""
        return list(self._chunks.values()) if ids is None else [self._chunks[i] for i in ids]

    def vector_ids(self) -> list[int]:
        return ann.stored_ids(self._vectors).tolist()

    def info(self) -> dict:
        return {"engine": "faiss", "index": ann.describe(self._vectors), "dim": self.dim, "vectors": self.count()}


@dataclass
class StoredIndex:
    """A committed generation, opened for reading."""

    folder: Path | None  # a FAISS generation's folder; None for a Milvus collection
    manifest: Manifest
    store: VectorStore
    keyword_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per segment, see Segment


def current_folder(index_path: Path) -> Path:
    link = index_path / CURRENT
    if not link.exists():
        raise IndexMissing(f"在 {index_path} 没有找到索引；请先运行 `qa index build`")
    return link.resolve()


def read_manifest(where: "Path | Settings") -> Manifest:
    """The committed manifest of the FAISS folder at a path, or of the store a configuration names."""
    if isinstance(where, Settings):
        return backend_for(where).read_manifest()
    return _read_manifest(current_folder(where))


def current_generation(where: "Path | Settings") -> str:
    """Names the committed index; changes with every commit, so a reader knows when to reload."""
    if isinstance(where, Settings):
        return backend_for(where).generation()
    return str(current_folder(where))


def _read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.from_json((folder / MANIFEST).read_text("utf-8"))
    except (ValueError, TypeError, KeyError) as e:  # damaged, or written by an older version
        raise IndexMissing(f"索引清单 {folder / MANIFEST} 无法读取（{e}）；请运行 `qa index build --full`") from e


def open_index(where: "Path | Settings", attempts: int = 3) -> StoredIndex:
    """Load the committed generation; if a writer retires it while it loads, load the new one."""
    if isinstance(where, Settings):
        return backend_for(where).open()
    index_path = where
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
    store, keyword_rows = FaissStore(manifest.dim, manifest.chunk_count), []
    chunks, vectors = [], [np.zeros((0, manifest.dim), dtype=np.float32)]
    for doc_id, (name, _) in manifest.unique_documents().items():
        segment = read_segment(folder, doc_id, name)
        if len(segment.vectors) != len(segment.chunks):
            raise IndexCorrupt(
                f"索引中 {name} 有 {len(segment.chunks)} 段文字、{len(segment.vectors)} 个向量；请运行 `qa index build --full`"
            )
        chunks += segment.chunks
        vectors.append(segment.vectors)
        keyword_rows.append(segment.keyword_rows())
    store.add(chunks, np.vstack(vectors))  # at once: an IVF index trains on all of them
    return StoredIndex(folder=folder, manifest=manifest, store=store, keyword_rows=keyword_rows)


def read_segment(folder: Path, doc_id: str, doc_name: str) -> Segment:
    """A document's segment as stored; IndexCorrupt if a file cannot be read. Whether its parts
    agree in count is for the caller to check (`_load`, `qa index verify`)."""
    vectors_file, rows_file, tokens_file = _segment_files(folder, doc_id)
    try:
        with rows_file.open(encoding="utf-8") as rows:
            chunks = [chunk_from_row(doc_name, line) for line in rows]
        with np.load(tokens_file) as tokens:
            return Segment(doc_id, chunks, np.load(vectors_file), tokens["tokens"], tokens["counts"])
    except (OSError, ValueError, EOFError, TypeError, KeyError) as e:
        raise IndexCorrupt(f"索引中 {doc_name} 的文件已损坏（{e}）；请运行 `qa index build --full`") from e


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
    try:
        _stage(staging, previous, manifest, new_segments)
    except OSError as e:  # a full disk, say: the half-written generation goes, the committed one stays
        shutil.rmtree(staging, ignore_errors=True)
        raise IndexWriteError(f"写入索引失败（{e.strerror or e}）；原索引未改动：{index_path}") from e
    folder = index_path / name
    staging.rename(folder)
    link = index_path / f"{CURRENT}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(name)
    os.replace(link, index_path / CURRENT)
    _fsync(index_path)
    _remove_stale(index_path, keep={name, previous.name if previous else ""})
    return folder


def _stage(staging: Path, previous: Path | None, manifest: Manifest, new_segments: list[Segment]) -> None:
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


def _write_segment(folder: Path, segment: Segment) -> list[Path]:
    files = vectors, rows, tokens = _segment_files(folder, segment.doc_id)
    np.save(vectors, np.ascontiguousarray(segment.vectors, dtype=np.float32))
    with rows.open("w", encoding="utf-8") as out:
        for chunk in segment.chunks:
            out.write(chunk_row(chunk) + "\n")
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


class IndexBackend(Protocol):
    """Where committed indexes live, read and written whole: the one interface build, update,
    verify, migrate and the readers use, whatever the engine."""

    location: str  # for messages

    def generation(self) -> str: ...  # the committed index's name; IndexMissing if there is none

    def read_manifest(self) -> Manifest: ...

    def open(self) -> StoredIndex: ...

    def read_segment(self, doc_id: str, doc_name: str) -> Segment: ...  # one committed document

    def commit(self, manifest: Manifest, new_segments: list[Segment]) -> str:
        """Make `manifest` the committed index: its documents from `new_segments` or, unchanged,
        from the committed index. Readers see the old index or the new one."""
        ...

    def lock(self, timeout: float) -> AbstractContextManager: ...  # one writer at a time


class FolderBackend:
    """The default: generations of segment files in a folder, loaded into FAISS by each reader."""

    def __init__(self, path: Path):
        self.path, self.location = path, str(path)

    def generation(self) -> str:
        return current_generation(self.path)

    def read_manifest(self) -> Manifest:
        return read_manifest(self.path)

    def open(self) -> StoredIndex:
        return open_index(self.path)

    def read_segment(self, doc_id: str, doc_name: str) -> Segment:
        return read_segment(current_folder(self.path), doc_id, doc_name)

    def commit(self, manifest: Manifest, new_segments: list[Segment]) -> str:
        return str(write_generation(self.path, manifest, new_segments))

    def lock(self, timeout: float) -> AbstractContextManager:
        return writer_lock(self.path, timeout)


def backend_for(settings: Settings) -> IndexBackend:
    """The backend `settings.store` names (index/config.py, `parse_store`)."""
    location = settings.store_location
    if location.engine == "faiss":
        return FolderBackend(location.path)
    try:
        from index.milvus import MilvusBackend  # pymilvus loads only when a Milvus store is asked for
    except ImportError as e:
        raise StoreUnavailable(f"索引存储 {location.uri} 需要 pymilvus（{e}）：pip install -e '.[milvus]'") from e
    return MilvusBackend(location, token=os.environ.get(settings.milvus_token_env, ""), lock_dir=settings.index_path)
