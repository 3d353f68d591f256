"""Check a stored index for consistency and say exactly what is wrong."""

from index.backend import IndexBackend, backend_for
from index.build import PIPELINE, file_ids
from index.config import Settings
from index.embed import Embedder
from index.errors import IndexMissing
from index.records import Manifest
from index.tokens import TOKENIZER


def verify_index(settings: Settings, embedder: Embedder | None = None) -> list[str]:
    """Problems found, as sentences; an empty list means the index is whole and current."""
    try:
        backend = backend_for(settings)
        manifest = backend.read_manifest()
    except (IndexMissing, OSError) as e:
        return [str(e)]
    problems = _segment_problems(backend, manifest)
    if not problems:
        problems += _loaded_problems(backend)
    if embedder is not None and embedder.fingerprint != manifest.fingerprint:
        problems.append(f"索引由 {manifest.embedder}（{manifest.fingerprint}）构建，当前模型是 {embedder.name}（{embedder.fingerprint}）")
    if manifest.tokenizer != TOKENIZER:
        problems.append(f"索引的关键词切分为 {manifest.tokenizer}，当前为 {TOKENIZER}；需要重建")
    if manifest.pipeline != PIPELINE:
        problems.append(f"索引由处理流程 {manifest.pipeline} 构建，当前为 {PIPELINE}；需要重建")
    problems += _file_problems(settings, manifest)
    return problems


def _segment_problems(backend: IndexBackend, manifest: Manifest) -> list[str]:
    """Each document's segment against its manifest entry and checksums (`check_segment`)."""
    problems = []
    for doc_id, (name, entry) in manifest.unique_documents().items():
        problems += backend.check_segment(doc_id, name, entry, manifest.dim)
    return problems


def _loaded_problems(backend: IndexBackend) -> list[str]:
    index = backend.open()
    vector_ids = set(index.store.vector_ids())
    row_ids = {c.id for c in index.store.chunks()}
    problems = []
    if len(vector_ids) != len(row_ids) or index.store.count() != index.manifest.chunk_count:
        problems.append(f"向量 {index.store.count()} 个，段落 {len(row_ids)} 行，清单记录 {index.manifest.chunk_count} 个")
    if vector_ids != row_ids:
        problems.append(f"向量与段落的编号不一致：{len(vector_ids ^ row_ids)} 个只在一边")
    strays = backend.strays()
    if strays:
        problems.append(f"存储中有 {strays} 个段落不属于清单记录的任何文档（中断的写入留下的），下次提交更新时清除")
    return problems


def _file_problems(settings: Settings, manifest: Manifest) -> list[str]:
    on_disk = file_ids(settings)
    indexed = {name: entry.id for name, entry in manifest.documents.items()} | manifest.skipped
    gone = set(indexed) - set(on_disk)
    problems = [f"新文件尚未索引：{n}" for n in sorted(set(on_disk) - set(indexed))]
    problems += [f"文件已删除但仍在索引中：{n}" for n in sorted(gone - set(manifest.skipped))]
    problems += [f"跳过记录中的文件已不在目录中：{n}（下次更新时清除）" for n in sorted(gone & set(manifest.skipped))]
    problems += [f"文件已修改，索引是旧内容：{n}" for n in sorted(set(on_disk) & set(indexed)) if on_disk[n] != indexed[n]]
    return problems
