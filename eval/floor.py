"""Quality floors: the lowest headline figures an evaluation may give — the seed set
(eval/floor.json) and CMRC trial (eval/floor-cmrc.json), a set the reader was neither trained
nor calibrated on — checked by CI (tests/test_quality_floor.py) and by `qa eval --floor`."""

import json
import math
from datetime import date
from pathlib import Path

from eval.run import fmt
from index.files import atomic_write

FLOOR_FILE = Path(__file__).resolve().parent / "floor.json"
FLOOR_FILES = (FLOOR_FILE, FLOOR_FILE.with_name("floor-cmrc.json"))
AT_LEAST = (
    "hit@1",
    "hit@5",
    "answer_accuracy",
    "exact_match",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
)
AT_MOST = ("false_abstention",)
MARGIN = 0.02  # how far under today's figure a floor sits, unless one question is worth more


def load_floor(path: Path = FLOOR_FILE) -> dict:
    floor = json.loads(Path(path).read_text("utf-8"))
    for key in ("set", "at_least", "at_most"):
        if key not in floor:
            raise ValueError(f"{path}: no {key!r} in the floor file")
    return floor


def check(summary: dict, floor: dict) -> list[str]:
    """What fell below its floor (or rose above its ceiling), from what to what; empty when all hold."""
    measured = floor.get("measured", {})
    problems = []
    for metric, bound in floor["at_least"].items():
        value = summary.get(metric)
        if value is None or value < bound:
            problems.append(f"{metric} fell below its floor: {fmt(value)} < {bound}{_was(measured, metric)}")
    for metric, bound in floor["at_most"].items():
        value = summary.get(metric)
        if value is None or value > bound:
            problems.append(f"{metric} rose above its ceiling: {fmt(value)} > {bound}{_was(measured, metric)}")
    return problems


def updated(floor: dict, summary: dict) -> dict:
    """The floor file for today's figures: each bound MARGIN (or one question's worth, if more) behind them."""
    answerable, unanswerable = summary.get("answerable") or 1, summary.get("unanswerable") or 1
    per_question = {m: 1 / (unanswerable if m == "abstention_accuracy" else answerable) for m in AT_LEAST + AT_MOST}
    at_least = {m: _down(summary[m] - max(MARGIN, per_question[m])) for m in AT_LEAST if summary.get(m) is not None}
    at_most = {m: _up(summary[m] + max(MARGIN, per_question[m])) for m in AT_MOST if summary.get(m) is not None}
    return floor | {
        "measured_on": date.today().isoformat(),
        "measured": {m: round(summary[m], 3) for m in AT_LEAST + AT_MOST if summary.get(m) is not None},
        "at_least": at_least,
        "at_most": at_most,
    }


def save_floor(floor: dict, path: Path = FLOOR_FILE) -> None:
    atomic_write(Path(path), json.dumps(floor, ensure_ascii=False, indent=2) + "\n")


def _was(measured: dict, metric: str) -> str:
    return f" (was {fmt(measured.get(metric))} when the floor was set)"


def _down(x: float) -> float:
    return max(0.0, math.floor(x * 100 + 1e-9) / 100)


def _up(x: float) -> float:
    return min(1.0, math.ceil(x * 100 - 1e-9) / 100)
