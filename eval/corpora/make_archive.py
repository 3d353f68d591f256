"""Write an archive of invented monthly issues of 《工行通讯》 and the period questions asked of it.

Issue 19's archive at scale: by default 300 issues, one a month for 25 years, each in the
conventions of the layout test issues (`layouts/`): a masthead with the issue's number, running
number and date, page markers, 本报讯 leads with the reporter's credit, 责任编辑 lines and □ bylines.
Every issue reports the same measures for the period just ended («截至6月末», «今年上半年»), so
that the same question has a different answer in every issue and only its period says which; then
come three stories of the layout issue, their years and figures changed. Figures, branches and
people are drawn from a seeded random generator: the same `--seed` gives the same bytes, another
seed other figures, branches, dates and question phrasings from the same templates.

Written out:
- FOLDER/docs/: the issues, under file names in three conventions (工行通讯2018年第7期.txt,
  2018-07-15_第7期.md, issue-0210.txt whose identity is only on its masthead);
- FOLDER/periods.jsonl: questions that name a period (2018年上半年, 2019年9月末, 最新一期, 上一期,
  今年, 去年), each with its answer and the issue it must come from (`doc`), in the format of
  `eval/sets/` (`qa eval --set FOLDER/periods.jsonl --docs FOLDER/docs`).

    python eval/corpora/make_archive.py [--out FOLDER] [--issues 300] [--first-year 2001] [--seed 1]

Generated, not committed (FOLDER defaults to var/archive). Nothing here is real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "var" / "archive"
# The stories of a layout test issue, three of them on each issue's third page, with their years
# moved to the issue's and their figures redrawn: other stories that name years and figures too.
STORIES = Path(__file__).resolve().parent / "layouts" / "工行通讯2022年第5期.txt"
STORIES_YEAR = 2022
STORIES_PER_ISSUE = 3
_YEAR = re.compile(r"(20\d\d)(?=年)")
_AMOUNT = re.compile(r"\d+(?:\.\d+)?(?=万亿元|亿元|万元|万户|亿户|户|%|家|名|人次|笔|条|场|个百分点)")
WEEKDAYS = "一二三四五六日"
BRANCHES = [
    "北京", "天津", "河北", "山西", "辽宁", "吉林", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南",
    "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "陕西", "甘肃", "青岛", "宁波",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "明芳伟娜静磊洋艳勇军杰娟涛超霞平刚桂英华玲"


@dataclass(frozen=True)
class Issue:
    """One issue: its place in the archive and the period it reports on (the month before it)."""

    index: int
    date: dt.date
    total: int

    @property
    def number(self) -> int:
        return self.date.month

    @property
    def span(self) -> str:
        """How its stories name the period they report: 今年上半年, 今年1-5月, 去年全年."""
        return {1: "去年全年", 2: "今年1月", 4: "今年一季度", 7: "今年上半年", 10: "今年前三季度"}.get(
            self.date.month, f"今年1-{self.date.month - 1}月"
        )

    @property
    def month_end(self) -> str:
        """The day its balances are given for: 6月末, or 去年末 in January."""
        return "去年末" if self.date.month == 1 else f"{self.date.month - 1}月末"

    @property
    def file_name(self) -> str:
        y, n = self.date.year, self.number
        return (f"工行通讯{y}年第{n}期.txt", f"{self.date.isoformat()}_第{n}期.md", f"issue-{self.index:04d}.txt")[
            self.index % 3
        ]


class Writer:
    """Draws an archive's figures, branches and people from one seeded generator."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        blocks = STORIES.read_text("utf-8").split("\n\n")
        # A story: a headline and its paragraphs (not the masthead, a page marker or an editor's line).
        self.stories = [b.strip() for b in blocks if b.strip().count("\n") and not b.startswith("工行通讯")]

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.choice((1, 2))))

    def figure(self, low: float, high: float, digits: int = 0) -> str:
        value = self.rng.uniform(low, high)
        return f"{value:.{digits}f}" if digits else str(round(value))

    def issue(self, issue: Issue) -> tuple[str, dict[str, str]]:
        """The issue's text, and its figures by name (what the questions ask)."""
        growth = 1 + issue.index / 400  # the bank grows over the years
        months = 12 if issue.date.month == 1 else issue.date.month - 1
        f = {
            "deposits": self.figure(52000 * growth, 56000 * growth),
            "deposits_up": self.figure(300 * months * growth, 420 * months * growth),
            "customers_up": self.figure(60 * months, 95 * months),
            "mobile": self.figure(4000 * growth, 4600 * growth),
            "branch": self.rng.choice(BRANCHES),
            "funds": self.figure(20 * months, 60 * months, 1),
            "icbc_funds": self.figure(8 * months, 18 * months, 1),
            "inclusive": self.figure(3000 * growth, 3600 * growth),
            "inclusive_clients": self.figure(40 * growth, 60 * growth, 1),
            "profit": self.figure(2200 * growth, 2600 * growth),
            "npl": self.figure(1.2, 1.9, 2),
        }
        d = issue.date
        pages = [
            "工行通讯",
            f"{d.year}年第{issue.number}期（总第{issue.total}期）",
            f"{d.year}年{d.month}月{d.day}日 星期{WEEKDAYS[d.weekday()]}",
            "",
            "◀ 第一版 ▶",
            "",
            "全行个人金融业务保持稳健增长",
            f"本报讯（记者 {self.person()}）截至{issue.month_end}，全行个人存款余额达到{f['deposits']}亿元，"
            f"{issue.span}增加{f['deposits_up']}亿元，增量保持同业领先。",
            f"{issue.span}，全行新增个人客户{f['customers_up']}万户，手机银行月活跃客户达到{f['mobile']}万户。"
            "下一步，全行将继续做优做强个人金融业务，持续提升客户服务体验。",
            "",
        ]
        if d.month == 1:
            pages += [
                f"总行召开{d.year}年工作会议",
                f"本报讯（记者 {self.person()} 通讯员 {self.person()}）近日，总行召开{d.year}年工作会议，"
                "总结去年工作，部署今年重点任务。",
                f"会议指出，去年全年全行实现净利润{f['profit']}亿元，不良贷款率为{f['npl']}%，主要经营指标保持稳健。",
                "会议要求，各级行要坚持稳中求进，持续加大对实体经济的支持力度。",
                "",
            ]
        pages += [
            f"责任编辑：{self.person()}",
            "",
            "◀ 第二版 ▶",
            "",
            f"{f['branch']}分行财富管理业务再上新台阶",
            f"{issue.span}，{f['branch']}分行代销基金{f['funds']}亿元，其中代销工银瑞信基金{f['icbc_funds']}亿元。",
            f"该行在辖内网点设立财富管理专区，配备专职理财经理，{issue.span}举办客户沙龙{self.figure(20, 90)}场。",
            f"□ {self.person()}",
            "",
        ]
        if d.month in (1, 4, 7, 10):
            quarter = {1: "去年末", 4: "一季度末", 7: "二季度末", 10: "三季度末"}[d.month]
            pages += [
                "普惠金融服务持续扩面",
                f"截至{quarter}，全行普惠型小微企业贷款余额达到{f['inclusive']}亿元，"
                f"普惠贷款客户{f['inclusive_clients']}万户。",
                "各级行持续推广线上融资产品，小微企业融资更加便捷。",
                f"（通讯员 {self.person()}）",
                "",
            ]
        pages += [f"责任编辑：{self.person()}", "", "◀ 第三版 ▶", ""]
        for story in self.rng.sample(self.stories, STORIES_PER_ISSUE):
            pages += [self.retold(story, d.year), ""]
        pages.append(f"责任编辑：{self.person()}")
        return "\n".join(pages) + "\n", f

    def retold(self, story: str, year: int) -> str:
        """A story of the layout issue as if in `year`'s issue, each of its figures redrawn."""
        story = _YEAR.sub(lambda m: str(int(m.group(1)) + year - STORIES_YEAR), story)
        return _AMOUNT.sub(lambda m: self._redrawn(m.group(0)), story)

    def _redrawn(self, figure: str) -> str:
        digits = len(figure.partition(".")[2])
        return f"{float(figure) * self.rng.uniform(0.7, 1.3):.{digits}f}"


