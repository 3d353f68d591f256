"""The stored index: one segment of vectors and chunk rows per document, under a manifest,
committed as a whole new generation so the index on disk is always the old one or the new one.

Where it lives is the configuration's `store` (index/config.py): a folder of generations read
into FAISS (here, the default) or a Milvus collection (index/milvus.py). Both are an
`IndexBackend`; what a reader searches is a `VectorStore`; nothing above them knows which."""

import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
import zipfile
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
# A segment's parts, each one file in a FAISS generation: vectors, chunk rows, keyword tokens.
SEGMENT_PARTS = {"vectors": ".npy", "rows": ".jsonl", "tokens": ".tokens.npz"}
SEGMENT_FILES = tuple(SEGMENT_PARTS.values())
_PART_NAMES = {"vectors": "向量", "rows": "段落行", "tokens": "关键词"}
LOCK_FILE, OWNER_FILE = ".write.lock", ".write.owner"  # the writers' lock, and who holds it
# A unit vector's norm, give or take float32 rounding; anything further off was not written by an embedder.
_NORM_TOLERANCE = 1e-3
REPAIR = "请运行 `qa index update` 从原文件重新嵌入（或 `qa index build --full` 全部重建）"

_log = logging.getLogger(__name__)
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
    checksums: dict[str, str] = field(default_factory=dict)  # sha256 of each segment part (Segment.checksums)


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

    def checksums(self) -> dict[str, str]:
        return part_checksums(self.vectors, stored_rows(self.chunks), self.tokens, self.token_counts)


def stored_rows(chunks: list[Chunk]) -> bytes:
    """The chunk rows as stored: one JSON line each, every line ending in a newline."""
    return "".join(chunk_row(c) + "\n" for c in chunks).encode("utf-8")


def part_checksums(vectors: np.ndarray, rows: bytes, tokens: np.ndarray, counts: np.ndarray) -> dict[str, str]:
    """sha256 of each part of a segment in a fixed byte order — vectors as little-endian float32,
    rows as stored, token ids then counts — not of one engine's files: a FAISS folder (whose files
    hold exactly these bytes after the .npy header) and a Milvus collection holding the same
    segment agree, and `migrate` keeps them."""
    return {
        "vectors": hashlib.sha256(np.ascontiguousarray(vectors, dtype="<f4")).hexdigest(),
        "rows": hashlib.sha256(rows).hexdigest(),
        "tokens": hashlib.sha256(tokens.astype("<u8").tobytes() + counts.astype("<i8").tobytes()).hexdigest(),
    }


def segment_problems(
    segment: Segment, name: str, entry: DocumentEntry, dim: int, parts=tuple(SEGMENT_PARTS), files: dict | None = None
) -> list[str]:
    """What is wrong with a document's decoded segment, as sentences naming the part (and its
    file, given `files`): counts against the manifest, vectors finite and of unit length, ids,
    and each part's content against the checksum the manifest recorded when it was written."""
    chunks = segment.chunks
    problems = _part_problems(name, entry, dim, parts, files, segment.vectors, len(chunks), segment.tokens, segment.token_counts)
    if len({c.id for c in chunks}) != len(chunks):
        problems.append(f"{name}：段落编号重复")
    if any(c.doc_id != segment.doc_id for c in chunks):
        problems.append(f"{name}：段落属于别的文档")
    return problems or _checksum_problems(name, entry, parts, files, segment.checksums)


