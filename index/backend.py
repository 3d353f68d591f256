"""Where the stored index lives, behind one interface: each committed index is one manifest and
one segment per document (index/records.py), committed as a whole, so readers see the old index
or the new one.

The configuration's `store` (index/config.py) picks the engine: a folder of generations read into
FAISS (index/folder_backend.py, the default) or a Milvus collection (index/milvus.py). Both are an
`IndexBackend`; what a reader searches is a `VectorStore`; nothing above them knows which."""

import os
from contextlib import AbstractContextManager
from typing import Protocol

from index.config import Settings
from index.errors import StoreUnavailable
from index.folder_backend import FolderBackend
from index.records import DocumentEntry, Manifest, Segment, StoredIndex, VectorStore

__all__ = ["IndexBackend", "VectorStore", "backend_for", "current_generation", "open_index", "read_manifest"]


class IndexBackend(Protocol):
    """Where committed indexes live, read and written whole: the one interface build, update,
    verify, migrate and the readers use, whatever the engine. Every method means the same on
    every engine; "the committed index" is the one the last commit named."""

    location: str  # for messages

    def generation(self) -> str:
        """The committed index's name; it changes with every commit, so a reader knows when to
        reload. IndexMissing if there is none."""
        ...

    def read_manifest(self) -> Manifest:
        """The committed index's manifest; IndexMissing if there is none or it cannot be read."""
        ...

    def open(self) -> StoredIndex:
        """The committed index for reading, its rows and tokens checked (IndexCorrupt if damaged).
        Its store's `count()` is that index's vectors only (see `VectorStore.count`)."""
        ...

    def read_segment(self, doc_id: str, doc_name: str) -> Segment:
        """One committed document's segment, vectors included."""
        ...

    def check_segment(self, doc_id: str, doc_name: str, entry: DocumentEntry, dim: int) -> list[str]:
        """What is wrong with one committed document's stored segment; [] when it is intact."""
        ...

    def strays(self) -> int:
        """Chunk rows stored that no document of the committed manifest owns (a writer between
        steps, or one that crashed, left them; the next commit removes them). A reader never
        sees them; `qa index verify` reports them."""
        ...

    def commit(self, manifest: Manifest, new_segments: list[Segment]) -> str:
        """Make `manifest` the committed index: its documents from `new_segments` or, unchanged,
        from the committed index. Readers see the old index or the new one. Returns its name."""
        ...

    def lock(self, timeout: float) -> AbstractContextManager:
        """One writer at a time: IndexBusy after `timeout` seconds."""
        ...


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


def read_manifest(settings: Settings) -> Manifest:
    """The committed manifest of the store the configuration names."""
    return backend_for(settings).read_manifest()


def current_generation(settings: Settings) -> str:
    """Names the committed index; changes with every commit, so a reader knows when to reload."""
    return backend_for(settings).generation()


def open_index(settings: Settings) -> StoredIndex:
    """The committed index of the store the configuration names, loaded for reading."""
    return backend_for(settings).open()
