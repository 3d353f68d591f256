"""The index folder's format: generations of segment files under a manifest, committed whole by
switching the `current` link, with fsyncs so a crash leaves the old index or the new one; and the
writers' lock, which any engine's writers on this machine take in the index folder.

Everything here takes a Path: the index folder (`index_path`) or one generation's folder."""

import logging
import os
import shutil
import sys
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from index.errors import REPAIR, IndexBusy, IndexCorrupt, IndexMissing, IndexWriteError
from index.integrity import PARTS, checksum_problems, part_problems
from index.records import DocumentEntry, Manifest, Segment, chunk_from_row, part_checksums, stored_rows

CURRENT = "current"  # symlink to the committed generation folder
MANIFEST = "manifest.json"
SEGMENTS = "segments"
# A segment's parts (index/integrity.py), each one file in a generation: vectors, chunk rows, keyword tokens.
SEGMENT_PARTS = {"vectors": ".npy", "rows": ".jsonl", "tokens": ".tokens.npz"}
SEGMENT_FILES = tuple(SEGMENT_PARTS.values())
LOCK_FILE, OWNER_FILE = ".write.lock", ".write.owner"  # the writers' lock, and who holds it

_log = logging.getLogger(__name__)


def current_folder(index_path: Path) -> Path:
    """The committed generation's folder; IndexMissing if there is none."""
    link = index_path / CURRENT
    if not link.exists():
        raise IndexMissing(f"在 {index_path} 没有找到索引；请先运行 `qa index build`")
    return link.resolve()


def read_generation_manifest(folder: Path) -> Manifest:
    """The manifest of one generation folder."""
    try:
        return Manifest.from_json((folder / MANIFEST).read_text("utf-8"))
    except (ValueError, TypeError, KeyError) as e:  # damaged, or written by an older version
        raise IndexMissing(f"索引清单 {folder / MANIFEST} 无法读取（{e}）；请运行 `qa index build --full`") from e


def read_segment(folder: Path, doc_id: str, doc_name: str) -> Segment:
    """A document's segment as stored in a generation folder; IndexCorrupt, naming the file, if
    one cannot be decoded. Whether its parts are intact is for `segment_problems` to say."""
    vectors_file, rows_file, tokens_file = _segment_files(folder, doc_id)
    with _decoding(rows_file, doc_name), rows_file.open(encoding="utf-8") as rows:
        chunks = [chunk_from_row(doc_name, line) for line in rows]
    with _decoding(tokens_file, doc_name), np.load(tokens_file) as tokens:
        token_ids, counts = tokens["tokens"], tokens["counts"]
    with _decoding(vectors_file, doc_name):
        vectors = np.load(vectors_file, allow_pickle=False)
    return Segment(doc_id, chunks, vectors, token_ids, counts)


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
    problems = part_problems(name, entry, dim, PARTS, files, vectors, rows.count(b"\n"), tokens, counts)
    return problems or checksum_problems(name, entry, PARTS, files, lambda: part_checksums(vectors, rows, tokens, counts))


def part_files(doc_id: str) -> dict[str, str]:
    """Each part of a document's segment as a generation folder names its file."""
    return {part: f"{SEGMENTS}/{doc_id}{suffix}" for part, suffix in SEGMENT_PARTS.items()}


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
    fsync(index_path)
    remove_stale(index_path, keep={name, previous.name if previous else ""})
    return folder


def _stage(staging: Path, previous: Path | None, manifest: Manifest, new_segments: list[Segment]) -> None:
    (staging / SEGMENTS).mkdir(parents=True)
    fresh = {s.doc_id: s for s in new_segments}
    written = [staging / MANIFEST, staging / SEGMENTS, staging]
    for doc_id in manifest.unique_documents():
        if doc_id in fresh:
            written += write_segment(staging, fresh[doc_id])
        elif previous is None:
            raise ValueError(f"segment {doc_id} is neither new nor in a committed generation")
        else:
            for old, new in zip(_segment_files(previous, doc_id), _segment_files(staging, doc_id)):
                os.link(old, new)
    (staging / MANIFEST).write_text(manifest.to_json(), "utf-8")
    for path in written:  # hard links point at data that is already on disk
        fsync(path)


def write_segment(folder: Path, segment: Segment) -> list[Path]:
    """A segment's files in a generation folder (not yet synced); the files written."""
    files = vectors, rows, tokens = _segment_files(folder, segment.doc_id)
    np.save(vectors, np.ascontiguousarray(segment.vectors, dtype="<f4"))
    rows.write_bytes(stored_rows(segment.chunks))
    np.savez(tokens, tokens=segment.tokens.astype(np.uint64), counts=segment.token_counts.astype(np.int64))
    return files


def fsync(path: Path) -> None:
    """A file's or a folder's data and entries on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale(index_path: Path, keep: set[str]) -> None:
    """Drop older generations and what writers that crashed mid-way left behind."""
    for path in index_path.glob("gen-*"):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _current_or_none(index_path: Path) -> Path | None:
    try:
        return current_folder(index_path)
    except IndexMissing:
        return None


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
