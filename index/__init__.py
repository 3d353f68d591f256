"""Index stage: turns newsletter files into a stored, searchable index."""

from index.build import BuildReport, build_index, ensure_index, index_is_current, update_index
from index.config import Settings
from index.embed import Embedder, make_embedder
from index.load import LoadError
from index.records import Article, Chunk, Document, Paragraph
from index.store import IndexBusy, IndexMissing, Manifest, StoredIndex, current_folder, open_index, read_manifest
from index.verify import verify_index
from index.watch import watch

__all__ = [
    "Article",
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
    "current_folder",
    "ensure_index",
    "index_is_current",
    "make_embedder",
    "open_index",
    "read_manifest",
    "update_index",
    "verify_index",
    "watch",
]
