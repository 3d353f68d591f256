"""The default engine: an `IndexBackend` (index/backend.py) on a folder of generations
(index/folder.py), each reader loading the committed one into FAISS (index/faiss_store.py)."""

from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from index import folder
from index.errors import REPAIR, IndexCorrupt, IndexMissing
from index.faiss_store import FaissStore
from index.integrity import segment_problems
from index.records import DocumentEntry, Manifest, Segment, StoredIndex

ATTEMPTS = 3  # loads tried while writers keep retiring the generation being loaded


class FolderBackend:
    """Generations of segment files in the folder `path`, loaded into FAISS by each reader."""

    def __init__(self, path: Path):
        self.path, self.location = path, str(path)

    def generation(self) -> str:
        return str(folder.current_folder(self.path))

    def read_manifest(self) -> Manifest:
        return folder.read_generation_manifest(folder.current_folder(self.path))

    def open(self) -> StoredIndex:
        """Load the committed generation; if a writer retires it while it loads, load the new one."""
        for _ in range(ATTEMPTS - 1):
            try:
                return load_generation(folder.current_folder(self.path))
            except FileNotFoundError:
                continue
        return load_generation(folder.current_folder(self.path))

    def read_segment(self, doc_id: str, doc_name: str) -> Segment:
        return folder.read_segment(folder.current_folder(self.path), doc_id, doc_name)

    def check_segment(self, doc_id: str, doc_name: str, entry: DocumentEntry, dim: int) -> list[str]:
        try:
            return folder.stored_segment_problems(folder.current_folder(self.path), doc_id, doc_name, entry, dim)
        except IndexMissing as e:
            return [str(e)]

    def strays(self) -> int:
        """Always 0: a generation holds only its manifest's segments; what a crashed writer left
        is a folder beside it that no reader opens, removed at the next commit."""
        return 0

    def commit(self, manifest: Manifest, new_segments: list[Segment]) -> str:
        return str(folder.write_generation(self.path, manifest, new_segments))

    def lock(self, timeout: float) -> AbstractContextManager:
        return folder.writer_lock(self.path, timeout)


def load_generation(generation: Path) -> StoredIndex:
    """A generation folder in memory, every segment checked against its manifest entry first: a
    damaged one is refused whole (IndexCorrupt), so a reader keeps the index it has."""
    manifest = folder.read_generation_manifest(generation)
    store, keyword_rows = FaissStore(manifest.dim, manifest.chunk_count), []
    chunks, vectors = [], [np.zeros((0, manifest.dim), dtype=np.float32)]
    for doc_id, (name, entry) in manifest.unique_documents().items():
        segment = folder.read_segment(generation, doc_id, name)
        problems = segment_problems(segment, name, entry, manifest.dim, files=folder.part_files(doc_id))
        if problems:
            raise IndexCorrupt(f"索引已损坏：{problems[0]}；{REPAIR}")
        chunks += segment.chunks
        vectors.append(segment.vectors)
        keyword_rows.append(segment.keyword_rows())
    store.add(chunks, np.vstack(vectors))  # at once: an IVF index trains on all of them
    return StoredIndex(manifest=manifest, store=store, keyword_rows=keyword_rows)