def stored_segment_problems(folder: Path, doc_id: str, name: str, entry: DocumentEntry, dim: int) -> list[str]:
    """`segment_problems` of a generation's files without decoding the rows into chunks: what
    `qa index update` runs on every segment before it links it into the next generation (at
    145k chunks 5.8 s decoded, README *Damage on disk*). Bytes that match the checksums are the
    bytes written, which decoded then."""
    vectors_file, rows_file, tokens_file = _segment_files(folder, doc_id)
    with _decoding(rows_file, name):
        rows = rows_file.read_bytes()
    with _decoding(tokens_file, name), np.load(tokens_file) as stored:
        tokens, counts = stored["tokens"], stored["counts"]
    with _decoding(vectors_file, name):
        vectors = np.load(vectors_file, mmap_mode="r", allow_pickle=False)
    files = part_files(doc_id)
    problems = _part_problems(name, entry, dim, tuple(SEGMENT_PARTS), files, vectors, rows.count(b"\n"), tokens, counts)
    return problems or _checksum_problems(name, entry, tuple(SEGMENT_PARTS), files, lambda: part_checksums(vectors, rows, tokens, counts))


def _part_label(key: str, files: dict | None) -> str:
    return f"{_PART_NAMES[key]}（{files[key]}）" if files else _PART_NAMES[key]


def _part_problems(name, entry, dim, parts, files, vectors, rows: int, tokens, counts) -> list[str]:
    """Each part's size against the manifest's count, and the vectors' values."""
    problems, count = [], entry.chunks
    if "vectors" in parts:
        label = _part_label("vectors", files)
        if vectors.shape != (count, dim):
            problems.append(f"{name}：{label}形状 {vectors.shape}，清单记录 {count}×{dim}")
        elif not np.isfinite(vectors).all():
            problems.append(f"{name}：{label}含有非有限数值（NaN 或无穷大）")
        elif count and np.abs(np.linalg.norm(vectors, axis=1) - 1).max() > _NORM_TOLERANCE:
            problems.append(f"{name}：{label}不是单位长度，不是嵌入模型写下的")
    if rows != count:
        problems.append(f"{name}：{_part_label('rows', files)}有 {rows} 行，清单记录 {count}")
    if len(counts) != count or int(counts.sum()) != len(tokens):
        problems.append(f"{name}：{_part_label('tokens', files)}记录 {len(counts)} 段，清单记录 {count}")
    return problems


def _checksum_problems(name, entry, parts, files, checksums) -> list[str]:
    """Each part against the checksum the manifest recorded; `checksums` computes them, once."""
    if not entry.checksums:
        return [f"{name}：清单没有记录校验和（旧版本的索引），需要重建"]
    actual = checksums()
    return [
        f"{name}：{_part_label(p, files)}与清单记录的校验和不符，内容已被改动或损坏"
        for p in parts
        if actual[p] != entry.checksums.get(p)
    ]


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
    """A generation in memory, every segment checked against its manifest entry first: a
    damaged one is refused whole (IndexCorrupt), so a reader keeps the index it has."""
    manifest = _read_manifest(folder)
    store, keyword_rows = FaissStore(manifest.dim, manifest.chunk_count), []
    chunks, vectors = [], [np.zeros((0, manifest.dim), dtype=np.float32)]
    for doc_id, (name, entry) in manifest.unique_documents().items():
        segment = read_segment(folder, doc_id, name)
        problems = segment_problems(segment, name, entry, manifest.dim, files=part_files(doc_id))
        if problems:
            raise IndexCorrupt(f"索引已损坏：{problems[0]}；{REPAIR}")
        chunks += segment.chunks
        vectors.append(segment.vectors)
        keyword_rows.append(segment.keyword_rows())
    store.add(chunks, np.vstack(vectors))  # at once: an IVF index trains on all of them
    return StoredIndex(folder=folder, manifest=manifest, store=store, keyword_rows=keyword_rows)


def read_segment(folder: Path, doc_id: str, doc_name: str) -> Segment:
    """A document's segment as stored; IndexCorrupt, naming the file, if one cannot be decoded.
    Whether its parts are intact is for `segment_problems` to say (`_load`, `qa index verify`)."""
    vectors_file, rows_file, tokens_file = _segment_files(folder, doc_id)
    with _decoding(rows_file, doc_name), rows_file.open(encoding="utf-8") as rows:
        chunks = [chunk_from_row(doc_name, line) for line in rows]
    with _decoding(tokens_file, doc_name), np.load(tokens_file) as tokens:
        token_ids, counts = tokens["tokens"], tokens["counts"]
    with _decoding(vectors_file, doc_name):
        vectors = np.load(vectors_file, allow_pickle=False)
    return Segment(doc_id, chunks, vectors, token_ids, counts)


