"""Benchmark: the index on milvus-lite against FAISS, and Milvus's own BM25 against the local
keyword index (qa/keyword.py) on the same tokens.

Keyword side: every chunk's stored token ids go into a milvus-lite collection as words (hex), under
a BM25 Function with the standard analyzer and our k1/b, so Milvus scores exactly our tokens; the
questions are tokenised as `qa` does. Measured as one segment, as several (how incremental updates
leave a collection), and with k1/b given the way pymilvus documents (flattened). Store side: build,
opening a reader, dense search, with a hash embedder so what is timed is the store.

    python bench/milvus.py [--corpus DIR --set FILE] [--questions 300]
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymilvus import DataType, Function, FunctionType, MilvusClient  # noqa: E402

from eval import load_set  # noqa: E402
from eval.run import is_hit  # noqa: E402
from index import Settings, build_index, open_index  # noqa: E402
from index.config import parse_store  # noqa: E402
from index.milvus import release  # noqa: E402
from index.tokens import encode  # noqa: E402
from update_cost import HashEmbedder  # noqa: E402  (bench/, beside this script)
from qa.keyword import B, K1, KeywordIndex, question_tokens  # noqa: E402

CMRC = ROOT.parent / "shared" / "bench" / "cmrc-trial"


def words(ids) -> str:
    return " ".join(f"t{int(i):016x}" for i in ids)


def p95_of(seconds: list[float]) -> float:
    """The 95th percentile, nearest rank below (as bench/retrieval.py reports it)."""
    ordered = sorted(seconds)
    return ordered[int(0.95 * (len(ordered) - 1))]


def bm25_collection(client: MilvusClient, name: str, rows: list[dict], flush_every: int, nested: bool) -> None:
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("keywords", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["keywords"], output_field_names=["sparse"]))
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    bm25 = {"bm25_k1": K1, "bm25_b": B}
    indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"params": bm25} if nested else bm25)
    client.create_collection(name, schema=schema)
    client.create_index(name, indexes, sync=False)
    client.load_collection(name)
    for start in range(0, len(rows), flush_every):
        client.insert(name, rows[start : start + flush_every])
        client.flush(name)


def scores(ranked: dict[str, list], questions, chunks, latencies: dict[str, list]) -> dict:
    out = {}
    local = ranked["local"]
    for name, runs in ranked.items():
        ranks = []
        for q, hits in zip(questions, runs):
            if q.answerable:
                found = [n for n, i in enumerate(hits, 1) if is_hit(chunks[i], q)]
                ranks.append(found[0] if found else None)
        lat = latencies[name]
        out[name] = {
            "hit@1": round(sum(r == 1 for r in ranks) / len(ranks), 3),
            "hit@5": round(sum(r is not None for r in ranks) / len(ranks), 3),
            "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 3),
            "same top-5 as local": round(sum(a == b for a, b in zip(local, runs)) / len(runs), 3),
            "p50 ms": round(1000 * statistics.median(lat), 2),
            "p95 ms": round(1000 * p95_of(lat), 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CMRC / "corpus" if CMRC.exists() else ROOT / "seeds")
    parser.add_argument("--set", type=Path, default=CMRC / "questions.jsonl" if CMRC.exists() else ROOT / "eval/sets/seed.jsonl")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--segments", type=int, default=5, help="segments in the many-segments variant")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
    embedder = HashEmbedder()
    faiss_settings = Settings(docs_dir=args.corpus, home=tmp, index_dir=tmp / "index")
    uri = f"milvus://{tmp}/bench.db/chunks"
    milvus_settings = faiss_settings.with_(store=uri)
    try:
        started = time.perf_counter()
        build_index(faiss_settings, embedder, progress=False)
        built_faiss = time.perf_counter() - started
        started = time.perf_counter()
        build_index(milvus_settings, embedder, progress=False)
        built_milvus = time.perf_counter() - started
        opened = {}
        for name, settings in (("faiss", faiss_settings), ("milvus-lite", milvus_settings)):
            started = time.perf_counter()
            opened_index = open_index(settings)
            opened[name] = (opened_index, time.perf_counter() - started)
        index = opened["faiss"][0]
        chunks = {c.id: c for c in index.store.chunks()}
        questions = load_set(args.set)[: args.questions]
        print(f"{len(chunks)} chunks, {len(questions)} questions ({args.corpus})\n")

        print("| store | build s | open s | dense search p50 / p95 ms |\n|---|---|---|---|")
        for name, (opened_index, open_s) in opened.items():
            times = []
            for q in questions:
                query = embedder.embed_query(q.question)
                started = time.perf_counter()
                opened_index.store.search(query, 50)
                times.append(time.perf_counter() - started)
            build_s = built_faiss if name == "faiss" else built_milvus
            p50, p95 = 1000 * statistics.median(times), 1000 * p95_of(times)
            print(f"| {name} | {build_s:.2f} | {open_s:.3f} | {p50:.2f} / {p95:.2f} |")

        keyword = KeywordIndex.from_rows(index.keyword_rows)
        rows = []
        for ids, tokens, counts in index.keyword_rows:
            ends = np.cumsum(counts)
            rows += [{"id": int(i), "unused": [0.0, 0.0], "keywords": words(tokens[e - n : e])} for i, e, n in zip(ids, ends, counts)]
        client = MilvusClient(str(tmp / "bm25.db"))
        per_segment = -(-len(rows) // args.segments)
        variants = {
            "milvus BM25, 1 segment": (len(rows), True),
            f"milvus BM25, {args.segments} segments": (per_segment, True),
            "milvus BM25, k1/b flattened (ignored)": (len(rows), False),
        }
        for n, (name, (flush_every, nested)) in enumerate(variants.items()):
            bm25_collection(client, f"bm25_{n}", rows, flush_every, nested)
        ranked = {name: [] for name in ["local", *variants]}
        latencies = {name: [] for name in ranked}
        for q in questions:
            tokens = question_tokens(q.question)
            started = time.perf_counter()
            ranked["local"].append([i for i, _ in keyword.search(q.question, 5)])
            latencies["local"].append(time.perf_counter() - started)
            for n, name in enumerate(variants):
                started = time.perf_counter()
                found = client.search(f"bm25_{n}", data=[words(encode(tokens))], anns_field="sparse", limit=5) if tokens else [[]]
                latencies[name].append(time.perf_counter() - started)
                ranked[name].append([hit["id"] for hit in found[0]])
        print("\n| keyword retrieval | hit@1 | hit@5 | MRR | same top-5 as local | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|")
        for name, row in scores(ranked, questions, chunks, latencies).items():
            print(f"| {name} | " + " | ".join(str(v) for v in row.values()) + " |")
        client.close()
    finally:
        release(parse_store(uri))
        release(parse_store(f"milvus://{tmp}/bm25.db"))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
