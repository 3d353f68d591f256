"""`qa bench`: how fast an answer comes — from a cold `qa ask`, from a running server, warm in a
process, quiet and beside a CPU-bound neighbour — and what indexing costs; each figure beside its
baseline, measured in the same run.

- Cold start: `qa ask` as a fresh process (the median of --asks) with each query encoder: torch
  (sentence-transformers, the baseline), ONNX Runtime float32 and int8 (index/onnx_embed.py), and
  the default one again with a `qa serve` running (ui/api.py).
- Answers: the seed set's questions, one at a time, in one process: answer and retrieval-only
  p50/p95 with the torch encoder (baseline) and the default one, and the default one with the
  trained reader composing (its share: what it adds to the rules' answer). Quiet, then with a
  neighbour: one busy loop per core, started and stopped here, bounded in time even if this dies.
- Indexing: `qa index build` of --files files of the CMRC trial corpus (median of 3 rounds) against the encoder's raw
  `embed_passages` of the same texts (index/bench.py), torch and the default encoder; the
  default's vectors against torch's (cosine).

Machines are shared and noisy: medians, and ratios to the baseline of the same run.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index import Settings, build_index, make_embedder
from index.bench import DEFAULT_CORPUS, measure_indexing
from qa import Assistant

from eval.run import load_set

ROOT = Path(__file__).resolve().parents[1]
SEED_SET = ROOT / "eval" / "sets" / "seed.jsonl"
BASELINE = "e5-small"  # sentence-transformers on torch: the encoder before ONNX Runtime
ENCODERS = {"e5-small": "torch", "e5-small-onnx": "ONNX Runtime float32", "e5-small-onnx-int8": "ONNX Runtime int8"}
QUESTION = "上半年代销工银瑞信基金多少？"
BUSY_LOOP = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end: pass"
SERVER_START_TIMEOUT = 600.0
INDEXING_ROUNDS = 3


@dataclass(frozen=True)
class Latency:
    answer_p50_ms: float
    answer_p95_ms: float
    retrieval_p50_ms: float
    retrieval_p95_ms: float


@dataclass(frozen=True)
class AnswerRow:
    label: str
    quiet: Latency
    busy: Latency


@dataclass(frozen=True)
class IndexingRow:
    label: str
    passages: int
    build_per_s: float
    encode_per_s: float
    cosine_min: float | None = None  # to torch's vectors of the same passages
    cosine_median: float | None = None


@dataclass(frozen=True)
class SpeedReport:
    default: str
    cold_ask_s: dict[str, float] = field(default_factory=dict)  # label → median seconds
    answers: list[AnswerRow] = field(default_factory=list)
    reader_share: dict[str, float] = field(default_factory=dict)  # quiet/busy → share of the answer p50
    indexing: list[IndexingRow] = field(default_factory=list)
    load_average: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def run(settings: Settings, asks: int = 3, files: int = 64, say: Callable[[str], None] = lambda line: None,
        reader: bool = True) -> SpeedReport:
    # The seed indexes below get homes of their own; the models stay where they are (not converted again).
    os.environ["QA_MODEL_CACHE"] = str(settings.model_cache)
    default = settings.indexing.embedder
    encoders = [BASELINE] + [e for e in ENCODERS if e != BASELINE]
    with tempfile.TemporaryDirectory(prefix="qa-speed-") as tmp:
        indexes = {}
        for name in encoders:  # outside every timing: exports, conversions, the seed's index
            say(f"准备 {name} 的索引 …")
            indexes[name] = _seed_index(settings, name, Path(tmp))
        cold = {}
        for name in encoders:
            say(f"冷启动 qa ask（{name}）…")
            cold[ENCODERS[name]] = _cold_asks(indexes[name], asks)
        say("冷启动 qa ask（已有 qa serve 运行）…")
        cold[f"{ENCODERS[default]}，qa serve 运行中"] = _asks_with_server(indexes[default], asks)
        say("逐题作答：安静 / 繁忙 …")
        answers, share = _answers(indexes, default, reader)
        say("索引速度 …")
        indexing = _indexing(settings, [BASELINE, default], files)
    return SpeedReport(default, cold, answers, share, indexing, os.getloadavg()[0])


def _seed_index(settings: Settings, embedder: str, tmp: Path) -> Settings:
    seed = settings.with_(embedder=embedder, docs_dir=ROOT / "seeds", home=tmp / embedder, index_dir=tmp / embedder / "index")
    build_index(seed, make_embedder(seed), progress=False)
    return seed


def _environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, "QA_EMBEDDER": settings.indexing.embedder, "QA_HOME": str(settings.home)}


def _ask_args(settings: Settings) -> list[str]:
    return [str(Path(sys.executable).with_name("qa")), "ask", QUESTION, "--docs", str(settings.docs_dir),
            "--index-dir", str(settings.index_dir)]


def _cold_asks(settings: Settings, count: int) -> float:
    """The median wall time of `qa ask` as a fresh process."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run(_ask_args(settings), env=_environment(settings), capture_output=True, check=True, timeout=600)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _asks_with_server(settings: Settings, count: int) -> float:
    """`qa ask` while `qa serve` runs on the same index: the server answers."""
    port = _free_port()
    serve = [str(Path(sys.executable).with_name("qa")), "serve", "--port", str(port), "--docs", str(settings.docs_dir),
             "--index-dir", str(settings.index_dir)]
    server = subprocess.Popen(serve, env=_environment(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(server, port)
        subprocess.run(_ask_args(settings), env=_environment(settings), capture_output=True, check=True)  # its first question
        return _cold_asks(settings, count)
    finally:
        server.terminate()
        server.wait(60)


def _wait_for(server: subprocess.Popen, port: int) -> None:
    """Until the server listens (it announces itself before it does)."""
    import socket

    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"qa serve 未能启动（退出码 {server.poll()}）")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(indexes: dict[str, Settings], default: str, reader: bool) -> tuple[list[AnswerRow], dict[str, float]]:
    questions = [q.question for q in load_set(SEED_SET)]
    configurations = [(f"{ENCODERS[BASELINE]} 编码器", BASELINE, None), (f"{ENCODERS[default]} 编码器", default, None)]
    if reader:
        configurations.append((f"{ENCODERS[default]} 编码器 + 阅读器", default, "reader"))
    assistants = {name: Assistant(indexes[name]) for _, name, _ in configurations}
    measured: dict[str, dict[str, Latency]] = {label: {} for label, _, _ in configurations}
    for condition in ("quiet", "busy"):
        with busy_neighbour() if condition == "busy" else nullcontext():
            for label, name, composer in configurations:
                measured[label][condition] = _latency(assistants[name], questions, composer)
    rows = [AnswerRow(label, m["quiet"], m["busy"]) for label, m in measured.items()]
    share = {}
    if reader:
        rules, with_reader = rows[1], rows[2]
        for condition in ("quiet", "busy"):
            total = getattr(with_reader, condition).answer_p50_ms
            share[condition] = max(0.0, total - getattr(rules, condition).answer_p50_ms) / total
    return rows, share


def _latency(assistant: Assistant, questions: list[str], composer: str | None) -> Latency:
    assistant.answer(questions[0], composer=composer)  # loads what the first question loads
    answers, retrievals = [], []
    for question in questions:
        started = time.perf_counter()
        result = assistant.answer(question, composer=composer)
        answers.append(time.perf_counter() - started)
        retrievals.append(result.timings.get("retrieve", 0.0))
    return Latency(*_p50_p95(answers), *_p50_p95(retrievals))


def _p50_p95(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return 1000 * statistics.median(ordered), 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def busy_neighbour(seconds: float = 900.0) -> Iterator[None]:
    """One CPU-bound process per core for the duration: each ends by itself after `seconds`."""
    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(seconds)]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.5)  # under way before anything is timed
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def _indexing(settings: Settings, encoders: list[str], files: int) -> list[IndexingRow]:
    rows, vectors = [], {}
    for name in encoders:
        embedder = make_embedder(settings.with_(embedder=name))
        # Three rounds, the median: one round of a few dozen chunks moved the ratio by a third.
        measured, vectors[name], _ = measure_indexing(embedder, DEFAULT_CORPUS, files, INDEXING_ROUNDS, lambda line: None)
        cosine = (vectors[name] * vectors[BASELINE]).sum(axis=1) if name != BASELINE else None
        rows.append(IndexingRow(ENCODERS[name], measured.chunks, measured.build_rate, measured.encode_rate,
                                None if cosine is None else float(cosine.min()),
                                None if cosine is None else float(np.median(cosine))))
    return rows


