"""`qa ask` and a running `qa serve` (ui/api.py): answered by the server, loading nothing, when
the server holds the same index; answered by itself when none is up or the server declines."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import uvicorn
from starlette.testclient import TestClient

from cli import run
from index.commands import Wiring
from tests.conftest import ROOT, SEEDS
from ui.api import ROUTE, TOKEN_HEADER, Reply, ResidentRoute, ask_resident, server_file
from ui.commands import announced, resident_answers

QUESTION = "上半年代销工银瑞信基金多少？"
TOKEN = "a-test-token-of-some-length"
# Runs `qa ask` as the installed entry does and prints which of the heavy modules it loaded.
PROBE = (
    "import sys, cli; code = cli.main(sys.argv[1:]); "
    "print(json.dumps([m for m in ('index', 'qa', 'numpy', 'onnxruntime', 'torch') if m in sys.modules])); sys.exit(code)"
)


async def _not_found(scope, receive, send):
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(real_assistant, monkeypatch):
    """The resident route in front of nothing, answering with the seed's real assistant, announced
    in the assistant's home as `qa serve` announces itself."""
    settings = real_assistant.settings
    monkeypatch.setenv("QA_HOME", str(settings.home))  # the client's environment is the server's
    port = _free_port()
    app = ResidentRoute(_not_found, resident_answers(Wiring(run=run), real_assistant), TOKEN)
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.05)
    with announced(settings, "127.0.0.1", port, TOKEN):
        yield settings
    running.should_exit = True
    thread.join(10)


def _ask(*args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    done = subprocess.run([sys.executable, "-c", "import json; " + PROBE, "ask", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return done, json.loads(done.stdout.strip().splitlines()[-1])


def test_ask_answers_from_a_running_server_and_loads_nothing(server):
    assert oct(server_file(server.home).stat().st_mode & 0o777) == "0o600"
    done, loaded = _ask(QUESTION, "--docs", str(SEEDS), "--index-dir", str(server.index_dir), "--json")
    assert done.returncode == 0, done.stderr
    assert loaded == []  # neither the index nor numpy, let alone a model
    answer = json.loads(done.stdout[: done.stdout.rindex("\n[")])
    assert "1096亿元" in answer["text"] and answer["citations"]


def test_errors_come_back_as_the_command_says_them(server):
    done, loaded = _ask("", "--docs", str(SEEDS), "--index-dir", str(server.index_dir))
    assert done.returncode == 1 and "问题是空的" in done.stderr and loaded == []


def test_a_server_of_another_index_declines_and_ask_answers_by_itself(server, tmp_path):
    done, loaded = _ask(QUESTION, "--docs", str(SEEDS), "--index-dir", str(tmp_path / "none"))
    assert "index" in loaded and "qa" in loaded  # answered here: with no index there, it says so
    assert done.returncode == 1 and "索引" in done.stderr


def test_without_a_server_ask_answers_by_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_HOME", str(tmp_path))
    assert ask_resident([QUESTION]) is None  # nothing announced
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    server_file(tmp_path).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": int(dead), "token": TOKEN}))
    assert ask_resident([QUESTION]) is None  # announced by a server that has died


def test_the_route_wants_the_token_and_a_well_formed_request():
    answers: list = []

    def answer(request):
        answers.append(request)
        return Reply(0, "答", "") if request.argv == [QUESTION] else None

    client = TestClient(ResidentRoute(_not_found, answer, TOKEN))
    request = {"argv": [QUESTION], "cwd": os.getcwd(), "env": {}}
    assert client.post(ROUTE, json=request).status_code == 403
    assert client.post(ROUTE, json=request, headers={TOKEN_HEADER: "wrong"}).status_code == 403
    assert client.post(ROUTE, content=b"{", headers={TOKEN_HEADER: TOKEN}).status_code == 400
    assert client.post(ROUTE, json=request | {"argv": "x"}, headers={TOKEN_HEADER: TOKEN}).status_code == 400
    assert client.post(ROUTE, json=request | {"argv": ["别的"]}, headers={TOKEN_HEADER: TOKEN}).status_code == 409
    reply = client.post(ROUTE, json=request, headers={TOKEN_HEADER: TOKEN})
    assert reply.status_code == 200 and reply.json() == {"code": 0, "stdout": "答", "stderr": ""}
    assert client.get("/elsewhere").status_code == 404  # every other path goes on to the chat
    assert len(answers) == 2


def test_the_client_finds_the_server_where_settings_put_its_home(monkeypatch):
    from index import Settings

    monkeypatch.delenv("QA_HOME", raising=False)
    assert server_file() == Settings().home / "server.json"
