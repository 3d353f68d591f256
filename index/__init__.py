"""Index stage: turns newsletter files into a stored, searchable index."""

from index.backend import current_generation, open_index, read_manifest
from index.build import BuildReport, build_index, ensure_index, index_is_current, update_index
from index.config import Settings
from index.e5_convert import ensure_e5_model
from index.embed import Embedder, make_embedder
from index.errors import IndexBusy, IndexMissing, IndexWriteError, StoreUnavailable
from index.formats import TABLE_CELL, TABLE_HEADER
from index.issue import Issue, issues_by_date, sidecar_name
from index.load import SUPPORTED_SUFFIXES, Limits, Listing, LoadError, discover, file_id, parse_document, read_file
from index.migrate import migrate_index
from index.onnx_embed import exported_graph, open_session
from index.records import TABLE_PREFIX, Article, Chunk, Document, Manifest, Paragraph, StoredIndex
from index.verify import verify_index
from index.watch import watch

__all__ = [
    "SUPPORTED_SUFFIXES",
    "TABLE_CELL",
    "TABLE_HEADER",
    "TABLE_PREFIX",
    "Article",
    "BuildReport",
    "Chunk",
    "Document",
    "Embedder",
    "IndexBusy",
    "Issue",
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
    "exported_graph",
    "file_id",
    "ensure_e5_model",
    "ensure_index",
    "index_is_current",
    "issues_by_date",
    "make_embedder",
    "migrate_index",
    "open_index",
    "open_session",
    "parse_document",
    "read_file",
    "read_manifest",
    "sidecar_name",
    "update_index",
    "verify_index",
    "watch",
]
