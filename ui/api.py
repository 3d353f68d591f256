"""The local HTTP API of a running `qa serve`: `qa ask` answers from it when one is up, and then
loads nothing itself (a cold `qa ask` spends seconds loading the model and the index; the server
has them loaded).

The client sends its command line, working folder and QA_* environment; the server runs that very
`qa ask` with its resident assistant and sends back what it printed and its exit code. Where
anything differs — another folder, another environment, another index — the server declines and
the client answers by itself, so an answer never comes from an index the user did not name.

The server announces itself in `<home>/server.json` (its address, pid and a random token; readable
by its owner only). The route answers only requests carrying that token: only who can read the
server's home can ask through it. This module is the client as well, and imports nothing heavy.
"""

import json
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROUTE = "/qa/ask"
TOKEN_HEADER = "x-qa-token"
SERVER_FILE = "server.json"
DEFAULT_HOME = "var"  # Settings.home's default (index/config.py), read here without importing index
MAX_REQUEST_BYTES = 64 * 1024
ANSWER_TIMEOUT = 300.0  # a generative composer may write for a minute


class NotResident(Exception):
    """The command asks for settings other than the running server's: the client answers itself."""


@dataclass(frozen=True)
class Request:
    """What a `qa ask` process sends: its arguments after `ask`, working folder and QA_* variables."""

    argv: list[str]
    cwd: str
    env: dict[str, str]


@dataclass(frozen=True)
class Reply:
    code: int
    stdout: str
    stderr: str


def qa_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("QA_")}


def server_file(home: Path | None = None) -> Path:
    return Path(home or os.environ.get("QA_HOME") or DEFAULT_HOME).expanduser() / SERVER_FILE


# The client: `qa ask` (cli/__init__.py) before it loads anything.


def ask_resident(argv: list[str]) -> int | None:
    """Run `qa ask argv` on the running server and print its output; its exit code, or None where
    no server is up, it declines, or it cannot be reached (then `qa ask` answers by itself)."""
    server = _announced()
    if server is None:
        return None
    body = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": qa_environment()}, ensure_ascii=False).encode()
    request = urllib.request.Request(server["url"] + ROUTE, body, {"content-type": "application/json", TOKEN_HEADER: server["token"]})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a proxy never sees localhost
    try:
        with opener.open(request, timeout=ANSWER_TIMEOUT) as response:
            reply = json.loads(response.read())
        code, stdout, stderr = int(reply["code"]), str(reply["stdout"]), str(reply["stderr"])
    except (OSError, ValueError, KeyError, TypeError):  # refused, declined (409), gone, or garbled
        return None
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return code


def _announced() -> dict | None:
    """The server's announcement, when its process is alive."""
    try:
        server = json.loads(server_file().read_text("utf-8"))
        os.kill(int(server["pid"]), 0)  # left behind by a server that died: not tried
        return server if isinstance(server.get("url"), str) and isinstance(server.get("token"), str) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# The server: an ASGI layer in front of the chat (ui/app.py), the way ui/guard.py's guards are.


class ResidentRoute:
    """Answers POST ROUTE with `answer(Request)` run in a worker thread: 200 and the Reply as
    JSON, 409 when it declines (returns None), 403 without the token; other paths pass through."""

    def __init__(self, app, answer, token: str):
        self.app, self.answer, self.token = app, answer, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != ROUTE:
            await self.app(scope, receive, send)
            return
        import hmac

        from starlette.concurrency import run_in_threadpool

        headers = dict(scope.get("headers") or [])
        if scope.get("method") != "POST" or not hmac.compare_digest(headers.get(TOKEN_HEADER.encode(), b""), self.token.encode()):
            await _send_json(send, 403, {"error": "forbidden"})
            return
        request = _parse(await _body(receive))
        reply = await run_in_threadpool(self.answer, request) if request else None
        if reply is None:
            await _send_json(send, 409 if request else 400, {"error": "declined" if request else "bad request"})
            return
        await _send_json(send, 200, {"code": reply.code, "stdout": reply.stdout, "stderr": reply.stderr})


async def _body(receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_REQUEST_BYTES or not message.get("more_body"):
            return b"".join(chunks)[: MAX_REQUEST_BYTES + 1]


def _parse(body: bytes) -> Request | None:
    try:
        data = json.loads(body) if len(body) <= MAX_REQUEST_BYTES else None
        request = Request(argv=data["argv"], cwd=data["cwd"], env=data["env"])
    except (ValueError, KeyError, TypeError):
        return None
    argv, cwd, env = request.argv, request.cwd, request.env
    well_formed = isinstance(argv, list) and all(isinstance(a, str) for a in argv) and isinstance(cwd, str) and isinstance(env, dict)
    return request if well_formed else None


async def _send_json(send, status: int, data: dict) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()
    head = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
