"""The server's guards (ui/guard.py): the parts as units, then over HTTP against two `qa serve`
processes, one read-only with a login and one that takes uploads."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index import Settings
from tests.conftest import ROOT, SEED_FILE, free_port, wait_for_server
from ui import guard

USER, PASSWORD = "reader", "s3cret-pass"


# The limiter, with a clock the test moves --------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock, **changes) -> guard.LoginLimiter:
    options = dict(max_failures=3, base_delay=10.0, max_delay=60.0, window=600.0, clock=clock) | changes
    return guard.LoginLimiter(**options)


def _fail(limiter, address, times=1):
    for _ in range(times):
        assert limiter.admit(address) == 0
        limiter.settle(address, guard.LOGIN_REFUSED)


def test_the_delay_starts_at_the_threshold_doubles_and_is_capped():
    clock = Clock()
    limiter = _limiter(clock)
    _fail(limiter, "a", 2)
    assert limiter.admit("a") == 0  # two failures: still no wait
    limiter.settle("a", guard.LOGIN_REFUSED)
    assert limiter.admit("a") == 10.0
    clock.now += 10
    _fail(limiter, "a")
    assert limiter.admit("a") == 20.0
    assert [limiter.delay(n) for n in (3, 4, 5, 6, 7, 100)] == [10, 20, 40, 60, 60, 60]


def test_a_success_resets_the_address_and_other_addresses_are_unaffected():
    clock = Clock()
    limiter = _limiter(clock)
    _fail(limiter, "a", 3)
    assert limiter.admit("a") > 0
    assert limiter.admit("b") == 0
    limiter.settle("b", guard.LOGIN_ACCEPTED)
    clock.now += 10
    assert limiter.admit("a") == 0
    limiter.settle("a", guard.LOGIN_ACCEPTED)
    assert len(limiter) == 0
    _fail(limiter, "a", 2)
    assert limiter.admit("a") == 0  # counting starts again from nothing


def test_parallel_guesses_cannot_outrun_the_count():
    limiter = _limiter(Clock())
    assert [limiter.admit("a") for _ in range(4)] == [0, 0, 0, 1.0]
    for _ in range(3):
        limiter.settle("a", None)  # no answer (the client went away): neither failure nor success
    assert limiter.admit("a") == 0


def test_old_entries_are_pruned_and_the_table_stays_bounded():
    clock = Clock()
    limiter = _limiter(clock, max_addresses=50)
    for n in range(200):
        _fail(limiter, f"10.0.{n // 250}.{n % 250}")
    assert len(limiter) == 50
    _fail(limiter, "x", 3)
    clock.now += 601  # past the window and the lock
    assert limiter.admit("y") == 0
    assert len(limiter) == 1  # only y, in flight
    assert limiter.admit("x") == 0  # x's failures were forgotten with it


# The middleware, with hand-made ASGI scopes ------------------------------------------------


class FakeGradio:
    """Stands in for Gradio's app: /login answers 400 or 200 by the form's password."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        body = (await receive())["body"]
        status = 200 if f"password={PASSWORD}".encode() in body else 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _request(app, path, body=b"", client="10.0.0.1", method="POST"):
    """Runs one request through an ASGI app; returns (status, headers, body)."""
    scope = {"type": "http", "method": method, "path": path, "headers": [], "client": (client, 5000)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def _login(app, password, client):
    return _request(app, "/login", f"username={USER}&password={password}".encode(), client)[0]


def test_the_throttle_answers_429_per_address_and_passes_the_rest():
    inner = FakeGradio()
    app = guard.LoginThrottle(inner, _limiter(Clock()))
    assert [_login(app, "wrong", "10.0.0.1") for _ in range(3)] == [400, 400, 400]
    status, headers, body = _request(app, "/login", b"password=" + PASSWORD.encode(), "10.0.0.1")
    assert status == 429 and headers[b"retry-after"] == b"10"
    assert body.decode() == "登录失败次数过多，请 10 秒后再试"
    assert inner.calls == 3  # the refused one never reached Gradio
    assert _login(app, PASSWORD, "10.0.0.2") == 200
    assert _request(app, "/myqa/login/", b"password=x", "10.0.0.1")[0] == 429  # under a root_path
    _request(app, "/gradio_api/info", client="10.0.0.1", method="GET")
    assert inner.calls == 5  # any other route goes through, even from a locked address


class MustNotRun:
    async def __call__(self, scope, receive, send):
        raise AssertionError("the refused request reached the app")


def test_read_only_refuses_upload_routes_without_reading_the_body():
    app = guard.RefuseRoutes(MustNotRun(), endings=guard.UPLOAD_ROUTES, text=guard.READ_ONLY_TEXT)
    scope = {"type": "http", "method": "POST", "path": "/myqa/gradio_api/upload", "headers": []}
    sent = []

    async def receive():
        raise AssertionError("the body was read")

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 403 and sent[1]["body"].decode() == "只读模式：不接受上传"
    inner = FakeGradio()
    _request(guard.RefuseRoutes(inner, endings=guard.UPLOAD_ROUTES, text=guard.READ_ONLY_TEXT), "/gradio_api/upload_progress")
    assert inner.calls == 1


def _guards(settings: Settings) -> list[str]:
    return [m.cls.__name__ for m in guard.middleware(settings)]


def test_the_guards_follow_the_settings():
    assert _guards(Settings().with_(allow_upload=True, auth="")) == ["RefuseRoutes"]  # recordings, always
    assert _guards(Settings().with_(allow_upload=False, auth="a:b")) == ["RefuseRoutes", "RefuseRoutes", "LoginThrottle"]


# The sweeper and the temp folder ----------------------------------------------------------


def test_sweep_removes_old_files_and_then_their_empty_folders(tmp_path):
    now = time.time()
    old, fresh = tmp_path / "aaa" / "old.txt", tmp_path / "bbb" / "fresh.txt"
    for path in (old, fresh):
        path.parent.mkdir()
        path.write_text("x")
    os.utime(old, (now - 7200, now - 7200))
    (tmp_path / "link").symlink_to(fresh)
    os.utime(tmp_path / "link", (now - 7200, now - 7200), follow_symlinks=False)
    assert guard.sweep(tmp_path, max_age=3600, empty_for=60, now=now) == 2
    assert not old.exists() and fresh.exists() and not (tmp_path / "link").is_symlink()
    assert (tmp_path / "aaa").is_dir()  # just emptied: kept until it has been empty a while
    guard.sweep(tmp_path, max_age=3600, empty_for=60, now=now + 120)
    assert not (tmp_path / "aaa").exists() and (tmp_path / "bbb").is_dir() and tmp_path.is_dir()


def test_the_temp_folder_is_always_home_uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", "/tmp")  # a shared folder the sweeper must never empty
    settings = Settings(home=tmp_path / "var")
    assert guard.use_temp_folder(settings) == (tmp_path / "var" / "uploads").resolve()
    assert os.environ["GRADIO_TEMP_DIR"] == str((tmp_path / "var" / "uploads").resolve())
    import gradio.utils

    assert gradio.utils.get_upload_folder() == os.environ["GRADIO_TEMP_DIR"]  # read at call time


# Over HTTP ---------------------------------------------------------------------------------

# `qa serve` with the fake embedder, the Settings changes in argv[1] and the sweep interval in argv[2].
LAUNCH = """
import json, sys
import cli
import ui.guard
from index.commands import Wiring
from tests.conftest import FakeEmbedder

changes, ui.guard.SWEEP_INTERVAL = json.loads(sys.argv[1]), float(sys.argv[2])
wiring = Wiring(make_embedder=lambda settings: FakeEmbedder(), settings_changes=changes)
sys.exit(cli.main(sys.argv[3:], wiring))
"""



def _start(home: Path, env: dict, changes: dict, sweep_interval: float) -> tuple[subprocess.Popen, str]:
    docs = home / "docs"
    docs.mkdir()
    shutil.copy(SEED_FILE, docs)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GRADIO_TEMP_DIR", "QA_AUTH", "QA_READ_ONLY")} | {
        "QA_HOME": str(home), "QA_DOCS_DIR": str(docs), "QA_INDEX_DIR": str(home / "index"),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",  # uvicorn's default: loopback may name the client
    } | env
    args = [sys.executable, "-c", LAUNCH, json.dumps(changes), str(sweep_interval), "serve", "--port", str(port)]
    log = (home / "serve.log").open("w")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return process, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Both servers, started together (each takes a while to come up): a read-only one behind a
    login with a two-second base delay, and a writable one sweeping every half second."""
    read_only_home, writable_home = tmp_path_factory.mktemp("read-only"), tmp_path_factory.mktemp("writable")
    login = {"login_base_delay": 2.0, "login_max_delay": 60.0}
    started = [
        (_start(read_only_home, {"QA_READ_ONLY": "1", "QA_AUTH": f"{USER}:{PASSWORD}"}, login, 300), read_only_home),
        (_start(writable_home, {}, {}, 0.5), writable_home),
    ]
    try:
        for (process, url), home in started:
            wait_for_server(url, process, home / "serve.log")
        yield {"read_only": (started[0][0][1], read_only_home), "writable": (started[1][0][1], writable_home)}
    finally:
        for (process, _), _ in started:
            process.terminate()
        for (process, _), _ in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _client(url: str, address: str) -> httpx.Client:
    """A client that uvicorn takes to be at `address` (it trusts X-Forwarded-For from loopback)."""
    return httpx.Client(base_url=url, timeout=10, headers={"X-Forwarded-For": address})


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()] if folder.exists() else []


def _upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    return client.post("gradio_api/upload", files={"files": (name, content, "text/plain")})


def test_read_only_upload_is_refused_and_nothing_is_stored(servers):
    url, home = servers["read_only"]
    with _client(url, "10.1.0.1") as client:
        assert client.post("login", data={"username": USER, "password": PASSWORD}).status_code == 200
        response = _upload(client, "note.txt", "上传的内容".encode() * 20_000)
        assert response.status_code == 403 and response.text == guard.READ_ONLY_TEXT
    assert (home / "uploads").is_dir()  # the project's temp folder is the one in use ...
    assert _files(home / "uploads") == []  # ... and it stays empty


def test_wrong_passwords_lock_the_address_out_and_the_delay_doubles(servers):
    url, _ = servers["read_only"]
    wrong, right = {"username": USER, "password": "nope"}, {"username": USER, "password": PASSWORD}
    with _client(url, "10.2.0.1") as client, _client(url, "10.2.0.2") as other:
        assert [client.post("login", data=wrong).status_code for _ in range(3)] == [400, 400, 400]
        locked = client.post("login", data=wrong)
        assert locked.status_code == 429 and locked.headers["retry-after"] == "2"
        assert locked.text == "登录失败次数过多，请 2 秒后再试"
        assert client.post("login", data=right).status_code == 429  # even the right password waits
        assert other.post("login", data=right).status_code == 200  # another address does not
        time.sleep(2.1)
        assert client.post("login", data=wrong).status_code == 400  # let through once, and failed again
        doubled = client.post("login", data=right)
        assert doubled.status_code == 429 and doubled.headers["retry-after"] == "4"
        time.sleep(4.1)
        assert client.post("login", data=right).status_code == 200
        assert client.post("login", data=wrong).status_code == 400  # the success reset the count


def test_an_upload_lands_in_the_project_folder_and_is_swept_when_old(servers):
    url, home = servers["writable"]
    with _client(url, "10.3.0.1") as client:
        old = Path(_upload(client, "old.txt", b"old upload").raise_for_status().json()[0])
        fresh = Path(_upload(client, "fresh.txt", b"fresh upload").raise_for_status().json()[0])
        assert old.parent.parent == (home / "uploads").resolve() and old.read_bytes() == b"old upload"
        assert client.get(f"gradio_api/file={old}").content == b"old upload"  # Gradio serves it from there
    hour_ago = time.time() - Settings().chat.upload_max_age - 60
    os.utime(old, (hour_ago, hour_ago))
    deadline = time.monotonic() + 15
    while old.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not old.exists() and not old.parent.exists()  # the file, then its empty folder
    assert fresh.read_bytes() == b"fresh upload"
