"""How exactly issues are read, against structure written by hand (eval/corpora/layouts/truth.json):
each issue's identity, and each article's headline, byline, page, section titles and where its
running text starts and ends. Text is compared without white space, which no reader notices
(记者 周强 and 记者周强 read the same).

    python -m eval.layouts eval/corpora/layouts [--json]
"""

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from index import TABLE_PREFIX, parse_document
from index.text import squash

_ENDS = 12  # characters of running text the truth gives at each end of an article


@dataclass(frozen=True)
class Reading:
    issues: int
    issues_identified: int  # number, running number and date all as written
    articles: int
    articles_exact: int
    misses: list[dict]  # each article read otherwise: file, want, have

    @property
    def share(self) -> float:
        return self.articles_exact / self.articles if self.articles else 0.0


def read_layouts(folder: Path) -> Reading:
    truth = json.loads((folder / "truth.json").read_text("utf-8"))
    identified = articles = exact = 0
    misses = []
    for name, expected in truth.items():
        path = folder / name
        doc = parse_document(path.read_bytes(), path, folder)
        identified += (doc.issue.number, doc.issue.total, doc.issue.date) == (
            expected["number"], expected["total"], expected["date"]
        )
        have = {squash(a["headline"]): a for a in (_shape(doc, article) for article in doc.articles if article.kind != "contents")}
        for want in expected["articles"]:
            articles += 1
            want = _compared({k: want[k] for k in ("headline", "byline", "page", "sections", "first", "last")})
            got = have.get(want["headline"])
            if got is not None and _compared(got) == want:
                exact += 1
            else:
                misses.append({"file": name, "want": want, "have": got and _compared(got)})
    return Reading(len(truth), identified, articles, exact, misses)


def _shape(doc, article) -> dict:
    body = "".join(doc.text[s:e] for s, e in article.body).replace("\n", "")
    return {
        "headline": article.headline,
        "byline": article.byline,
        "page": article.page,
        # A table's title is a section of the reader's making (index/formats.py), not the author's.
        "sections": [title for _, title in article.sections if not title.startswith(TABLE_PREFIX)],
        "first": body[:_ENDS],
        "last": body[-_ENDS:],
    }


def _compared(article: dict) -> dict:
    def plain(value):
        return squash(value) if isinstance(value, str) else [squash(v) for v in value if not v.startswith(TABLE_PREFIX)]

    return {key: plain(value) for key, value in article.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reading = read_layouts(args.folder)
    if args.json:
        print(json.dumps(asdict(reading) | {"share": reading.share}, ensure_ascii=False, indent=2))
        return 0
    print(f"期次识别 {reading.issues_identified}/{reading.issues}；文章完全读对 {reading.articles_exact}/{reading.articles} = {reading.share:.3f}")
    for miss in reading.misses:
        print(f"  {miss['file']}：应为 {miss['want']}\n    读成 {miss['have']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
