"""Index stage: turns newsletter files into a stored, searchable index."""

from index.build import BuildReport, build_index, ensure_index, index_is_current, update_index
from index.config import Settings
from index.e5_convert import ensure_e5_model
from index.embed import Embedder, make_embedder
from index.load import Limits, Listing, LoadError, discover
from index.migrate import migrate_index
from index.records import Article, Chunk, Document, Paragraph
from index.store import (
    IndexBusy,
    IndexMissing,
    IndexWriteError,
    Manifest,
    StoredIndex,
    StoreUnavailable,
    current_generation,
    open_index,
    read_manifest,
)
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
    "IndexWriteError",
    "Limits",
    "Listing",
    "LoadError",
    "Manifest",
    "Paragraph",
    "Settings",
    "StoreUnavailable",
    "StoredIndex",
    "build_index",
    "current_generation",
    "discover",
    "ensure_e5_model",
    "ensure_index",
    "index_is_current",
    "make_embedder",
    "migrate_index",
    "open_index",
    "read_manifest",
    "update_index",
    "verify_index",
    "watch",
]
