"""The `qa` command: index, ask, serve, eval. The one place that wires every stage together.

Exit codes: 0 the command did what it was asked (an update that skipped files it could not
read succeeded, and lists them); 1 it was refused or failed, with a message saying why (on
--json, a JSON object with `error`); 2 the command line itself is wrong; 130 interrupted.
`qa index verify` exits 1 when it finds a problem, `qa eval --floor` when a figure is below it.
"""

import argparse
import hashlib
import json
import signal
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from index import (
    IndexWriteError,
    BuildReport,
    IndexBusy,
    IndexMissing,
    LoadError,
    Settings,
    build_index,
    discover,
    ensure_index,
    make_embedder,
    migrate_index,
    read_manifest,
    update_index,
    verify_index,
    watch,
)
from qa import Answer, Assistant, ModelMismatch, QuestionError, RetrievalMode
from qa.composers import ALIASES, COMPOSERS, ReaderComposer
from qa.generate import ComposerUnavailable
from qa.reader import ReaderUnavailable

USER_ERRORS = (
    ComposerUnavailable, IndexBusy, IndexMissing, IndexWriteError, LoadError, ModelMismatch, QuestionError,
    ReaderUnavailable, FileNotFoundError, ValueError,
)
COMPOSER_NAMES = (*COMPOSERS, *ALIASES)
FAILED, INTERRUPTED = 1, 130


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `qa ask … | head` ends quietly
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except USER_ERRORS as e:
        if getattr(args, "json", False):  # a script reading stdout gets an object either way
            print(json.dumps({"error": str(e)}, ensure_ascii=False))
        print(f"错误：{e}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return INTERRUPTED


def _settings(args) -> Settings:
    docs = getattr(args, "folder", None) or getattr(args, "docs", None)
    settings = Settings().with_(docs_dir=docs, index_dir=getattr(args, "index_dir", None))
    if docs and not getattr(args, "index_dir", None):
        settings = settings.with_(index_dir=_index_for(settings))
        location = settings.store_location
        if location.engine == "milvus" and settings.index_path != Settings().index_path:  # and its own collection
            key = settings.index_path.name.rsplit("-", 1)[-1]
            settings = settings.with_(store=location.with_collection(f"{location.collection}_{key}").uri)
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
    return 0  # skipped files are listed; the update itself went through


def print_report(report: BuildReport, settings: Settings) -> None:
    changes = [
        ("新增", report.added),
        ("更新", report.replaced),
        ("修复", report.repaired),  # its stored segment was damaged: embedded again from the file
        ("删除", report.removed),
    ]
    for label, names in changes:
        for name in names:
            print(f"  {label} {name}")
    for error in report.errors:
        print(f"  跳过 {error}", file=sys.stderr)
    state = f"嵌入 {report.chunks_embedded} 个新段落" if report.changed else "索引已是最新，无需改动"
    print(f"{state}；索引共 {report.documents} 个文件、{report.chunks} 个段落 → {settings.store_location}")


def _verify(args) -> int:
    settings = _settings(args)
    problems = verify_index(settings, make_embedder(settings))
    for problem in problems:
        print(f"问题：{problem}")
    if not problems:
        print(f"索引完整，与文档目录一致：{settings.store_location}")
    return 1 if problems else 0


def _migrate(args) -> int:
    report = migrate_index(_settings(args), args.to)
    print(f"已复制 {report.documents} 个文件、{report.chunks} 个段落（未重新嵌入）：{report.source} → {report.target}")
    print(f"使用它：QA_STORE={args.to}")
    return 0


def _watch(args) -> int:
    settings = _settings(args)
    print(f"正在监视 {settings.docs_dir}（每 {args.interval:g} 秒检查一次，Ctrl+C 结束）")
    watch(settings, make_embedder(settings), lambda report: print_report(report, settings), args.interval)
    return 0


def _status(args) -> int:
    settings = _settings(args)
    manifest = read_manifest(settings)
    reader = _reader_status(settings)
    if args.json:
        where = {"index_dir": str(settings.index_path), "store": str(settings.store_location), "reader": reader}
        print(json.dumps(asdict(manifest) | where, ensure_ascii=False, indent=2))
        return 0
    print(f"索引：{settings.store_location}")
    print(f"文件 {len(manifest.documents)} 个，段落 {manifest.chunk_count} 个，构建于 {manifest.built_at}")
    print(f"嵌入模型：{manifest.embedder}（{manifest.dim} 维，指纹 {manifest.fingerprint}）")
    print(f"切分：每段 {manifest.chunk_size} 字，重叠 {manifest.chunk_overlap} 字")
    print(f"阅读模型：{reader}")
    for name, entry in manifest.documents.items():
        print(f"  {name}  {entry.chunks} 段  sha256 {entry.id[:12]}")
    for name in manifest.skipped:
        print(f"  {name}  （无法读取，已跳过）")
    return 0


def _reader_status(settings: Settings) -> str:
    """The reader's name and fingerprint, or why it cannot answer."""
    try:
        return ReaderComposer(settings).version
    except ReaderUnavailable as e:
        return f"不可用：{e}"


def _ask(args) -> int:
    settings = _settings(args)
    result = None
    for result in Assistant(settings).stream(args.question, args.k, args.mode, args.composer):
        if result.draft and not args.json:  # the generative composer's words as they come
            print(f"\r{result.text}", end="", file=sys.stderr, flush=True)
    if result.composer == "generative" and not args.json:
        print(file=sys.stderr)
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
    lines += [f"注意：{warning}" for warning in result.warnings]
    return "\n".join(lines)


def _serve(args) -> int:
    settings = _settings(args)
    embedder = make_embedder(settings)
    report = ensure_index(settings, embedder)
    for error in report.errors if report else discover(settings.docs_dir).refused:
        print(f"跳过 {error}", file=sys.stderr)
    from ui.app import serve  # the chat's dependencies load only when it is asked for

    assistant = Assistant(settings, embedder)
    if settings.composer == "reader":  # now, not on the first question: a missing file is said at start
        assistant.composer("reader").reader.load()
    serve(assistant, host=args.host, port=args.port)
    return 0


def _eval(args) -> int:
    from eval import evaluate_config, load_set, report_comparison, report_json, report_text
    from eval.floor import check, load_floor, save_floor, updated
    from eval.report import kinds_text, write_report

    settings = _settings(args)
    embedder = make_embedder(settings)
    ensure_index(settings, embedder, progress=not args.json)
    assistant, questions = Assistant(settings, embedder), load_set(Path(args.set))
    floor = load_floor(args.floor) if args.floor else {}
    if args.compare:
        configurations = _configurations(args.compare)
    else:  # a floor was measured with one configuration; --mode overrides it knowingly
        mode, composer = args.mode or floor.get("mode"), floor.get("composer")
        configurations = [(mode or settings.retrieval, mode, composer)]
    evaluations = [evaluate_config(assistant, questions, args.k, m, c, name) for name, m, c in configurations]
    first = evaluations[0]
    if args.compare:
        summaries = {e.name: e.summary for e in evaluations}
        print(json.dumps(summaries, ensure_ascii=False, indent=2) if args.json else report_comparison(summaries))
    elif args.json:
        print(report_json(first.summary, first.outcomes))
    else:
        print(report_text(first.summary, first.outcomes))
        if len(first.by_kind) > 1:
            print("\n" + kinds_text(first))
    versions = sorted({assistant.composer(c).version for _, _, c in configurations})
    run_at = datetime.now()
    folder = args.out or settings.home / "eval" / f"{Path(args.set).stem}-{run_at:%Y%m%d-%H%M%S}"
    about = {
        "set": args.set,
        "questions": len(questions),
        "documents": str(settings.docs_dir),
        "embedder": embedder.name,
        "composers": ", ".join(versions),
        "k": args.k,
        "configurations": ", ".join(e.name for e in evaluations),
        "run at": run_at.isoformat(timespec="seconds"),
    }
    paths = write_report(Path(folder), evaluations, about)
    written = f"报告已写入 {paths['markdown']}（另有 {paths['json'].name}、{paths['chart'].name}）"
    print(written, file=sys.stderr if args.json else sys.stdout)
    if not floor:
        return 0
    if args.update_floor:
        save_floor(updated(floor, first.summary), args.floor)
        print(f"已按本次结果更新质量下限：{args.floor}", file=sys.stderr)
        return 0
    problems = check(first.summary, floor)
    for problem in problems:
        print(f"低于质量下限：{problem}", file=sys.stderr)
    if not problems:
        print(f"各项指标均不低于 {args.floor} 记录的下限", file=sys.stderr)
    return 1 if problems else 0


def _configurations(text: str) -> list[tuple[str, str | None, str | None]]:
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


def _bench(args) -> int:
    from eval.bench import DEFAULT_CORPUS, report_markdown, run

    sizes = tuple(int(size.replace("_", "")) for size in args.sizes.split(","))
    say = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    embedder = make_embedder(_settings(args))
    report = run(embedder, args.corpus or DEFAULT_CORPUS, args.files, sizes, args.queries, args.hnsw_max, args.rounds, say)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if args.json else report_markdown(report))
    return 0


