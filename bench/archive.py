"""Benchmark: an archive of 300 issues (eval/corpora/make_archive.py), each figure against a
baseline measured in the same run:

- building it (299 issues), in passages/s, against the embedder's raw encode rate;
- adding one issue (the 300th), against that full build;
- memory of one reader (a fresh process that opens the index and answers), against a reader of the
  seed's index;
- answer p50/p95 on the archive, against the seed set on the seed's index;
- period questions (FOLDER/periods.jsonl) answered from the right issue, and with the right
  figure: with the period handling of qa/period.py, against retrieval and the composer alone.

    python bench/archive.py [--issues 300] [--seed 2] [--first-year 1996] [--embedder e5-small] [--keep DIR]

The archive is written to a temporary folder (or DIR with --keep, to look at it afterwards).
Seed 1 (first year 2001) is the archive the period handling was developed on; the default, seed 2
from 1996, has other figures, dates, branches and question phrasings from the same templates.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.corpora.make_archive import write_archive  # noqa: E402
from index import Settings, build_index, make_embedder, open_index, update_index  # noqa: E402
from qa import Assistant  # noqa: E402
from qa.retrieve import RetrievalMode, Retriever  # noqa: E402

SEED_SET = ROOT / "eval" / "sets" / "seed.jsonl"
COMPOSER = "rules"

# A fresh process that opens an index and answers one question, then prints its peak memory (MiB).
READER = """
import resource, sys
from pathlib import Path
from index import Settings
from qa import Assistant
settings = Settings(docs_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])).with_(embedder=sys.argv[3])
Assistant(settings).answer(sys.argv[4], composer="rules")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def settings_for(docs: Path, index: Path, embedder: str) -> Settings:
    return Settings(docs_dir=docs, index_dir=index).with_(embedder=embedder, lock_timeout=0)


def reader_memory(settings: Settings, question: str) -> float:
    argv = [sys.executable, "-c", READER, str(settings.docs_dir), str(settings.index_path),
            settings.indexing.embedder, question]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def from_the_issue(answer, question: dict) -> tuple[bool, bool]:
    """Whether the answer cites the issue the question is about first, and shows its figure."""
    cited = Path(answer.citations[0].chunk.doc_name).name if answer.citations else ""
    return cited == question["doc"], any(a in answer.text for a in question["answers"])


def ask_all(assistant: Assistant, questions: list[dict]) -> tuple[list, list[float]]:
    """Each question's answer, and the seconds it took."""
    timings = [timed(lambda: assistant.answer(q["question"], composer=COMPOSER)) for q in questions]
    return [answer for answer, _ in timings], [took for _, took in timings]


def ask_without_periods(assistant: Assistant, questions: list[dict]) -> list[tuple[bool, bool]]:
    """The baseline: the same retrieval and composer, with no notion of an issue's date."""
    retriever = Retriever(open_index(assistant.settings), assistant.embedder)
    writer = assistant.composer(COMPOSER)
    k = assistant.settings.answering.top_k
    outcomes = []
    for q in questions:
        hits = retriever.search(q["question"], k, RetrievalMode.HYBRID)
        outcomes.append(from_the_issue(list(writer.compose(q["question"], hits))[-1], q))
    return outcomes


def share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--first-year", type=int, default=1996)
    parser.add_argument("--embedder", default=Settings().indexing.embedder)
    parser.add_argument("--keep", type=Path, help="write the archive and its index here and leave them")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="archive-bench-"))
    try:
        run(work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args) -> None:
    if work.exists():
        shutil.rmtree(work)
    questions = write_archive(work / "archive", args.issues, args.first_year, args.seed)
    docs = work / "archive" / "docs"
    newest = docs / next(q["doc"] for q in questions if q["kind"] == "newest")
    held_back = work / newest.name
    shutil.move(newest, held_back)  # built without the newest issue, which is then added
    settings = settings_for(docs, work / "index", args.embedder)
    embedder = make_embedder(settings)
    embedder.embed_passages(["预热"])  # load the model outside the timings

    built, build_s = timed(lambda: build_index(settings, embedder, progress=False))
    texts = [c.text for c in open_index(settings).store.chunks()][:256]
    _, encode_s = timed(lambda: embedder.embed_passages(texts))
    shutil.move(held_back, docs / newest.name)
    added, add_s = timed(lambda: update_index(settings, embedder, progress=False))

    seed = settings_for(ROOT / "seeds", work / "seed-index", args.embedder)
    build_index(seed, embedder, progress=False)
    seed_questions = [json.loads(line) for line in SEED_SET.read_text("utf-8").splitlines() if line.strip()]
    memory = {name: reader_memory(s, q) for name, s, q in
              (("seed", seed, seed_questions[0]["question"]), ("archive", settings, questions[0]["question"]))}

    archive = Assistant(settings, embedder)
    seed_reader = Assistant(seed, embedder)
    answers, on_s = ask_all(archive, questions)
    on = [from_the_issue(answer, q) for answer, q in zip(answers, questions)]
    off = ask_without_periods(archive, questions)
    _, seed_s = ask_all(seed_reader, seed_questions)

    print(f"archive: {args.issues} issues (seed {args.seed}, from {args.first_year}), {added.chunks} passages; "
          f"embedder {args.embedder}; composer {COMPOSER}; {len(questions)} period questions\n")
    rows = [
        ("build (299 issues)", f"{build_s:.1f} s, {built.chunks / build_s:.1f} passages/s",
         f"raw encode {len(texts) / encode_s:.1f} passages/s", f"{built.chunks / build_s / (len(texts) / encode_s):.2f}×"),
        ("add one issue", f"{add_s:.2f} s ({added.chunks_embedded} passages)", f"full build {build_s:.1f} s",
         f"{build_s / add_s:.0f}× faster"),
        ("memory of one reader", f"{memory['archive']:.0f} MiB", f"seed index {memory['seed']:.0f} MiB",
         f"+{memory['archive'] - memory['seed']:.0f} MiB"),
        ("answer p50 / p95", f"{1000 * statistics.median(on_s):.0f} / {1000 * percentile(on_s, 0.95):.0f} ms",
         f"seed set {1000 * statistics.median(seed_s):.0f} / {1000 * percentile(seed_s, 0.95):.0f} ms",
         f"{statistics.median(on_s) / statistics.median(seed_s):.2f}×"),
        ("period Qs: right issue", f"{share(o[0] for o in on):.3f}", f"no period handling {share(o[0] for o in off):.3f}", ""),
        ("period Qs: right figure", f"{share(o[1] for o in on):.3f}", f"no period handling {share(o[1] for o in off):.3f}", ""),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, width)))
    kinds = sorted({q["kind"] for q in questions})
    print("\nright issue by kind (with / without period handling):")
    for kind in kinds:
        picked = [(a, b) for q, a, b in zip(questions, on, off) if q["kind"] == kind]
        print(f"  {kind:<15} {len(picked):>3}  {share(a[0] for a, _ in picked):.3f} / {share(b[0] for _, b in picked):.3f}")


if __name__ == "__main__":
    main()
