"""Evaluation reports for people: a Markdown page, a JSON file and a PNG chart in one folder."""

import json
from dataclasses import asdict
from pathlib import Path

from index.text import collapse_spaces

from eval.run import Evaluation, Outcome, failed, fmt

# The rows of the overall table and the bars of the chart, in reading order.
HEADLINE = (
    "hit@1",
    "hit@5",
    "mrr",
    "answer_accuracy",
    "exact_match",
    "f1",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention",
)
KIND_COLUMNS = ("questions", "hit@1", "hit@5", "answer_accuracy", "exact_match", "f1", "abstention_accuracy", "false_abstention")
FILES = {"markdown": "report.md", "json": "report.json", "chart": "report.png"}


def write_report(folder: Path, evaluations: list[Evaluation], about: dict) -> dict[str, Path]:
    """Write report.md, report.json and report.png into `folder`; `about` says what was run."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in FILES.items()}
    paths["markdown"].write_text(markdown(evaluations, about, chart=FILES["chart"]), "utf-8")
    paths["json"].write_text(to_json(evaluations, about), "utf-8")
    chart(evaluations, paths["chart"], title=str(about.get("set", "")))
    return paths


def to_json(evaluations: list[Evaluation], about: dict) -> str:
    return json.dumps(
        {
            "about": about,
            "configurations": {
                e.name: {"summary": e.summary, "by_kind": e.by_kind, "outcomes": [asdict(o) for o in e.outcomes]}
                for e in evaluations
            },
        },
        ensure_ascii=False,
        indent=2,
        default=str,
    )


def markdown(evaluations: list[Evaluation], about: dict, chart: str | None = None) -> str:
    lines = ["# Evaluation: " + str(about.get("set", "")), ""]
    lines += [f"- {key}: {value}" for key, value in about.items()]
    lines += ["", "## Overall", "", *_table(["metric", *(e.name for e in evaluations)], _overall_rows(evaluations))]
    if chart:
        lines += ["", f"![headline metrics per configuration]({chart})"]
    if any(len(e.by_kind) > 1 for e in evaluations):
        lines += ["", "## By question kind"]
        for e in evaluations:
            lines += ["", f"### {e.name}", "", *kinds_table(e)]
    lines += ["", "## Failures", ""]
    lines.append(
        "A failure is an answerable question whose answer holds no gold string, or an unanswerable one "
        "that was answered. *rank*: where the first passage holding the answer came in retrieval (— : not in the top k)."
    )
    for e in evaluations:
        wrong = failed(e.outcomes)
        lines += ["", f"### {e.name}: {len(wrong)} of {len(e.outcomes)}", ""]
        for o in wrong:
            lines += _failure(o)
    return "\n".join(lines) + "\n"


def kinds_table(evaluation: Evaluation) -> list[str]:
    """Markdown rows: a question kind a row, the scores that mean something per kind as columns."""
    return _table(["kind", *KIND_COLUMNS], _kind_rows(evaluation))


def kinds_text(evaluation: Evaluation) -> str:
    """The per-kind table for a terminal."""
    header = f"{'kind':<14}" + "".join(f"{c[:12]:>13}" for c in KIND_COLUMNS)
    rows = [f"{kind:<14}" + "".join(f"{cell:>13}" for cell in cells) for kind, *cells in _kind_rows(evaluation)]
    return "\n".join([header, *rows])


def _kind_rows(evaluation: Evaluation) -> list[list[str]]:
    """A question kind a row: its name, then its KIND_COLUMNS figures."""
    return [[kind, *(fmt(s.get(c)) for c in KIND_COLUMNS)] for kind, s in evaluation.by_kind.items()]


def chart(evaluations: list[Evaluation], path: Path, title: str = "") -> None:
    """Grouped bars: headline metrics for each configuration; below, answer accuracy per question kind."""
    from matplotlib.figure import Figure  # no pyplot: no display, no global state

    metrics = [m for m in HEADLINE if any(e.summary.get(m) is not None for e in evaluations)]
    kinds = sorted({k for e in evaluations for k in e.by_kind})
    panels = 2 if len(kinds) > 1 else 1
    figure = Figure(figsize=(max(8, 1.1 * len(metrics) + 2), 4.2 * panels), layout="constrained")
    axes = figure.subplots(panels, 1, squeeze=False)[:, 0]
    _bars(axes[0], metrics, {e.name: [e.summary.get(m) for m in metrics] for e in evaluations})
    axes[0].set_title(f"{title} — headline metrics" if title else "headline metrics", loc="right")
    if panels == 2:
        accuracy = {
            e.name: [_kind_accuracy(e.by_kind.get(k)) for k in kinds] for e in evaluations
        }
        sizes = {k: max(e.by_kind.get(k, {}).get("questions", 0) for e in evaluations) for k in kinds}
        _bars(axes[1], [f"{k} ({sizes[k]})" for k in kinds], accuracy)
        axes[1].set_title("answer accuracy by question kind (unanswerable: abstention accuracy)", loc="right")
    figure.savefig(path, dpi=110)


def _kind_accuracy(summary: dict | None) -> float | None:
    if not summary:
        return None
    if summary.get("answer_accuracy") is not None:
        return summary["answer_accuracy"]
    return summary.get("abstention_accuracy")


def _bars(ax, labels: list[str], series: dict[str, list[float | None]]) -> None:
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(labels))]
        heights = [v or 0.0 for v in values]
        bars = ax.bar(xs, heights, width, label=name)
        ax.bar_label(bars, labels=["—" if v is None else f"{v:.2f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_ylim(0, 1.12)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncols=len(series), frameon=False)


def _overall_rows(evaluations: list[Evaluation]) -> list[list[str]]:
    first = evaluations[0].summary
    return [[metric, *(fmt(e.summary.get(metric)) for e in evaluations)] for metric in first]


def _failure(o: Outcome) -> list[str]:
    expected = " / ".join(o.expected) if o.expected else "（应拒答 — should abstain）"
    got = _one_line(o.got)[:160] + (f"（short: {o.short}）" if o.short else "")
    lines = [
        f"- **{o.id}** [{o.kind}] {_one_line(o.question)}",
        *([f"  - understood as: {_one_line(o.understood)}"] if o.understood else []),
        f"  - expected: {expected}",
        f"  - got{'（abstained）' if o.abstained else ''}: {got}",
        f"  - rank: {o.rank or '—'}",
    ]
    lines += [f"  - passage {n}: {_one_line(p)}" for n, p in enumerate(o.top_passages, start=1)]
    return lines


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _one_line(text: str) -> str:
    return collapse_spaces(text).strip().replace("|", "｜")