def report_markdown(report: SpeedReport) -> str:
    base_cold = report.cold_ask_s[ENCODERS[BASELINE]]
    lines = [f"默认编码器：{report.default}（{ENCODERS[report.default]}）；基线：{ENCODERS[BASELINE]}，同一次运行测得；"
             f"负载 {report.load_average:.2f}", "", "## 冷启动：`qa ask`，新进程（中位数）", "",
             "| 方式 | 秒 | × 基线 |", "|---|---:|---:|"]
    lines += [f"| {label} | {s:.2f} | {s / base_cold:.2f}× |" for label, s in report.cold_ask_s.items()]
    lines += ["", "## 逐题作答（种子集，毫秒）：安静 / 旁边有繁忙进程", "",
              "| 配置 | 作答 p50 | p95 | 检索 p50 | p95 | 繁忙：作答 p50 | p95 | 检索 p50 | p95 | 繁忙 ÷ 安静（作答 p50） |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in report.answers:
        q, b = row.quiet, row.busy
        lines.append(f"| {row.label} | {q.answer_p50_ms:.1f} | {q.answer_p95_ms:.1f} | {q.retrieval_p50_ms:.1f} | "
                     f"{q.retrieval_p95_ms:.1f} | {b.answer_p50_ms:.1f} | {b.answer_p95_ms:.1f} | {b.retrieval_p50_ms:.1f} | "
                     f"{b.retrieval_p95_ms:.1f} | {b.answer_p50_ms / q.answer_p50_ms:.2f}× |")
    if report.reader_share:
        lines += ["", "阅读器在作答中所占时间（p50）：" + "，".join(
            f"{'安静' if k == 'quiet' else '繁忙'} {v:.0%}" for k, v in report.reader_share.items())]
    base_rate = report.indexing[0].build_per_s
    lines += ["", "## 索引（CMRC 试验集文档）", "", "| 编码器 | 段落 | 索引 段/秒 | × 基线 | 纯编码 段/秒 | 与 torch 向量余弦 最小 / 中位 |",
              "|---|---:|---:|---:|---:|---|"]
    for row in report.indexing:
        cosine = "—" if row.cosine_min is None else f"{row.cosine_min:.4f} / {row.cosine_median:.4f}"
        lines.append(f"| {row.label} | {row.passages} | {row.build_per_s:.1f} | {row.build_per_s / base_rate:.2f}× | "
                     f"{row.encode_per_s:.1f} | {cosine} |")
    return "\n".join(lines)
