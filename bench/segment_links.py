"""Benchmark: what the next generation costs to carry unchanged segments over — hard links (what
`index/folder.py` does), plain copies, or reflinks where the file system has them — and what the
segment checksums cost: the check `qa index update` runs on every committed segment before it
links it, and the one a reader runs when it loads a generation.

    python bench/segment_links.py [--chunks 100000] [--files 1000]

A hash embedder stands in for the model: the store's own cost is what is measured.
"""

import argparse
import fcntl
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.update_cost import HashEmbedder, synthetic_archive  # noqa: E402
from index import Settings, build_index, open_index  # noqa: E402
import index.folder_backend  # noqa: E402
from index.backend import backend_for  # noqa: E402
from index.folder import SEGMENTS  # noqa: E402

FICLONE = 0x40049409  # linux/fs.h: share the source's blocks, copy on write


def reflink(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())


def carry_over(segments: Path, how) -> float:
    """Seconds to give a fresh folder every segment file of `segments`, `how` each one."""
    with tempfile.TemporaryDirectory(dir=segments.parent.parent) as tmp:
        started = time.perf_counter()
        for path in segments.iterdir():
            how(path, Path(tmp) / path.name)
        return time.perf_counter() - started


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docs = tmp / "docs"
        docs.mkdir()
        synthetic_archive(docs, args.chunks)
        settings = Settings(docs_dir=docs, home=tmp, index_dir=tmp / "index").with_(lock_timeout=0)
        started = time.perf_counter()
        build_index(settings, HashEmbedder(), progress=False)
        build = time.perf_counter() - started
        backend = backend_for(settings)
        manifest = backend.read_manifest()
        segments = settings.index_path / "current" / SEGMENTS
        size = sum(p.stat().st_size for p in segments.iterdir())
        print(f"{manifest.chunk_count:,} chunks in {len(manifest.documents):,} documents, segments {size / 2**20:.0f} MiB; built in {build:.1f} s\n")
        print(f"{'carry unchanged segments over':<34} {'median s':>9} {'extra disk MiB':>15}")
        print(f"{'hard links (today)':<34} {timed(lambda: carry_over(segments, os.link), args.repeat):>9.3f} {0:>15}")
        print(f"{'copies':<34} {timed(lambda: carry_over(segments, shutil.copyfile), args.repeat):>9.3f} {size / 2**20:>15.0f}")
        try:
            print(f"{'reflinks (FICLONE)':<34} {timed(lambda: carry_over(segments, reflink), args.repeat):>9.3f} {'shared':>15}")
        except OSError as e:
            print(f"{'reflinks (FICLONE)':<34} {'—':>9} {'not on this file system (' + (e.strerror or str(e)) + ')':>15}")

        def check_all():
            for doc_id, (name, entry) in manifest.unique_documents().items():
                assert not backend.check_segment(doc_id, name, entry, manifest.dim)

        print(f"\n{'segment checksums':<34} {'median s':>9}")
        print(f"{'update: check every segment':<34} {timed(check_all, args.repeat):>9.3f}")
        print(f"{'reader: load, segments checked':<34} {timed(lambda: open_index(settings), args.repeat):>9.3f}")
        checked, index.folder_backend.segment_problems = index.folder_backend.segment_problems, lambda *a, **k: []
        print(f"{'reader: load, unchecked (baseline)':<34} {timed(lambda: open_index(settings), args.repeat):>9.3f}")
        index.folder_backend.segment_problems = checked


if __name__ == "__main__":
    main()
