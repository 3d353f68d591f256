"""`qa bench`: indexing throughput against the embedder's own, and vector search at 1k–1M chunks
with flat, IVF and HNSW FAISS indexes: latency, recall against flat, memory per million chunks.

Indexing: `qa index build` of a copy of the first files of a corpus (by default the CMRC trial
corpus in eval/corpora), timed whole, against `embed_passages` of the very texts it embedded;
then the same build with those vectors replayed instead of computed, which times the rest of the
pipeline (load, clean, split, tokenise, write) on its own, free of the embedder's noise.

Search: synthetic vectors, as many as a size asks for, shaped like the real passages just
embedded: a Gaussian with their mean and covariance gives topic centres (one per 20 chunks, the
size of a long article's chunks plus its near neighbours), and each chunk is its topic's centre
plus 0.7 of the same spread, normalised. On CMRC's e5-small vectors the mean cosine between
passages is 0.83 and to the nearest 0.94; here 0.77 and 0.87 in a sample of 2,000, so neighbours
are, if anything, harder to tell apart than real ones. Queries come from the same model. Every
index searches one query at a time (as `qa ask` does), k = 10; recall@10 counts the flat index's
ten found by the approximate one.
"""

import ctypes
import gc
import math
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index import Embedder, Settings, build_index, open_index
from index import ann
from index.load import discover

# The CMRC trial documents that eval/ ships (data only: nothing of eval is imported).
DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "eval" / "corpora" / "cmrc-trial"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
TOPIC_SIZE = 20  # chunks per synthetic topic
SPREAD = 0.7  # a chunk's distance from its topic centre, in units of the real vectors' spread
K = 10
RECALL_TARGET = 0.95
NPROBE_GRID = (4, 8, 16, 32, 64, 128, 256)
HNSW_M = 32
EF_GRID = (16, 32, 64, 128, 256)
BLOCK = 100_000  # synthetic vectors are made this many at a time, to bound temporary memory


@dataclass(frozen=True)
class Indexing:
    files: int
    chunks: int
    build_s: float  # median over rounds of `build_index` from nothing
    encode_s: float  # median over rounds of `embed_passages` on the same texts
    pipeline_s: float  # median over rounds of `build_index` with the vectors replayed, not computed
    build_over_encode: float  # median over rounds of build_s / encode_s − 1, each round's two side by side

    @property
    def build_rate(self) -> float:
        return self.chunks / self.build_s

    @property
    def encode_rate(self) -> float:
        return self.chunks / self.encode_s

    @property
    def overhead(self) -> float:
        """What the pipeline without the embedder costs, as a share of the embedder's time."""
        return self.pipeline_s / self.encode_s


@dataclass(frozen=True)
class SearchRow:
    chunks: int
    index: str  # flat, IVF256,nprobe=32, HNSW32,ef=64
    kind: str  # flat, ivf or hnsw
    build_s: float
    p50_ms: float
    p95_ms: float
    recall: float  # recall@10 against flat
    mib_per_million: float | None  # resident memory the index took, scaled to 10⁶ vectors
    chosen: bool = False  # what index/ann.py picks for this many chunks
    note: str = ""


