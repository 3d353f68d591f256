"""The qa stage's commands: `qa ask` and `qa reader train`; and the reader's line in `qa index status`."""

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from index import Settings
from index.commands import Wiring, index_options, json_option
from qa import ALIASES, COMPOSERS, Answer, Assistant, ComposerUnavailable, ModelMismatch, QuestionError, RetrievalMode
from qa.composers import ReaderComposer
from qa.reader import ReaderUnavailable

# Raised for something the user can fix: printed as one line, exit 1 (`cli.main`).
ERRORS = (ComposerUnavailable, ModelMismatch, QuestionError, ReaderUnavailable)
COMPOSER_NAMES = (*COMPOSERS, *ALIASES)
MODES = ", ".join(m.value for m in RetrievalMode)


mode_option = click.option("--mode", envvar="QA_RETRIEVAL", help=f"retrieval: {MODES} (default: $QA_RETRIEVAL or hybrid)")


@click.command()
@click.argument("question")
@json_option
@click.option("-k", type=int, default=None, help="passages to retrieve")
@mode_option
@click.option("--composer", type=click.Choice(COMPOSER_NAMES), envvar="QA_COMPOSER", help="default: $QA_COMPOSER or rules")
@index_options
def ask(wiring: Wiring, settings: Settings, question: str, as_json: bool, k: int | None, mode: str | None,
        composer: str | None) -> int:
    """answer one question with citations"""
    assistant = Assistant(settings, wiring.make_embedder(settings))
    result = None
    for result in assistant.stream(question, k, mode, composer):
        if result.draft and not as_json:  # the generative composer's words as they come
            print(f"\r{result.text}", end="", file=sys.stderr, flush=True)
    if result.composer == "generative" and not as_json:
        print(file=sys.stderr)
    print(json.dumps(asdict(result), ensure_ascii=False, indent=2) if as_json else format_answer(result))
    return 0


def format_answer(result: Answer) -> str:
    lines = [result.text, ""]
    if result.abstained:
        lines.append("相关内容（未必回答了问题）：")
        shown = [(n, hit.chunk) for n, hit in enumerate(result.passages, start=1)]
    else:
        shown = [(c.n, c.chunk) for c in result.citations]
    for n, chunk in shown:
        lines.append(f"[{n}] {chunk.citation_label}")
        lines += [f"    {line}" for line in chunk.full_text.splitlines()]
    lines += [f"注意：{warning}" for warning in result.warnings]
    return "\n".join(lines)


@click.group()
def reader():
    """the trained reader that finds answers in passages"""


@reader.command()
@click.option("--drcd", type=click.Path(path_type=Path), default=Path("../shared/bench/drcd"), show_default=True,
              help="folder of drcd_dev.json and drcd_test.json")
@click.option("--epochs", type=int, help="passes over the training windows (default 2)")
@click.option("--device", help="cpu or cuda (default: cuda when there is one)")
@click.pass_obj
def train(wiring: Wiring, drcd: Path, epochs: int | None, device: str | None) -> int:
    """fine-tune it on DRCD and calibrate when it abstains (qa/models/)"""
    from dataclasses import replace

    from index import ensure_e5_model
    from qa.reader_train import TrainSettings, train

    settings = TrainSettings() if epochs is None else replace(TrainSettings(), epochs=epochs)
    card = train(drcd, settings=settings, base_folder=ensure_e5_model(wiring.settings().model_cache), device=device)
    figures = card["validation"]
    print(f"已写入 qa/models/reader.safetensors（{card['bytes'] / 2**20:.1f} MB，sha256 {card['sha256'][:12]}），"
          f"训练 {card['train_seconds']:.0f} 秒（{card['trained_on']}）")
    print(f"验证集（DRCD test）：有答案题 F1 {figures['f1_answerable']:.3f}、EM {figures['em_answerable']:.3f}，"
          f"误拒答 {figures['false_abstention']:.3f}，无答案题拒答 {figures['abstention_on_unanswerable']:.3f}，阈值 {card['threshold']:.2f}")
    return 0


def reader_status(settings: Settings) -> list[tuple[str, str, str]]:
    """`qa index status`'s line about the reader: its name and fingerprint, or why it cannot answer."""
    try:
        version = ReaderComposer(settings).version
    except ReaderUnavailable as e:
        version = f"不可用：{e}"
    return [("reader", "阅读模型", version)]