def issues(count: int, first_year: int, rng: random.Random) -> list[Issue]:
    """One issue a month from January of `first_year`, each on a day of its month drawn at random."""
    return [
        Issue(n, dt.date(first_year + n // 12, n % 12 + 1, rng.randint(5, 25)), total=100 + n) for n in range(count)
    ]


def questions(archive: list[Issue], figures: list[dict[str, str]], rng: random.Random) -> list[dict]:
    """Questions that name a period, each answered by one issue: a named year and its half, quarter
    or month, and the periods relative to the archive (最新一期, 上一期, 今年, 去年)."""
    by_month = {(i.date.year, i.date.month): (i, f) for i, f in zip(archive, figures)}
    asked: list[dict] = []

    def ask(kind: str, question: str, key: tuple[int, int], figure: str) -> None:
        if key in by_month:
            issue, f = by_month[key]
            asked.append({
                "id": f"archive-{len(asked) + 1:03d}", "question": question, "answers": [f[figure]],
                "doc": issue.file_name, "kind": kind,
            })

    years = sorted({i.date.year for i in archive})
    for year in rng.sample(years, min(8, len(years))):
        month = rng.randint(2, 11)
        branch = by_month.get((year, 7), (None, {}))[1].get("branch", "")
        for kind, key, figure, phrasings in (
            ("half-year", (year, 7), "deposits_up", ("{y}年上半年，全行个人存款增加了多少亿元？", "{y}年上半年全行个人存款增加多少？")),
            ("month-end", (year, month + 1), "deposits", ("{y}年{m}月末，全行个人存款余额是多少？", "截至{y}年{m}月末，个人存款余额达到多少亿元？")),
            ("three-quarters", (year, 10), "customers_up", ("{y}年前三季度全行新增了多少个人客户？", "{y}年前三季度，全行新增个人客户多少万户？")),
            ("full-year", (year + 1, 1), "profit", ("{y}年全年全行实现净利润多少？", "{y}年全行净利润是多少亿元？")),
            ("quarter-end", (year, 4), "inclusive", ("{y}年一季度末，全行普惠型小微企业贷款余额是多少？", "{y}年一季度末普惠贷款余额有多少？")),
            ("quarter-end", (year, 10), "inclusive", ("{y}年三季度末普惠型小微企业贷款余额是多少？",)),
            ("branch", (year, 7), "icbc_funds", ("{y}年上半年{b}分行代销工银瑞信基金多少亿元？", "{y}年上半年，{b}分行代销了多少工银瑞信基金？")),
        ):
            ask(kind, rng.choice(phrasings).format(y=year, m=month, b=branch), key, figure)
    newest, before = archive[-1].date, archive[-2].date
    ask("newest", "最新一期报道的全行个人存款余额是多少？", (newest.year, newest.month), "deposits")
    ask("previous", "上一期报道的手机银行月活跃客户有多少？", (before.year, before.month), "mobile")
    ask("this-year", "今年一季度末普惠型小微企业贷款余额是多少？", (newest.year, 4), "inclusive")
    ask("last-year", "去年全年全行实现净利润多少？", (newest.year, 1), "profit")
    ask("last-year", "去年上半年全行个人存款增加了多少？", (newest.year - 1, 7), "deposits_up")
    return asked


def write_archive(out: Path, count: int = 300, first_year: int = 2001, seed: int = 1) -> list[dict]:
    """Write `count` issues into out/docs and their period questions into out/periods.jsonl."""
    if count < 2:
        raise ValueError("an archive needs at least two issues (最新一期 and 上一期)")
    writer = Writer(seed)
    archive = issues(count, first_year, writer.rng)
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    figures = []
    for issue in archive:
        text, f = writer.issue(issue)
        (docs / issue.file_name).write_text(text, "utf-8")
        figures.append(f)
    asked = questions(archive, figures, writer.rng)
    lines = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in asked)
    (out / "periods.jsonl").write_text(lines, "utf-8")
    return asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--first-year", type=int, default=2001)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asked = write_archive(args.out, args.issues, args.first_year, args.seed)
    print(f"{args.issues} issues in {args.out / 'docs'}, {len(asked)} period questions in {args.out / 'periods.jsonl'}")


if __name__ == "__main__":
    main()