@dataclass
class BenchReport:
    embedder: str
    dim: int
    indexing: Indexing
    rows_mib_per_million: float  # chunk rows and keyword tokens in Python, scaled to 10⁶ chunks
    search: list[SearchRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        indexing = asdict(self.indexing) | {
            "build_rate": self.indexing.build_rate,
            "encode_rate": self.indexing.encode_rate,
            "overhead": self.indexing.overhead,
        }
        return {
            "embedder": self.embedder,
            "dim": self.dim,
            "indexing": indexing,
            "rows_mib_per_million": self.rows_mib_per_million,
            "search": [asdict(r) for r in self.search],
            "skipped": self.skipped,
            "flat_max": ann.FLAT_MAX,
        }


def run(
    embedder: Embedder,
    corpus: Path = DEFAULT_CORPUS,
    files: int = 64,
    sizes: tuple[int, ...] = SIZES,
    queries: int = 100,
    hnsw_max: int = 100_000,
    rounds: int = 2,
    say: Callable[[str], None] = lambda line: None,
) -> BenchReport:
    indexing, real, rows = measure_indexing(embedder, corpus, files, rounds, say)
    report = BenchReport(embedder=embedder.name, dim=real.shape[1], indexing=indexing, rows_mib_per_million=rows)
    model = SyntheticVectors(real)
    for n in sizes:
        say(f"search at {n:,} chunks …")
        report.search += measure_search(model, n, queries, hnsw_max, report.skipped)
    return report


def measure_indexing(
    embedder: Embedder, corpus: Path, files: int, rounds: int, say: Callable[[str], None]
) -> tuple[Indexing, np.ndarray, float]:
    """Build an index of the corpus's first files, then embed the same texts with the embedder alone."""
    chosen = discover(corpus).files[:files]
    if not chosen:
        raise FileNotFoundError(f"没有可索引的文件：{corpus}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        docs = Path(tmp) / "docs"
        for path in chosen:
            target = docs / path.relative_to(corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
        settings = Settings(docs_dir=docs, home=Path(tmp), index_dir=Path(tmp) / "index").with_(lock_timeout=0)
        # A first pass, untimed, loads the model and lets the math libraries prepare their kernels
        # for these batch shapes; the timed rounds then alternate which of the two goes first.
        say("indexing: a first, untimed pass …")
        build_index(settings, embedder, progress=False)
        texts = [c.search_text for c in open_index(settings).store.chunks()]
        vectors = embedder.embed_passages(texts)
        replay = _Replay(embedder, texts, vectors)
        builds, encodes, pipelines = [], [], []
        steps = {
            "build": (builds, lambda: build_index(settings, embedder, progress=False)),
            "encode": (encodes, lambda: embedder.embed_passages(texts)),
        }
        for r in range(rounds):
            say(f"indexing round {r + 1}/{rounds} …")
            for name in ("build", "encode") if r % 2 == 0 else ("encode", "build"):
                times, step = steps[name]
                times.append(_timed(step))
            pipelines.append(_timed(lambda: build_index(settings, replay, progress=False)))
        open_index(settings)  # once untraced, so what stays cached is not counted
        tracemalloc.start()
        loaded = open_index(settings)  # rows and tokens are Python/numpy memory, traced
        rows_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del loaded
    indexing = Indexing(
        len(chosen),
        len(texts),
        statistics.median(builds),
        statistics.median(encodes),
        statistics.median(pipelines),
        statistics.median(b / e - 1 for b, e in zip(builds, encodes)),
    )
    return indexing, vectors, rows_bytes / len(texts) * 1e6 / 2**20


class _Replay:
    """Stands in for the embedder with the vectors it already gave: the build then times the rest."""

    def __init__(self, embedder: Embedder, texts: list[str], vectors: np.ndarray):
        self.name, self.dim, self.fingerprint = embedder.name, embedder.dim, embedder.fingerprint
        self._vectors = dict(zip(texts, vectors))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.array([self._vectors[t] for t in texts], dtype=np.float32).reshape(-1, self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        raise NotImplementedError("the replay only stands in for indexing")


class SyntheticVectors:
    """Unit vectors in topics, with the mean and covariance of real passages' vectors."""

    def __init__(self, real: np.ndarray, seed: int = 0):
        if len(real) < 2:
            raise ValueError("at least two real vectors are needed to shape synthetic ones")
        self.dim = real.shape[1]
        self.mean = real.mean(axis=0)
        cov = np.cov(real.T)
        # A little shrinkage keeps the covariance full rank when there are fewer passages than dimensions.
        cov = 0.9 * cov + 0.1 * np.trace(cov) / self.dim * np.eye(self.dim)
        values, vectors = np.linalg.eigh(cov)
        self.factor = (vectors * np.sqrt(np.clip(values, 0, None))).T.astype(np.float32)
        self.seed = seed

    def corpus_and_queries(self, n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, n])
        centres = self._gaussian(rng, max(1, n // TOPIC_SIZE))
        x = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, BLOCK):
            x[start : start + BLOCK] = self._points(rng, centres, min(BLOCK, n - start))
        return x, self._points(rng, centres, queries)

    def _gaussian(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mean + rng.standard_normal((n, self.dim), dtype=np.float32) @ self.factor

    def _points(self, rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
        x = centres[rng.integers(0, len(centres), n)] + SPREAD * (self._gaussian(rng, n) - self.mean)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)


def measure_search(model: SyntheticVectors, n: int, queries: int, hnsw_max: int, skipped: list[str]) -> list[SearchRow]:
    x, q = model.corpus_and_queries(n, queries)
    ids = np.arange(n, dtype=np.int64)
    chosen = ann.choose(n)
    rows = []

    flat, build_s, mib = _built(lambda: _filled(ann.make_index(model.dim, spec=ann.IndexSpec("flat")), x, ids), n)
    truth = flat.search(q, K)[1]
    p50, p95 = _latency(flat, q)
    rows.append(SearchRow(n, "flat", "flat", build_s, p50, p95, 1.0, mib, chosen.kind == "flat"))
    del flat

    spec = ann.ivf_spec(n)
    ivf, build_s, mib = _built(lambda: _filled(ann.make_index(model.dim, spec=spec), x, ids), n)
    sweep = {p: _recall(ivf, q, truth, nprobe=p) for p in NPROBE_GRID if p <= spec.nlist}
    ivf.nprobe = spec.nprobe
    p50, p95 = _latency(ivf, q)
    enough = next((p for p, r in sweep.items() if r >= RECALL_TARGET), None)
    note = f"nprobe for recall ≥ {RECALL_TARGET}: {enough or f'> {max(sweep)}'}"
    recall = sweep[spec.nprobe] if spec.nprobe in sweep else _recall(ivf, q, truth)
    rows.append(SearchRow(n, str(spec), "ivf", build_s, p50, p95, recall, mib, chosen == spec, note))
    del ivf

    if n <= hnsw_max:
        def hnsw_index():
            index = faiss.IndexHNSWFlat(model.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 40
            index.add(x)
            return index

        hnsw, build_s, mib = _built(hnsw_index, n)
        sweep = {}
        for ef in EF_GRID:
            hnsw.hnsw.efSearch = ef
            sweep[ef] = _recall(hnsw, q, truth)
            if sweep[ef] >= RECALL_TARGET:
                break
        hnsw.hnsw.efSearch = ef
        p50, p95 = _latency(hnsw, q)
        rows.append(SearchRow(n, f"HNSW{HNSW_M},ef={ef}", "hnsw", build_s, p50, p95, sweep[ef], mib))
        del hnsw
    else:
        skipped.append(f"HNSW at {n:,} (over --hnsw-max {hnsw_max:,}: slow to build on 2 cores, 17–65 s at 100k)")
    return rows


def _filled(index: faiss.Index, x: np.ndarray, ids: np.ndarray) -> faiss.Index:
    ann.train(index, x)
    index.add_with_ids(x, ids)
    return index


def _built(make: Callable[[], faiss.Index], n: int) -> tuple[faiss.Index, float, float | None]:
    """The index, seconds to build it, and the resident memory it keeps per 10⁶ vectors (MiB);
    None below 100k vectors, where the allocator's noise is larger than the index."""
    before = _rss()
    started = time.perf_counter()
    index = make()
    seconds = time.perf_counter() - started
    grown = _rss() - before
    return index, seconds, grown / n * 1e6 / 2**20 if n >= 100_000 else None


def _rss() -> int:
    """Resident bytes, after handing freed heap back to the system: otherwise an index built
    where the previous one was freed would seem to cost nothing."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the figure is rougher
        pass
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _latency(index: faiss.Index, q: np.ndarray) -> tuple[float, float]:
    for v in q[:5]:  # warm caches
        ann.search(index, v.reshape(1, -1), K)
    seconds = []
    for v in q:  # one at a time, as FaissStore.search does
        started = time.perf_counter()
        ann.search(index, v.reshape(1, -1), K)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return 1000 * statistics.median(seconds), 1000 * seconds[math.ceil(0.95 * len(seconds)) - 1]


def _recall(index: faiss.Index, q: np.ndarray, truth: np.ndarray, nprobe: int | None = None) -> float:
    if nprobe is not None:
        index.nprobe = nprobe
    found = index.search(q, K)[1]
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth)]))


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def report_markdown(report: BenchReport) -> str:
    i = report.indexing
    lines = [
        f"Indexing ({report.embedder}, {i.files} files, {i.chunks:,} chunks, median of the rounds):",
        "",
        "| | s | chunks/s |",
        "|---|---|---|",
        f"| embedder alone (`embed_passages`, same texts) | {i.encode_s:.2f} | {i.encode_rate:.1f} |",
        f"| `qa index build` (load, clean, split, embed, tokenise, write) | {i.build_s:.2f} | {i.build_rate:.1f} |",
        f"| the same build, vectors replayed (load, clean, split, tokenise, write) | {i.pipeline_s:.2f}"
        f" | {i.chunks / i.pipeline_s:.0f} |",
        "",
        f"The whole build takes {100 * i.build_over_encode:+.1f}% of the embedder's own time on the same texts"
        f" (median over rounds); without the embedding, the rest of it takes {100 * i.overhead:.1f}%.",
        "",
        f"Vector search, synthetic {report.dim}-dimensional vectors, one query at a time, k = {K}"
        f" (**bold**: what index/ann.py picks, flat up to {ann.FLAT_MAX:,} chunks):",
        "",
        "| chunks | index | build s | p50 ms | p95 ms | recall@10 vs flat | MiB per 1M chunks | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.search:
        name = f"**{r.index}**" if r.chosen else r.index
        mib = "—" if r.mib_per_million is None else f"{r.mib_per_million:,.0f}"
        lines.append(
            f"| {r.chunks:,} | {name} | {r.build_s:.2f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.recall:.3f} | {mib} | {r.note} |"
        )
    lines += ["", f"Chunk rows and keyword tokens (Python): {report.rows_mib_per_million:,.0f} MiB per 1M chunks."]
    lines += [f"Not measured: {s}" for s in report.skipped]
    return "\n".join(lines)
