"""Load test: concurrent chat users asking seed questions while an index update runs.

Starts `qa serve` on 127.0.0.1 with its own copy of the seeds, measures one user alone, then
`--users` users for `--seconds` (each at most `--max-requests`), while a new issue is added and
`qa index update` runs beside the server. Every answer must equal the one the single user got
(no torn answers) and none may be an error. Prints p50/p95 latency, loaded against alone.

    python bench/load.py --users 20 --seconds 60
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval import load_set  # noqa: E402
from index.text import collapse_spaces  # noqa: E402

NEW_ISSUE = "工行举办首届数字金融创新大赛，共有126支队伍参赛，最终评出金奖3项、银奖6项。\n供稿：科技部\n"
ERRORS = ("系统出错", "暂时无法回答", "Traceback")


def main() -> int:
    args = _arguments()
    questions = [q.question for q in load_set(ROOT / "eval/sets/seed.jsonl") if q.question.strip()][: args.questions]
    with tempfile.TemporaryDirectory(prefix="qa-load-") as home:
        docs = Path(home) / "docs"
        shutil.copytree(ROOT / "seeds", docs)
        port = _free_port()
        server = _start_server(Path(home), docs, port)
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_until_up(url, server)
            alone, expected = _single_user(url, questions)
            loaded, answers, errors, updated = _many_users(url, questions, args, docs, Path(home))
        finally:
            server.terminate()
            server.wait(timeout=30)
    torn = [q for q, got in answers if got != expected[q]]
    _report(alone, loaded, errors, torn, updated, args)
    return 1 if errors or torn or not updated else 0


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=200, help="per user, a bound besides the time")
    parser.add_argument("--questions", type=int, default=40, help="seed questions to draw from")
    return parser.parse_args()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(home: Path) -> dict:
    models = os.environ.get("QA_MODEL_CACHE") or str(ROOT / "var" / "models")  # converted once, shared
    return os.environ | {"QA_HOME": str(home), "QA_INDEX_DIR": str(home / "index"), "QA_MODEL_CACHE": models}


def _start_server(home: Path, docs: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "cli", "serve", "--docs", str(docs), "--port", str(port)]
    log = (home / "server.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=_environment(home), stdout=log, stderr=subprocess.STDOUT)


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped while starting")
        try:
            Client(url, verbose=False)
            return
        except Exception:
            time.sleep(2)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s")


def _ask(client: Client, question: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = client.predict(question, [], {"current": "", "ids": []}, "hybrid", 5, "rules", api_name="/respond")
    seconds = time.perf_counter() - started
    chat = result[1]
    reply = chat[-1]["content"] if chat else ""
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    return seconds, _visible_text(text)


def _visible_text(html: str) -> str:
    """The answer as read: tags dropped, runs of white space made one space."""
    text = re.sub(r"<[^>]+>", " ", html)
    return collapse_spaces(text).strip()


def _single_user(url: str, questions: list[str]) -> tuple[list[float], dict[str, str]]:
    client, latencies, answers = Client(url, verbose=False), [], {}
    for question in questions:
        seconds, answers[question] = _ask(client, question)
        latencies.append(seconds)
    return latencies, answers


def _many_users(url, questions, args, docs: Path, home: Path):
    latencies, answers, errors, lock = [], [], [], threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def user(seed: int) -> None:
        client, pick = Client(url, verbose=False), random.Random(seed)
        for _ in range(args.max_requests):
            if time.monotonic() >= stop_at:
                return
            question = pick.choice(questions)
            try:
                seconds, text = _ask(client, question)
            except Exception as e:  # counted, not raised: the load goes on
                with lock:
                    errors.append(f"{question}: {type(e).__name__}: {e}")
                continue
            with lock:
                latencies.append(seconds)
                answers.append((question, text))
                if any(marker in text for marker in ERRORS):
                    errors.append(f"{question}: {text[:80]}")

    threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
    for thread in threads:
        thread.start()
    time.sleep(min(10, args.seconds / 4))
    (docs / "load-new-issue.txt").write_text(NEW_ISSUE, "utf-8")
    update = subprocess.run(
        [sys.executable, "-m", "cli", "index", "update", "--docs", str(docs)],
        cwd=ROOT, env=_environment(home), capture_output=True, text=True,
    )
    for thread in threads:
        thread.join()
    if update.returncode:
        errors.append(f"index update failed: {update.stderr[-300:]}")
    new_content = _ask(Client(url, verbose=False), "数字金融创新大赛共有多少支队伍参赛？")[1]
    return latencies, answers, errors, "126支" in new_content and update.returncode == 0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _report(alone, loaded, errors, torn, updated, args) -> None:
    print(f"{'':<28}{'p50 s':>8}{'p95 s':>8}{'answers':>9}")
    for name, values in (("1 user (baseline)", alone), (f"{args.users} users, {args.seconds:.0f} s", loaded)):
        print(f"{name:<28}{statistics.median(values):>8.2f}{_percentile(values, 0.95):>8.2f}{len(values):>9}")
    print(f"p50 ratio loaded/alone: {statistics.median(loaded) / statistics.median(alone):.1f}×")
    print(f"errors: {len(errors)}; torn answers (differing from the single user's): {len(torn)}")
    print(f"update during load: {'done, new issue answerable' if updated else 'FAILED'}")
    for line in (errors + [f"torn: {q}" for q in torn])[:10]:
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
