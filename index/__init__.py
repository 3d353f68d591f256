"""Index stage: turns newsletter files into a stored, searchable index."""

from index.build import BuildReport, build_index, ensure_index, index_is_current
from index.config import Settings
from index.embed import Embedder, make_embedder
from index.load import LoadError
from index.records import Chunk, Document, Paragraph
from index.store import IndexBusy, IndexMissing, Manifest, StoredIndex, open_index, read_manifest

__all__ = [
    "BuildReport",
    "Chunk",
    "Document",
    "Embedder",
    "IndexBusy",
    "IndexMissing",
    "LoadError",
    "Manifest",
    "Paragraph",
    "Settings",
    "StoredIndex",
    "build_index",
    "ensure_index",
    "index_is_current",
    "make_embedder",
    "open_index",
    "read_manifest",
]
