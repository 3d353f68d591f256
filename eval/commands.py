"""The evaluation stage's command: `qa eval`, which also writes report.md/.json/.png."""

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from index import Settings, ensure_index
from index.commands import Wiring, index_options, json_option
from index.commands import bench as search_bench
from qa import COMPOSERS, Assistant, RetrievalMode, Scope
from qa.commands import COMPOSER_NAMES, MODES, mode_option, scope_options

from eval.floor import check, load_floor, save_floor, updated
from eval.report import kinds_text, write_report
from eval.run import evaluate_config, load_set, report_comparison, report_json, report_text


@click.command("eval")
@click.option("--set", "set_path", required=True, type=click.Path(path_type=Path),
              help="JSONL set: single questions, or dialogues ({\"turns\": [...]}) asked in order in one conversation")
@json_option
@click.option("-k", type=int, default=5, show_default=True, help="passages to retrieve")
@mode_option
@click.option("--compare", help=f"configurations to run side by side, comma-separated: retrieval modes ({MODES}), "
              f"composers ({', '.join(COMPOSERS)}) or pairs (hybrid+rules)")
@click.option("--out", type=click.Path(path_type=Path), help="report folder (default: var/eval/<set>-<time>/)")
@click.option("--floor", "floor_path", type=click.Path(path_type=Path), help="fail (exit 1) below the floors in this file (eval/floor.json)")
@click.option("--update-floor", is_flag=True, help="rewrite the --floor file from this run")
@click.option("--in-conversation", is_flag=True,
              help="ask each single question after the one before it, as follow-ups are asked: counts how often one is rewritten")
@click.option("--as-typed", is_flag=True, help="never rewrite a follow-up: the baseline for a dialogue set")
@scope_options
@index_options
def evaluate(wiring: Wiring, settings: Settings, set_path: Path, as_json: bool, k: int, mode: str | None,
             compare: str | None, out: Path | None, floor_path: Path | None, update_floor: bool, in_conversation: bool,
             as_typed: bool, scope: Scope) -> int:
    """score an evaluation set (exit 1 below --floor)"""
    embedder = wiring.make_embedder(settings)
    ensure_index(settings, embedder, progress=not as_json)
    assistant, questions = Assistant(settings, embedder), load_set(set_path)
    floor = load_floor(floor_path) if floor_path else {}
    if compare:
        configurations = configurations_of(compare)
    else:  # a floor was measured with one configuration; --mode overrides it knowingly
        mode, composer = mode or floor.get("mode"), floor.get("composer")
        configurations = [(mode or settings.answering.retrieval, mode, composer)]
    evaluations = [evaluate_config(assistant, questions, k, m, c, name, in_conversation, not as_typed, scope)
                   for name, m, c in configurations]
    first = evaluations[0]
    if compare:
        summaries = {e.name: e.summary for e in evaluations}
        print(json.dumps(summaries, ensure_ascii=False, indent=2) if as_json else report_comparison(summaries))
    elif as_json:
        print(report_json(first.summary, first.outcomes))
    else:
        print(report_text(first.summary, first.outcomes))
        if len(first.by_kind) > 1:
            print("\n" + kinds_text(first))
    versions = sorted({assistant.composer(c).version for _, _, c in configurations})
    run_at = datetime.now()
    folder = out or settings.home / "eval" / f"{set_path.stem}-{run_at:%Y%m%d-%H%M%S}"
    about = {
        "set": str(set_path),
        "questions": sum(len(getattr(q, "turns", (q,))) for q in questions),
        "documents": str(settings.docs_dir),
        "embedder": embedder.name,
        "composers": ", ".join(versions),
        "k": k,
        "scope": scope.label or "全部期次",
        "configurations": ", ".join(e.name for e in evaluations),
        "run at": run_at.isoformat(timespec="seconds"),
    }
    paths = write_report(Path(folder), evaluations, about)
    written = f"报告已写入 {paths['markdown']}（另有 {paths['json'].name}、{paths['chart'].name}）"
    print(written, file=sys.stderr if as_json else sys.stdout)
    return _held_to(floor, floor_path, first.summary, update_floor, settings.indexing.embedder) if floor else 0


def _held_to(floor: dict, floor_path: Path, summary: dict, update_floor: bool, embedder: str) -> int:
    """Exit status against the floor file; with --update-floor, the file rewritten from this run
    (and the embedder it ran with: CI holds the floors only with that one)."""
    if update_floor:
        save_floor(updated(floor, summary) | {"embedder": embedder}, floor_path)
        print(f"已按本次结果更新质量下限：{floor_path}", file=sys.stderr)
        return 0
    problems = check(summary, floor)
    for problem in problems:
        print(f"低于质量下限：{problem}", file=sys.stderr)
    if not problems:
        print(f"各项指标均不低于 {floor_path} 记录的下限", file=sys.stderr)
    return 1 if problems else 0


def configurations_of(text: str) -> list[tuple[str, str | None, str | None]]:
    """(name, retrieval mode, composer) for each of `dense,keyword,hybrid`, `extractive,generative`
    or a pair such as `hybrid+generative`; what an item leaves out is the default."""
    found = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        mode = composer = None
        for part in item.split("+"):
            if part in COMPOSER_NAMES:
                composer = part
            elif part in {m.value for m in RetrievalMode}:
                mode = part
            else:
                choices = ", ".join([*(m.value for m in RetrievalMode), *COMPOSER_NAMES])
                raise ValueError(f"未知的评测配置 {part!r}：可选 {choices}，或用 + 组合（hybrid+generative）")
        found.append((item, mode, composer))
    return found


@click.group("bench", invoke_without_command=True)
@click.pass_context
def bench(context: click.Context) -> int:
    """speed: cold start, answers quiet and busy, indexing (`qa bench speed`, the default); vector search by size (`qa bench search`)"""
    if context.invoked_subcommand is None:
        return context.invoke(speed)
    return 0


@bench.command()
@click.option("--asks", type=int, default=3, show_default=True, help="cold `qa ask` runs per encoder (the median counts)")
@click.option("--files", type=int, default=64, show_default=True, help="CMRC trial files indexed per encoder")
@click.option("--no-reader", is_flag=True, help="leave the trained reader out")
@json_option
@click.pass_obj
def speed(wiring: Wiring, asks: int, files: int, no_reader: bool, as_json: bool) -> int:
    """cold `qa ask`, with a server; answer and retrieval p50/p95, quiet and busy; indexing: each against its baseline"""
    from eval.speed import report_markdown, run

    say = (lambda line: None) if as_json else (lambda line: print(line, file=sys.stderr, flush=True))
    report = run(wiring.settings(), asks, files, say, reader=not no_reader)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if as_json else report_markdown(report))
    return 0


bench.add_command(search_bench, "search")
