"""The `qa` command: index, ask, serve, eval. The one place that wires every stage together."""

import argparse
import hashlib
import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from index import (
    BuildReport,
    IndexBusy,
    IndexMissing,
    LoadError,
    Settings,
    build_index,
    ensure_index,
    make_embedder,
    read_manifest,
    update_index,
    verify_index,
    watch,
)
from qa import Answer, Assistant, ModelMismatch, QuestionError, RetrievalMode

USER_ERRORS = (IndexBusy, IndexMissing, LoadError, ModelMismatch, QuestionError, FileNotFoundError, ValueError)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `qa ask … | head` ends quietly
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except USER_ERRORS as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _settings(args) -> Settings:
    docs = getattr(args, "folder", None) or getattr(args, "docs", None)
    settings = Settings().with_(docs_dir=docs, index_dir=getattr(args, "index_dir", None))
    if docs and not getattr(args, "index_dir", None):
        settings = settings.with_(index_dir=_index_for(settings))
    return settings


def _index_for(settings: Settings) -> Path:
    """Each documents folder gets its own index, so evaluating another corpus leaves the main one alone."""
    if settings.docs_dir.resolve() == Settings().docs_dir.resolve():
        return Settings().index_path
    key = hashlib.sha256(str(settings.docs_dir.resolve()).encode()).hexdigest()[:8]
    return settings.home / "indexes" / f"{settings.docs_dir.resolve().name}-{key}"


def _update(args) -> int:
    settings = _settings(args)
    embedder = make_embedder(settings)
    update = build_index if getattr(args, "full", False) else update_index
    report = update(settings, embedder)
    print_report(report, settings)
    return 1 if report.errors else 0


def print_report(report: BuildReport, settings: Settings) -> None:
    changes = [
        ("新增", report.added),
        ("更新", report.replaced),
        ("删除", report.removed),
    ]
    for label, names in changes:
        for name in names:
            print(f"  {label} {name}")
    for error in report.errors:
        print(f"  跳过 {error}", file=sys.stderr)
    state = f"嵌入 {report.chunks_embedded} 个新段落" if report.changed else "索引已是最新，无需改动"
    print(f"{state}；索引共 {report.documents} 个文件、{report.chunks} 个段落 → {settings.index_path}")


def _verify(args) -> int:
    settings = _settings(args)
    problems = verify_index(settings, make_embedder(settings))
    for problem in problems:
        print(f"问题：{problem}")
    if not problems:
        print(f"索引完整，与文档目录一致：{settings.index_path}")
    return 1 if problems else 0


def _watch(args) -> int:
    settings = _settings(args)
    print(f"正在监视 {settings.docs_dir}（每 {args.interval:g} 秒检查一次，Ctrl+C 结束）")
    watch(settings, make_embedder(settings), lambda report: print_report(report, settings), args.interval)
    return 0


def _status(args) -> int:
    settings = _settings(args)
    manifest = read_manifest(settings.index_path)
    if args.json:
        print(json.dumps(asdict(manifest) | {"index_dir": str(settings.index_path)}, ensure_ascii=False, indent=2))
        return 0
    print(f"索引：{settings.index_path}")
    print(f"文件 {len(manifest.documents)} 个，段落 {manifest.chunk_count} 个，构建于 {manifest.built_at}")
    print(f"嵌入模型：{manifest.embedder}（{manifest.dim} 维，指纹 {manifest.fingerprint}）")
    print(f"切分：每段 {manifest.chunk_size} 字，重叠 {manifest.chunk_overlap} 字")
    for name, entry in manifest.documents.items():
        print(f"  {name}  {entry.chunks} 段  sha256 {entry.id[:12]}")
    for name in manifest.skipped:
        print(f"  {name}  （无法读取，已跳过）")
    return 0


def _ask(args) -> int:
    settings = _settings(args)
    result = Assistant(settings).answer(args.question, args.k, args.mode)
    print(json.dumps(asdict(result), ensure_ascii=False, indent=2) if args.json else format_answer(result))
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
    return "\n".join(lines)


def _serve(args) -> int:
    settings = _settings(args)
    embedder = make_embedder(settings)
    report = ensure_index(settings, embedder)
    for error in report.errors if report else []:
        print(f"跳过 {error}", file=sys.stderr)
    from ui.app import serve  # the chat's dependencies load only when it is asked for

    serve(Assistant(settings, embedder), host=args.host, port=args.port)
    return 0


def _eval(args) -> int:
    from eval import evaluate, load_set, report_comparison, report_json, report_text

    settings = _settings(args)
    embedder = make_embedder(settings)
    ensure_index(settings, embedder, progress=not args.json)
    assistant, questions = Assistant(settings, embedder), load_set(Path(args.set))
    if args.compare:
        modes = [RetrievalMode.from_str(m.strip()) for m in args.compare.split(",")]
        summaries = {m.value: evaluate(assistant, questions, args.k, m)[0] for m in modes}
        print(json.dumps(summaries, ensure_ascii=False, indent=2) if args.json else report_comparison(summaries))
        return 0
    summary, outcomes = evaluate(assistant, questions, args.k, args.mode)
    print(report_json(summary, outcomes) if args.json else report_text(summary, outcomes))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="《工行通讯》问答：索引、提问、聊天、评测")
    commands = parser.add_subparsers(required=True, metavar="command")

    index = commands.add_parser("index", help="build or inspect the index")
    index_commands = index.add_subparsers(required=True, metavar="action")
    build = index_commands.add_parser("build", help="build the index (only new or changed files are embedded)")
    build.add_argument("--full", action="store_true", help="rebuild from nothing, embedding every file again")
    build.set_defaults(run=_update)
    update = index_commands.add_parser("update", help="add new files, replace changed ones, drop deleted ones")
    update.set_defaults(run=_update)
    verify = index_commands.add_parser("verify", help="check the index for consistency with itself and the files")
    verify.set_defaults(run=_verify)
    watch_folder = index_commands.add_parser("watch", help="update the index whenever files arrive in the folder")
    watch_folder.add_argument("folder", type=Path, nargs="?", help="documents folder to watch (default: seeds/)")
    watch_folder.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    watch_folder.set_defaults(run=_watch)
    status = index_commands.add_parser("status", help="what the index holds and how it was built")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_status)

    ask = commands.add_parser("ask", help="answer one question with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("-k", type=int, default=None, help="passages to retrieve")
    ask.set_defaults(run=_ask)
    modes = ", ".join(m.value for m in RetrievalMode)

    serve = commands.add_parser("serve", help="the chat in the browser")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.set_defaults(run=_serve)

    evaluate = commands.add_parser("eval", help="score an evaluation set")
    evaluate.add_argument("--set", required=True, help="JSONL question set")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("-k", type=int, default=5, help="passages to retrieve")
    evaluate.add_argument("--compare", help=f"comma-separated retrieval modes to run side by side ({modes})")
    evaluate.set_defaults(run=_eval)
    for sub in (ask, evaluate):
        sub.add_argument("--mode", help=f"retrieval: {modes} (default: $QA_RETRIEVAL or hybrid)")

    for sub in (build, update, verify, watch_folder, status, ask, serve, evaluate):
        sub.add_argument("--docs", type=Path, help="documents folder (default: seeds/)")
        sub.add_argument("--index-dir", type=Path, help="index folder (default: var/index or $QA_INDEX_DIR)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
