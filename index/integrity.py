"""Whether a stored segment is the one written: its parts against the manifest's counts and
checksums, and its vectors' values. Every engine checks its segments with these."""

from collections.abc import Callable

import numpy as np

from index.records import DocumentEntry, Segment

# A segment's parts: vectors, chunk rows, keyword tokens (each a file in a FAISS generation).
PARTS = ("vectors", "rows", "tokens")
_PART_NAMES = {"vectors": "向量", "rows": "段落行", "tokens": "关键词"}
# A unit vector's norm, give or take float32 rounding; anything further off was not written by an embedder.
_NORM_TOLERANCE = 1e-3


def segment_problems(
    segment: Segment, name: str, entry: DocumentEntry, dim: int, parts=PARTS, files: dict | None = None
) -> list[str]:
    """What is wrong with a document's decoded segment, as sentences naming the part (and its
    file, given `files`): counts against the manifest, vectors finite and of unit length, ids,
    and each part's content against the checksum the manifest recorded when it was written."""
    chunks = segment.chunks
    problems = part_problems(name, entry, dim, parts, files, segment.vectors, len(chunks), segment.tokens, segment.token_counts)
    if len({c.id for c in chunks}) != len(chunks):
        problems.append(f"{name}：段落编号重复")
    if any(c.doc_id != segment.doc_id for c in chunks):
        problems.append(f"{name}：段落属于别的文档")
    return problems or checksum_problems(name, entry, parts, files, segment.checksums)


def part_problems(name, entry, dim, parts, files, vectors, rows: int, tokens, counts) -> list[str]:
    """Each part's size against the manifest's count, and the vectors' values."""
    problems, count = [], entry.chunks
    if "vectors" in parts:
        label = _part_label("vectors", files)
        if vectors.shape != (count, dim):
            problems.append(f"{name}：{label}形状 {vectors.shape}，清单记录 {count}×{dim}")
        elif not np.isfinite(vectors).all():
            problems.append(f"{name}：{label}含有非有限数值（NaN 或无穷大）")
        elif count and np.abs(np.linalg.norm(vectors, axis=1) - 1).max() > _NORM_TOLERANCE:
            problems.append(f"{name}：{label}不是单位长度，不是嵌入模型写下的")
    if rows != count:
        problems.append(f"{name}：{_part_label('rows', files)}有 {rows} 行，清单记录 {count}")
    if len(counts) != count or int(counts.sum()) != len(tokens):
        problems.append(f"{name}：{_part_label('tokens', files)}记录 {len(counts)} 段，清单记录 {count}")
    return problems


def checksum_problems(name, entry, parts, files, checksums: Callable[[], dict[str, str]]) -> list[str]:
    """Each part against the checksum the manifest recorded; `checksums` computes them, once."""
    if not entry.checksums:
        return [f"{name}：清单没有记录校验和（旧版本的索引），需要重建"]
    actual = checksums()
    return [
        f"{name}：{_part_label(p, files)}与清单记录的校验和不符，内容已被改动或损坏"
        for p in parts
        if actual[p] != entry.checksums.get(p)
    ]


def _part_label(key: str, files: dict | None) -> str:
    return f"{_PART_NAMES[key]}（{files[key]}）" if files else _PART_NAMES[key]
