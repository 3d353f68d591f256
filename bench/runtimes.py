"""Benchmark: the e5 model's runtimes side by side in one run — torch (sentence-transformers), ONNX
Runtime float32 and ONNX Runtime int8 (index/onnx_embed.py) — and a cold `qa ask` with each.

For each runtime, in a process of its own (so that its imports, load and memory are its own):
- load: importing what it needs and loading the model, then the first query;
- query p50: one question at a time, as `qa ask` and the chat embed them;
- passages/s: encoding the seed's and the CMRC trial's chunks as indexing does (batches of 32);
- cosine to torch's vectors, on the same passages and questions: the lowest and the median.
Then `qa ask` as a fresh process on the seed index (built first, outside the timings), the median
of --asks runs, with each runtime as the query encoder.

    python bench/runtimes.py [--passages 256] [--queries 30] [--asks 3]

The baseline is torch, measured in the same run. Machines are shared: medians, and ratios to it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNTIMES = {"e5-small": "torch (sentence-transformers)", "e5-small-onnx": "ONNX Runtime float32", "e5-small-onnx-int8": "ONNX Runtime int8"}
BASELINE = "e5-small"
QUESTION = "上半年代销工银瑞信基金多少？"

# One runtime in a fresh process: load, queries, passages; prints JSON and saves its vectors.
CHILD = """
import json, resource, statistics, sys, time
started = time.perf_counter()
import numpy as np
from index import Settings, make_embedder
name, texts_file, questions_file, out = sys.argv[1:5]
embedder = make_embedder(Settings().with_(embedder=name))
embedder.embed_query("预热")
loaded = time.perf_counter() - started
texts = json.loads(open(texts_file, encoding="utf-8").read())
questions = json.loads(open(questions_file, encoding="utf-8").read())
seconds = []
for q in questions:
    t = time.perf_counter(); embedder.embed_query(q); seconds.append(time.perf_counter() - t)
t = time.perf_counter(); passages = embedder.embed_passages(texts); encode = time.perf_counter() - t
np.save(out + ".passages.npy", passages)
np.save(out + ".queries.npy", np.stack([embedder.embed_query(q) for q in questions]))
print(json.dumps({"load_s": loaded, "query_ms": 1000 * statistics.median(seconds), "passages_per_s": len(texts) / encode,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def sample(count: int) -> tuple[list[str], list[str]]:
    """Chunks of the seed and the CMRC trial corpus, as indexing splits them, and questions."""
    from index import Settings, parse_document
    from index.split import split_document

    texts: list[str] = []
    for folder in (ROOT / "seeds", ROOT / "eval" / "corpora" / "cmrc-trial"):
        for path in sorted(folder.glob("*.txt")):
            doc = parse_document(path.read_bytes(), path, folder)
            texts += [c.search_text for c in split_document(doc, Settings().indexing.chunk_size, Settings().indexing.chunk_overlap)]
            if len(texts) >= count:
                break
    lines = (ROOT / "eval" / "sets" / "seed.jsonl").read_text("utf-8").splitlines()
    return texts[:count], [json.loads(line)["question"] for line in lines if line.strip()]


def run_child(name: str, texts: Path, questions: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, name, str(texts), str(questions), str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_asks(name: str, docs: Path, index: Path, count: int) -> float:
    """The median wall time of `qa ask` as a fresh process."""
    env = {**os.environ, "QA_EMBEDDER": name}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("qa")), "ask", QUESTION, "--docs", str(docs), "--index-dir", str(index)],
                       env=env, capture_output=True, check=True, timeout=600)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    import numpy as np

    from index import Settings, build_index, make_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--asks", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-runtimes-"))
    texts, questions = sample(args.passages)
    questions = questions[: args.queries]
    (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
    (work / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), "utf-8")
    for name in RUNTIMES:  # exports made once, outside the timings
        make_embedder(Settings().with_(embedder=name)).embed_query("预热")
    figures = {name: run_child(name, work / "texts.json", work / "questions.json", work / name) for name in RUNTIMES}

    indexes = {}
    for name in RUNTIMES:  # int8 has its own vectors, so its own index; float32 shares torch's
        settings = Settings(docs_dir=ROOT / "seeds", index_dir=work / f"index-{name}").with_(embedder=name)
        build_index(settings, make_embedder(settings), progress=False)
        indexes[name] = settings.index_dir
    for name in RUNTIMES:
        figures[name]["ask_s"] = cold_asks(name, ROOT / "seeds", indexes[name], args.asks)

    base_p, base_q = np.load(work / f"{BASELINE}.passages.npy"), np.load(work / f"{BASELINE}.queries.npy")
    print(f"{len(texts)} passages (seed and CMRC trial chunks), {len(questions)} questions; load average {os.getloadavg()[0]:.2f}\n")
    header = ("runtime", "load s", "query p50 ms", "passages/s", "× torch", "cosine to torch min / median", "peak MiB", "cold qa ask s")
    rows = [header]
    for name, label in RUNTIMES.items():
        f = figures[name]
        if "error" in f:
            rows.append((label, f"failed: {f['error']}", *[""] * 6))
            continue
        cos = np.concatenate([(np.load(work / f"{name}.passages.npy") * base_p).sum(1), (np.load(work / f"{name}.queries.npy") * base_q).sum(1)])
        rows.append((label, f"{f['load_s']:.2f}", f"{f['query_ms']:.1f}", f"{f['passages_per_s']:.1f}",
                     f"{f['passages_per_s'] / figures[BASELINE]['passages_per_s']:.2f}×",
                     f"{cos.min():.6f} / {np.median(cos):.6f}", f"{f['peak_mib']:.0f}", f"{f['ask_s']:.2f}"))
    width = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, width)))


if __name__ == "__main__":
    main()
