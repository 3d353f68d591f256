"""The qa stage's commands: `qa ask`, `qa chat` and `qa reader train`; and the reader's line in `qa index status`."""

import functools
import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from index import Settings, ensure_index
from index.commands import Wiring, index_options, json_option
from qa import (
    ALIASES, COMPOSERS, Answer, Assistant, ComposerUnavailable, Conversations, ModelMismatch, QuestionError, RetrievalMode,
    Scope, Turn, new_id, now,
)
from qa.composers import ReaderComposer
from qa.reader import ReaderUnavailable

class ConversationUnknown(ValueError):
    """`--conversation` names no stored conversation."""


# Raised for something the user can fix: printed as one line, exit 1 (`cli.main`).
ERRORS = (ComposerUnavailable, ConversationUnknown, ModelMismatch, QuestionError, ReaderUnavailable)
COMPOSER_NAMES = (*COMPOSERS, *ALIASES)
MODES = ", ".join(m.value for m in RetrievalMode)


mode_option = click.option("--mode", envvar="QA_RETRIEVAL", help=f"retrieval: {MODES} (default: $QA_RETRIEVAL or hybrid)")


def scope_options(command):
    """--issue, --since and --until, handed to the command as one `scope` (qa/period.py)."""

    @click.option("--issue", default="", metavar="期次", help="only this issue: 2021年第11期, its date 2021-11-15 or its file name")
    @click.option("--since", default="", metavar="DATE", help="only issues from this date on: 2021-11-15, 2021-11 or 2021")
    @click.option("--until", default="", metavar="DATE", help="only issues up to this date: 2021-11-15, 2021-11 or 2021")
    @functools.wraps(command)
    def with_scope(*args, issue: str, since: str, until: str, **kwargs):
        return command(*args, scope=Scope.of(issue, since, until), **kwargs)

    return with_scope


composer_option = click.option("--composer", type=click.Choice(COMPOSER_NAMES), envvar="QA_COMPOSER",
                               help="default: $QA_COMPOSER or rules")


@click.command()
@click.argument("question")
@json_option
@click.option("-k", type=int, default=None, help="passages to retrieve")
@mode_option
@composer_option
@click.option("--conversation", "conversation", metavar="ID",
              help="continue this stored conversation (the chat's, or qa chat's): the question may lean on it, and is added to it")
@click.option("--as-typed", is_flag=True, help="answer the question exactly as typed, never as a rewritten follow-up")
@scope_options
@index_options
def ask(wiring: Wiring, settings: Settings, question: str, as_json: bool, k: int | None, mode: str | None,
        composer: str | None, conversation: str | None, as_typed: bool, scope: Scope) -> int:
    """answer one question with citations"""
    assistant = wiring.resident  # a server's, answering for a client (ui/api.py): used when its settings are these
    if not (isinstance(assistant, Assistant) and assistant.settings == settings):
        assistant = Assistant(settings, wiring.make_embedder(settings))
    store = Conversations(settings.history_dir)
    earlier = _stored(store, conversation) if conversation else []
    result = None
    for result in assistant.stream(question, k, mode, composer, earlier, rewrite=not as_typed, scope=scope):
        if result.draft and not as_json:  # the generative composer's words as they come
            print(f"\r{result.text}", end="", file=sys.stderr, flush=True)
    if result.composer == "generative" and not as_json:
        print(file=sys.stderr)
    if conversation:
        store.add(conversation, _turn(result, mode, k))
    print(json.dumps(asdict(result), ensure_ascii=False, indent=2) if as_json else format_answer(result))
    return 0


@click.command()
@click.option("-k", type=int, default=None, help="passages to retrieve")
@mode_option
@composer_option
@click.option("--conversation", "conversation", metavar="ID", help="continue this stored conversation")
@scope_options
@index_options
def chat(wiring: Wiring, settings: Settings, k: int | None, mode: str | None, composer: str | None,
         conversation: str | None, scope: Scope) -> int:
    """a conversation in the terminal: follow-up questions, citations, line editing and history"""
    embedder = wiring.make_embedder(settings)
    ensure_index(settings, embedder, progress=True)  # as `qa serve` does: a first run indexes the documents
    assistant = Assistant(settings, embedder)
    store = Conversations(settings.history_dir)
    earlier = _stored(store, conversation) if conversation else []
    conversation = conversation or new_id()
    _line_editing(settings.home / "chat-history.txt")
    print(f"《{settings.profile.name}》问答 · 对话 {conversation}（可用 qa ask --conversation {conversation} 继续）")
    print(f"直接输入问题；{AS_TYPED} 按原话重问上一个问题，{NEW} 开始新对话，{QUIT} 或 Ctrl-D 退出。")
    if scope:
        print(f"只在这些期次中查找：{scope.label}")
    while (line := _read_line()) is not None:
        line = line.strip()
        if not line:
            continue
        if line == QUIT:
            break
        if line == NEW:
            conversation, earlier = new_id(), []
            print(f"已开始新对话 {conversation}")
            continue
        rewrite = line != AS_TYPED
        question = line if rewrite else (earlier[-1].question if earlier else "")
        if not question:
            print("还没有可以按原话重问的问题。")
            continue
        try:
            result = assistant.answer(question, k, mode, composer, earlier, rewrite, scope)
        except QuestionError as e:
            print(e)
            continue
        earlier.append(_turn(result, mode, k))
        store.add(conversation, earlier[-1])
        print(format_answer(result, hint_as_typed=True) + "\n")
    return 0


AS_TYPED, NEW, QUIT = "/原话", "/新对话", "/退出"


def _turn(result: Answer, mode: str | None, k: int | None) -> Turn:
    return Turn(question=result.question, answer=result, mode=mode or "", k=k or 0, asked_at=now())


def _stored(store: Conversations, conversation: str) -> list[Turn]:
    turns = store.load(conversation)
    if not turns:
        raise ConversationUnknown(f"没有找到对话 {conversation}：请检查编号（qa chat 开始时会显示），或不带 --conversation 提问。")
    return turns


def _read_line() -> str | None:
    try:
        return input("问：")
    except EOFError:
        print()
        return None


def _line_editing(history: Path) -> None:
    """Arrow keys, editing and questions from earlier sessions (readline, where Python has it)."""
    try:
        import atexit
        import readline
    except ImportError:  # Windows' Python has no readline: plain input() still works
        return
    history.parent.mkdir(parents=True, exist_ok=True)
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)
    atexit.register(readline.write_history_file, history)


def format_answer(result: Answer, hint_as_typed: bool = False) -> str:
    lines = []
    if result.understood:
        hint = f"；输入 {AS_TYPED} 按原话提问" if hint_as_typed else "；加 --as-typed 按原话提问"
        lines.append(f"（按“{result.understood}”理解{hint}）")
    lines += [result.text, ""]
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
