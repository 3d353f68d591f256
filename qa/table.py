"""Answers from a table's cells. A table comes out of the index row by row, each cell under its
column's header («养老金个人账户（万户）｜2020年末：1308｜2021年9月末：1502», index/formats.py); a
question that names a row's label and one column's header is answered by that cell, with the unit
the label gives, and cited to its row."""

import re
from dataclasses import dataclass

from index import TABLE_CELL, TABLE_HEADER
from index.text import bigrams, squash
from qa.records import Answer, Citation, Hit

# Share of a row label's character bigrams the question must contain: «个人存款余额» in «2022年末
# 个人存款余额是多少» — a label is short, so most of it must be there.
_LABEL_SHARE = 0.6
# Words before a column's header that make it the base of a comparison, not the value asked for.
_BASE = "比|较|相比|同比|与"
_UNIT = re.compile(r"[（(]([^（）()]{1,6})[）)]\s*$")
_VALUE = re.compile(r"^[-+]?[\d.,]+%?$")


@dataclass(frozen=True)
class _Cell:
    label: str
    header: str
    value: str
    row: str  # the whole row as the passage has it: what is cited


def table_answer(question: str, hits: list[Hit]) -> Answer | None:
    """The answer one cell gives, when a retrieved table has one row whose label the question names
    best (and mostly) and one of its columns the question names; None otherwise (the composer's
    answer stands)."""
    asked = squash(question)
    for n, hit in enumerate(hits, start=1):
        scored = [(_label_share(asked, cell), cell) for cell in _cells(hit.chunk.text) if _names_column(asked, cell.header)]
        best = max((share for share, _ in scored), default=0.0)
        found = [cell for share, cell in scored if share == best]
        if best >= _LABEL_SHARE and len(found) == 1:  # one cell, the best named: else no answer here
            cell = found[0]
            short = cell.value + _unit(cell.label) if _VALUE.match(cell.value) else cell.value
            text = f"{_UNIT.sub('', cell.label)}（{cell.header}）：{short} [{n}]"
            return Answer(question=question, text=text, short=short, citations=(Citation(n, hit.chunk, cell.row),), passages=tuple(hits))
    return None


def _cells(text: str) -> list[_Cell]:
    cells = []
    for row in text.splitlines():
        label, *rest = row.split(TABLE_CELL)
        for part in rest:
            header, sep, value = part.partition(TABLE_HEADER)
            if sep and header and value:
                cells.append(_Cell(label.strip(), header.strip(), value.strip(), row))
    return cells


def _names_column(asked: str, header: str) -> bool:
    """Whether the question asks for this column's value: it names the header, and not only as
    what a change is counted from («比2020年末增长了多少» asks for no 2020年末 figure)."""
    header = squash(header)
    return header in asked and not re.search(f"(?:{_BASE}){re.escape(header)}", asked)


def _label_share(asked: str, cell: _Cell) -> float:
    """How much of the cell's row label (its unit aside) the question names."""
    label = bigrams(_UNIT.sub("", cell.label))
    return len(label & bigrams(asked)) / len(label) if label else 0.0


def _unit(label: str) -> str:
    found = _UNIT.search(label)
    return found.group(1) if found else ""
