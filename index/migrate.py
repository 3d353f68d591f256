"""Copy a committed index into another store (a FAISS folder, a Milvus collection) without
embedding again: the same manifest, chunk rows, vectors and keyword tokens, committed whole."""

from dataclasses import dataclass, replace

from index.config import Settings, parse_store
from index.backend import backend_for


@dataclass(frozen=True)
class MigrationReport:
    source: str
    target: str
    documents: int
    chunks: int
    generation: str  # the target's new committed generation


def migrate_index(settings: Settings, to: str) -> MigrationReport:
    """Copy the index `settings` names into the store `to` names (`Settings.store`'s forms). An
    index already there is replaced in one commit; readers of it see the old one or the copy."""
    target_settings = replace(settings, store=to)
    if parse_store(to).engine == "faiss":
        target_settings = replace(target_settings, index_dir=None)  # faiss://PATH names the folder itself
    source, target = backend_for(settings), backend_for(target_settings)
    if settings.store_location == target_settings.store_location:
        raise ValueError(f"源和目标是同一个索引：{source.location}")
    manifest = source.read_manifest()
    segments = []
    for doc_id, (name, entry) in manifest.unique_documents().items():
        segment = source.read_segment(doc_id, name)
        if len(segment.chunks) != entry.chunks or segment.vectors.shape != (entry.chunks, manifest.dim):
            raise ValueError(
                f"源索引中 {name} 不完整（{len(segment.chunks)} 段，清单记录 {entry.chunks}）；请先运行 `qa index verify`"
            )
        segments.append(segment)
    with target.lock(settings.indexing.lock_timeout):
        generation = target.commit(manifest, segments)
    return MigrationReport(source.location, target.location, len(manifest.documents), manifest.chunk_count, generation)