@contextmanager
def _decoding(path: Path, doc_name: str):
    """Whatever a damaged file makes its decoder raise, as IndexCorrupt naming the file."""
    try:
        yield
    except (OSError, ValueError, EOFError, TypeError, KeyError, zipfile.BadZipFile) as e:
        shown, state = f"{path.parent.name}/{path.name}", "缺失" if isinstance(e, FileNotFoundError) else "已损坏"
        raise IndexCorrupt(f"索引文件 {shown}（{doc_name}）{state}（{type(e).__name__}: {e}）；{REPAIR}") from e


def _segment_files(folder: Path, doc_id: str) -> list[Path]:
    return [folder / SEGMENTS / f"{doc_id}{suffix}" for suffix in SEGMENT_FILES]


def part_files(doc_id: str) -> dict[str, str]:
    """Each part of a document's segment as a generation folder names its file."""
    return {part: f"{SEGMENTS}/{doc_id}{suffix}" for part, suffix in SEGMENT_PARTS.items()}


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
    np.save(vectors, np.ascontiguousarray(segment.vectors, dtype="<f4"))
    rows.write_bytes(stored_rows(segment.chunks))
    np.savez(tokens, tokens=segment.tokens.astype(np.uint64), counts=segment.token_counts.astype(np.int64))
    return files


@contextmanager
def writer_lock(index_path: Path, timeout: float = 0):
    """One writer at a time. A second one says (in the log) that it waits and for whom, waits
    `timeout` seconds, then fails with a clear message; a folder it may not write is said so."""
    lock = _acquire(index_path, timeout)
    owner = index_path / OWNER_FILE
    try:
        try:
            owner.write_text(_me(), "utf-8")
        except OSError:  # who holds the lock is a courtesy to those waiting, not a condition
            pass
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _acquire(index_path: Path, timeout: float) -> FileLock:
    try:
        index_path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(index_path / LOCK_FILE)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if timeout <= 0:
                raise
            _log.warning("索引 %s 正由另一个进程写入（%s），等待它完成（最多 %g 秒）……", index_path, _holder(index_path), timeout)
            lock.acquire(timeout=timeout)
        return lock
    except Timeout:
        raise IndexBusy(
            f"另一个进程（{_holder(index_path)}）正在写入索引 {index_path}，等待 {timeout:g} 秒后仍未完成，请稍后再试"
        ) from None
    except OSError as e:
        raise IndexWriteError(
            f"无法写入索引目录 {index_path}（{e.strerror or e}）：请检查它的权限，或用 --index-dir 指定可写的目录"
        ) from e


def _me() -> str:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200] if sys.argv and sys.argv[0] else "python"
    return f"进程 {os.getpid()}，{command}，{time.strftime('%H:%M:%S')} 开始"


def _holder(index_path: Path) -> str:
    try:
        return (index_path / OWNER_FILE).read_text("utf-8").strip() or "未知进程"
    except (OSError, UnicodeDecodeError):
        return "未知进程"


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

    def check_segment(self, doc_id: str, doc_name: str, entry: DocumentEntry, dim: int) -> list[str]:
        """What is wrong with one committed document's stored segment; [] when it is intact."""
        ...

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

    def check_segment(self, doc_id: str, doc_name: str, entry: DocumentEntry, dim: int) -> list[str]:
        try:
            return stored_segment_problems(current_folder(self.path), doc_id, doc_name, entry, dim)
        except IndexMissing as e:
            return [str(e)]

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
