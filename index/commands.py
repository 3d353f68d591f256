"""The index stage's commands: `qa index build|update|verify|migrate|watch|status` and `qa bench`.

Also what every stage's commands share: the options that say which documents and index
(`index_options`), and `Wiring`, what the entry point hands each command."""

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from index import (
    BuildReport,
    Embedder,
    IndexBusy,
    IndexMissing,
    IndexWriteError,
    LoadError,
    Settings,
    build_index,
    make_embedder,
    migrate_index,
    read_manifest,
    update_index,
    verify_index,
    watch,
)
from index.issue import Issue, issues_by_date, sidecar_name

# Raised for something the user can fix: printed as one line, exit 1 (`cli.main`).
ERRORS = (IndexBusy, IndexMissing, IndexWriteError, LoadError, FileNotFoundError, ValueError)


@dataclass(frozen=True)
class Wiring:
    """What the entry point hands every command (as click's context object): how settings and the
    embedder are made, and what other stages add to `qa index status`. Tests hand a fake embedder."""

    make_embedder: Callable[[Settings], Embedder] = make_embedder
    settings_changes: dict = field(default_factory=dict)  # applied to every command's Settings
    # Lines other stages add to `qa index status`: (JSON key, label, value).
    status_extras: Callable[[Settings], list[tuple[str, str, str]]] = lambda settings: []
    # A running server's assistant (qa.Assistant; ui/api.py): `qa ask` with its settings answers with it.
    resident: object | None = None
    # Runs a command line in this process (cli.run, set by the entry): how a server runs its clients' `qa ask`.
    run: Callable[[list[str], "Wiring"], int] | None = None

    def settings(self, docs: Path | None = None, index_dir: Path | None = None) -> Settings:
        return Settings().with_(**{"docs_dir": docs, "index_dir": index_dir} | self.settings_changes)


def index_options(command: Callable) -> Callable:
    """--docs and --index-dir, read from the environment as Settings does; the command gets `settings`."""

    @click.option("--index-dir", type=click.Path(path_type=Path), envvar="QA_INDEX_DIR",
                  help="index folder (default: var/index, or var/indexes/<folder> for another --docs)")
    @click.option("--docs", type=click.Path(path_type=Path), envvar="QA_DOCS_DIR", help="documents folder (default: seeds/)")
    @click.pass_obj
    @functools.wraps(command)
    def with_settings(wiring: Wiring, docs: Path | None, index_dir: Path | None, **options):
        return command(wiring, wiring.settings(docs, index_dir), **options)

    return with_settings


json_option = click.option("--json", "as_json", is_flag=True, help="print one JSON object")


@click.group("index")
def index_group():
    """build or inspect the index"""


@index_group.command()
@click.option("--full", is_flag=True, help="rebuild from nothing, embedding every file again")
@index_options
def build(wiring: Wiring, settings: Settings, full: bool) -> int:
    """build the index (only new or changed files are embedded)"""
    report = (build_index if full else update_index)(settings, wiring.make_embedder(settings))
    print_report(report, settings)
    return 0  # skipped files are listed; the update itself went through


@index_group.command()
@index_options
def update(wiring: Wiring, settings: Settings) -> int:
    """add new files, replace changed ones, drop deleted ones"""
    print_report(update_index(settings, wiring.make_embedder(settings)), settings)
    return 0


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


@index_group.command()
@index_options
def verify(wiring: Wiring, settings: Settings) -> int:
    """check the index for consistency with itself and the files (exit 1 on a problem)"""
    problems = verify_index(settings, wiring.make_embedder(settings))
    for problem in problems:
        print(f"问题：{problem}")
    if not problems:
        print(f"索引完整，与文档目录一致：{settings.store_location}")
    return 1 if problems else 0


