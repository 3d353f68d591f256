"""Which FAISS index holds the vectors, chosen by how many there are (figures: `qa bench`, README)."""

import math
from dataclasses import dataclass

import faiss
import numpy as np

# Exact search while it stays cheap, IVF above. `qa bench` on the shared 2-core machine (README,
# Benchmarks), one query at a time on one thread, p50 / p95: flat took 1.7 / 1.9 ms at 30k
# chunks, 8.7 / 9.6 at 100k (11.9 / 19.9 in a run on a busier machine), 58 / 64 at 1M. So flat up
# to 50k, where it stays well under 10 ms — a third of the 30 ms answer target, most of which the
# query embedding takes — even when the machine is busy; above, IVF took 2.6 ms at 100k and
# 11.6 at 1M with recall@10 against flat ≥ 0.95. HNSW was measured too and not chosen: FAISS's
# HNSW took 17 s to build at 100k against
# IVF's 0.4 — a cost paid each time a generation is opened, since the store is rebuilt from its
# segments — for the same memory (~1.7 GB per million chunks; flat 1.5).
FLAT_MAX = 50_000
# Points per list that k-means trains on: faiss warns below 39; more makes opening slower.
TRAIN_PER_LIST = 40


@dataclass(frozen=True)
class IndexSpec:
    """A FAISS index configuration: exact ("flat") or inverted lists ("ivf", nlist, nprobe)."""

    kind: str
    nlist: int = 0
    nprobe: int = 0

    def __str__(self) -> str:
        return "flat" if self.kind == "flat" else f"IVF{self.nlist},nprobe={self.nprobe}"


def choose(n: int) -> IndexSpec:
    """The index for n vectors: flat up to FLAT_MAX, IVF above."""
    return IndexSpec("flat") if n <= FLAT_MAX else ivf_spec(n)


def ivf_spec(n: int, nprobe: int = 0) -> IndexSpec:
    """IVF with about √n lists (a power of two), so each list holds about √n vectors, probing
    4·√nlist of them (rounded up to a power of two): the fewest lists that reached recall@10 ≥ 0.95
    against flat in `qa bench` were 32 of 128 at 30k chunks, 64 of 256 at 100k, 128 of 512 at
    300k and 128 of 1,024 at 1M (synthetic vectors fitted to real e5-small passages)."""
    nlist = 2 ** max(1, round(math.log2(math.sqrt(max(n, 4)))))
    return IndexSpec("ivf", nlist, min(nlist, nprobe or 2 ** math.ceil(math.log2(4 * math.sqrt(nlist)))))


def make_index(dim: int, n: int = 0, spec: IndexSpec | None = None) -> faiss.Index:
    """An empty index over inner product that takes 64-bit ids; IVF ones need `train` first."""
    spec = spec or choose(n)
    if spec.kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    # IVF stores the caller's ids itself and deletes by them; an IDMap around it would not
    # (IndexIDMap renumbers after a removal, IVF's lists keep the old numbers).
    index = faiss.index_factory(dim, f"IVF{spec.nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    index.nprobe = spec.nprobe
    return index


def train(index: faiss.Index, vectors: np.ndarray) -> None:
    """Train an untrained (IVF) index on an even sample of `vectors`; nothing to do otherwise."""
    if index.is_trained:
        return
    nlist = faiss.extract_index_ivf(index).nlist
    if len(vectors) < nlist:
        raise ValueError(f"an IVF index of {nlist} lists needs at least {nlist} vectors to train, got {len(vectors)}")
    sample = np.ascontiguousarray(vectors[:: max(1, len(vectors) // (TRAIN_PER_LIST * nlist))], dtype=np.float32)
    clustering = faiss.extract_index_ivf(index).cp
    # Only a small index trains on fewer points than faiss asks for; it would just say so on stderr.
    clustering.min_points_per_centroid = min(clustering.min_points_per_centroid, len(sample) // nlist)
    index.train(sample)


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`index.search` on one thread. A question is one query, and on the 2-core machine shared
    with other work, FAISS's two OpenMP threads waiting for each other made a flat search of 10k
    vectors take 16 ms instead of 0.3 (100k: 40 instead of 6). The setting is per thread."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(threads)


def stored_ids(index: faiss.Index) -> np.ndarray:
    """The ids of every vector the index holds, in no particular order."""
    if isinstance(index, faiss.IndexIDMap):  # IndexIDMap2 derives from it
        return faiss.vector_to_array(index.id_map)
    ivf = faiss.extract_index_ivf(index)
    lists = ivf.invlists
    found = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(ivf.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def describe(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexIDMap):
        return "IndexIDMap2(IndexFlatIP)"
    ivf = faiss.extract_index_ivf(index)
    return f"IndexIVFFlat(nlist={ivf.nlist}, nprobe={ivf.nprobe}, inner product)"