def _train_reader(args) -> int:
    from dataclasses import replace

    from index import ensure_e5_model
    from qa.reader_train import TrainSettings, train

    settings = TrainSettings() if args.epochs is None else replace(TrainSettings(), epochs=args.epochs)
    card = train(args.drcd, settings=settings, base_folder=ensure_e5_model(Settings().model_cache), device=args.device)
    figures = card["validation"]
    print(f"已写入 qa/models/reader.safetensors（{card['bytes'] / 2**20:.1f} MB，sha256 {card['sha256'][:12]}），"
          f"训练 {card['train_seconds']:.0f} 秒（{card['trained_on']}）")
    print(f"验证集（DRCD test）：有答案题 F1 {figures['f1_answerable']:.3f}、EM {figures['em_answerable']:.3f}，"
          f"误拒答 {figures['false_abstention']:.3f}，无答案题拒答 {figures['abstention_on_unanswerable']:.3f}，阈值 {card['threshold']:.2f}")
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
    migrate = index_commands.add_parser("migrate", help="copy the index into another store without embedding again")
    migrate.add_argument("--to", required=True, metavar="URI", help="faiss://PATH, milvus://HOST:PORT/COLLECTION or FILE.db")
    migrate.set_defaults(run=_migrate)
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
    ask.add_argument("--composer", choices=COMPOSER_NAMES, help="default: $QA_COMPOSER or rules")
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
    evaluate.add_argument(
        "--compare",
        help=f"configurations to run side by side, comma-separated: retrieval modes ({modes}), "
        f"composers ({', '.join(COMPOSERS)}) or pairs (hybrid+rules)",
    )
    evaluate.add_argument("--out", type=Path, help="report folder (default: var/eval/<set>-<time>/)")
    evaluate.add_argument("--floor", type=Path, help="fail (exit 1) below the floors in this file (eval/floor.json)")
    evaluate.add_argument("--update-floor", action="store_true", help="rewrite the --floor file from this run")
    evaluate.set_defaults(run=_eval)
    bench = commands.add_parser("bench", help="indexing throughput; vector search latency, recall and memory by size")
    bench.add_argument("--sizes", default="1000,10000,100000,1000000", help="chunk counts of the synthetic indexes")
    bench.add_argument("--queries", type=int, default=100, help="queries timed per index")
    bench.add_argument("--corpus", type=Path, default=None, help="documents to index (default: eval/corpora/cmrc-trial)")
    bench.add_argument("--files", type=int, default=64, help="how many of the corpus's files to index")
    bench.add_argument("--rounds", type=int, default=2, help="indexing rounds (the median counts)")
    bench.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build HNSW at (slow to build)")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(run=_bench)

    reader = commands.add_parser("reader", help="the trained reader that finds answers in passages")
    reader_commands = reader.add_subparsers(required=True, metavar="action")
    train = reader_commands.add_parser("train", help="fine-tune it on DRCD and calibrate when it abstains (qa/models/)")
    train.add_argument("--drcd", type=Path, default=Path("../shared/bench/drcd"), help="folder of drcd_dev.json and drcd_test.json")
    train.add_argument("--epochs", type=int, help="passes over the training windows (default 2)")
    train.add_argument("--device", help="cpu or cuda (default: cuda when there is one)")
    train.set_defaults(run=_train_reader)

    for sub in (ask, evaluate):
        sub.add_argument("--mode", help=f"retrieval: {modes} (default: $QA_RETRIEVAL or hybrid)")

    for sub in (build, update, verify, migrate, watch_folder, status, ask, serve, evaluate):
        sub.add_argument("--docs", type=Path, help="documents folder (default: seeds/)")
        sub.add_argument("--index-dir", type=Path, help="index folder (default: var/index or $QA_INDEX_DIR)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
