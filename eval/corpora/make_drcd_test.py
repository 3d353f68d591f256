"""Build the DRCD test corpus and question set for `qa eval`.

Reads DRCD test (SQuAD v1 JSON, simplified Chinese; see `../shared/bench/drcd/README.md`) and
writes, in the same shape as `cmrc-trial/` and `eval/sets/cmrc-trial.jsonl`:

- `eval/corpora/drcd-test/NNNN.txt`: one file per paragraph, in source order: the article
  title, a blank line, the paragraph text exactly, a final newline.
- `eval/sets/drcd-test.jsonl`: one JSON object per question, in source order: `id`,
  `question`, `answers` (distinct answer texts, first first), `answer_offsets` (where each
  answer starts in the document file), `evidence` (the sentence(s) of the paragraph holding the
  first answer), `doc`, `context_id`, `title`.

Every answer is checked to occur in its document file at its offset; any that does not is
reported and its question left out.

Run from anywhere:

    python eval/corpora/make_drcd_test.py [--source PATH]

PATH defaults to `../shared/bench/drcd/drcd_test.json`, relative to the repository root.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO.parent / "shared" / "bench" / "drcd" / "drcd_test.json"
CORPUS_DIR = REPO / "eval" / "corpora" / "drcd-test"
SET_FILE = REPO / "eval" / "sets" / "drcd-test.jsonl"

# A sentence runs up to 。！？； (or an ASCII ";", which some paragraphs use the same way), with
# any closing quotes or brackets right after it; the same cut as the cmrc-trial evidence.
SENTENCE = re.compile(r"[^。！？；;]*(?:[。！？；;]+[”’」』）)]*|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in SENTENCE.finditer(text) if m.end() > m.start()]


def evidence(context: str, start: int, end: int) -> str:
    """The sentence(s) of `context` covering [start, end), stripped of outer whitespace."""
    spans = sentence_spans(context)
    first = next(a for a, b in spans if a <= start < b)
    last = next(b for a, b in spans if a < end <= b)
    return context[first:last].strip()


def build(source: Path) -> tuple[list[tuple[str, str]], list[dict], list[str]]:
    """Return (documents as (file name, text), question records, problems)."""
    data = json.loads(source.read_text(encoding="utf-8"))["data"]
    docs: list[tuple[str, str]] = []
    records: list[dict] = []
    problems: list[str] = []
    for article in data:
        title = article["title"].strip()
        for paragraph in article["paragraphs"]:
            name = f"{len(docs):04d}.txt"
            context = paragraph["context"]
            head = f"{title}\n\n"
            text = f"{head}{context}\n"
            docs.append((name, text))
            for qa in paragraph["qas"]:
                answers: list[str] = []
                offsets: list[int] = []
                for answer in qa["answers"]:
                    if answer["text"] in answers:
                        continue
                    answers.append(answer["text"])
                    offsets.append(len(head) + answer["answer_start"])
                wrong = [a for a, o in zip(answers, offsets) if text[o : o + len(a)] != a]
                if not answers or wrong:
                    problems.append(f"{qa['id']} ({name}): answer not at its offset: {wrong or 'none'}")
                    continue
                start = offsets[0] - len(head)
                records.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "answers": answers,
                        "answer_offsets": offsets,
                        "evidence": evidence(context, start, start + len(answers[0])),
                        "doc": name,
                        "context_id": paragraph["id"],
                        "title": title,
                    }
                )
    return docs, records, problems


def write(docs: list[tuple[str, str]], records: list[dict]) -> None:
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    names = {name for name, _ in docs}
    for stale in CORPUS_DIR.glob("*.txt"):
        if stale.name not in names:
            stale.unlink()
    for name, text in docs:
        (CORPUS_DIR / name).write_text(text, encoding="utf-8", newline="\n")
    with SET_FILE.open("w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def check_written(records: list[dict]) -> list[str]:
    """Re-read the files as written and check every answer at its offset."""
    problems = []
    cache: dict[str, str] = {}
    for record in records:
        text = cache.setdefault(record["doc"], (CORPUS_DIR / record["doc"]).read_text(encoding="utf-8"))
        for answer, offset in zip(record["answers"], record["answer_offsets"]):
            if text[offset : offset + len(answer)] != answer:
                problems.append(f"{record['id']} ({record['doc']}): {answer!r} not at {offset} on disk")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="DRCD test JSON")
    args = parser.parse_args(argv)

    docs, records, problems = build(args.source)
    write(docs, records)
    problems += check_written(records)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(
        f"{len(docs)} documents in {CORPUS_DIR.relative_to(REPO)}, "
        f"{len(records)} questions in {SET_FILE.relative_to(REPO)}, {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
