"""Benchmark: adding one newsletter issue to archives of 1k, 10k and 100k chunks, against a full
rebuild of the same archive. A hash embedder isolates the store's own cost; the real embedder's
time for the new issue is printed beside it.

    python bench/update_cost.py [--sizes 1000,10000,100000] [--repeat 3]
"""

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index import Settings, build_index, make_embedder, update_index  # noqa: E402
from index.load import load_document  # noqa: E402
from index.split import split_document  # noqa: E402

SEED = ROOT / "seeds" / "000_4734283b9fcbc3a1.txt"
CHUNKS_PER_FILE = 30


class HashEmbedder:
    """Unit vectors from a hash of the text: costs next to nothing, so what is timed is the store."""

    name, dim, fingerprint = "bench/hash", 384, "bench-hash"

    def embed_passages(self, texts):
        return np.array([self.embed_query(t) for t in texts], dtype=np.float32).reshape(-1, self.dim)

    def embed_query(self, text):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)


def synthetic_archive(folder: Path, chunks: int) -> None:
    """Files of ~30 chunks of Chinese sentences drawn from the seed's own sentences."""
    sentences = [s + "。" for s in SEED.read_text("utf-8").replace("\n", "").split("。") if s]
    rng = random.Random(0)
    for n in range(max(1, chunks // CHUNKS_PER_FILE)):
        paragraphs = ["".join(rng.choices(sentences, k=6)) for _ in range(CHUNKS_PER_FILE)]
        (folder / f"archive-{n:05d}.txt").write_text("\n\n".join(paragraphs), "utf-8")


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(size: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docs = tmp / "docs"
        docs.mkdir()
        synthetic_archive(docs, size)
        settings = Settings(docs_dir=docs, home=tmp, index_dir=tmp / "index").with_(lock_timeout=0)
        embedder = HashEmbedder()
        rebuild = timed(lambda: build_index(settings, embedder, progress=False))
        chunks = update_index(settings, embedder, progress=False).chunks
        updates = []
        for r in range(repeat):
            shutil.copy(SEED, docs / f"new-issue-{r}.txt")
            # A new file each time: the same bytes would be a duplicate and cost nothing.
            (docs / f"new-issue-{r}.txt").write_text(SEED.read_text("utf-8") + f"\n第{r}期。", "utf-8")
            updates.append(timed(lambda: update_index(settings, embedder, progress=False)))
        return {"chunks": chunks, "rebuild": rebuild, "update": statistics.median(updates)}


def real_embedding_of_one_issue() -> tuple[int, float]:
    chunks = split_document(load_document(SEED, SEED.parent), 300, 50)
    embedder = make_embedder(Settings())
    embedder.embed_passages([chunks[0].text])  # load the model outside the timing
    return len(chunks), timed(lambda: embedder.embed_passages([c.text for c in chunks]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, real = real_embedding_of_one_issue()
    print(f"new issue: the seed, {n} chunks; real embedder ({Settings().indexing.embedder}) embeds it in {real:.2f} s\n")
    print(f"{'archive chunks':>15} {'full rebuild s':>15} {'add one issue s':>16} {'rebuild/update':>15} {'update + real embed s':>22}")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.repeat)
        print(
            f"{row['chunks']:>15,} {row['rebuild']:>15.2f} {row['update']:>16.3f}"
            f" {row['rebuild'] / row['update']:>14.0f}× {row['update'] + real:>22.2f}"
        )


if __name__ == "__main__":
    main()