@index_group.command()
@click.option("--to", "target", required=True, metavar="URI", help="faiss://PATH, milvus://HOST:PORT/COLLECTION or FILE.db")
@index_options
def migrate(wiring: Wiring, settings: Settings, target: str) -> int:
    """copy the index into another store without embedding again"""
    report = migrate_index(settings, target)
    print(f"已复制 {report.documents} 个文件、{report.chunks} 个段落（未重新嵌入）：{report.source} → {report.target}")
    print(f"使用它：QA_STORE={target}")
    return 0


@index_group.command("watch")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
@click.option("--interval", type=float, default=2.0, show_default=True, help="seconds between checks")
@index_options
def watch_folder(wiring: Wiring, settings: Settings, folder: Path | None, interval: float) -> int:
    """update the index whenever files arrive in the folder (default: seeds/)"""
    settings = wiring.settings(folder, settings.index_dir) if folder else settings
    print(f"正在监视 {settings.docs_dir}（每 {interval:g} 秒检查一次，Ctrl+C 结束）")
    watch(settings, wiring.make_embedder(settings), lambda report: print_report(report, settings), interval)
    return 0


@index_group.command()
@json_option
@index_options
def status(wiring: Wiring, settings: Settings, as_json: bool) -> int:
    """what the index holds and how it was built"""
    manifest = read_manifest(settings)
    extras = wiring.status_extras(settings)
    if as_json:
        where = {"index_dir": str(settings.index_path), "store": str(settings.store_location)}
        more = {key: value for key, _, value in extras}
        print(json.dumps(asdict(manifest) | where | more, ensure_ascii=False, indent=2))
        return 0
    print(f"索引：{settings.store_location}")
    print(f"文件 {len(manifest.documents)} 个，段落 {manifest.chunk_count} 个，构建于 {manifest.built_at}")
    print(f"嵌入模型：{manifest.embedder}（{manifest.dim} 维，指纹 {manifest.fingerprint}）")
    print(f"切分：每段 {manifest.chunk_size} 字，重叠 {manifest.chunk_overlap} 字")
    for _, label, value in extras:
        print(f"{label}：{value}")
    print("期次（按日期）：")
    for name, entry in issues_by_date(manifest):
        issue = Issue(number=entry.issue, date=entry.date)
        known = issue.label if issue.known else f"期次未能识别（可在旁边放 {sidecar_name(name)} 注明）"
        print(f"  {known}  {name}  {entry.articles} 篇文章  {entry.chunks} 段  sha256 {entry.id[:12]}")
    for name in manifest.skipped:
        print(f"  {name}  （无法读取，已跳过）")
    return 0


@click.command()
@click.option("--sizes", default="1000,10000,100000,1000000", show_default=True, help="chunk counts of the synthetic indexes")
@click.option("--queries", type=int, default=100, show_default=True, help="queries timed per index")
@click.option("--corpus", type=click.Path(path_type=Path), help="documents to index (default: eval/corpora/cmrc-trial)")
@click.option("--files", type=int, default=64, show_default=True, help="how many of the corpus's files to index")
@click.option("--rounds", type=int, default=2, show_default=True, help="indexing rounds (the median counts)")
@click.option("--hnsw-max", type=int, default=100_000, show_default=True, help="largest size to build HNSW at (slow to build)")
@json_option
@click.pass_obj
def bench(wiring: Wiring, sizes: str, queries: int, corpus: Path | None, files: int, rounds: int, hnsw_max: int, as_json: bool) -> int:  # `qa bench search`
    """indexing throughput; vector search latency, recall and memory by size"""
    from index.bench import DEFAULT_CORPUS, report_markdown, run

    chunk_counts = tuple(int(size.replace("_", "")) for size in sizes.split(","))
    say = (lambda line: None) if as_json else (lambda line: print(line, file=sys.stderr, flush=True))
    embedder = wiring.make_embedder(wiring.settings())
    report = run(embedder, corpus or DEFAULT_CORPUS, files, chunk_counts, queries, hnsw_max, rounds, say)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if as_json else report_markdown(report))
    return 0

