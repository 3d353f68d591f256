"""The chat's command: `qa serve`. Gradio loads only when it runs."""

import io
import json
import os
import secrets
import signal
import sys
import threading
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import replace

import click
from starlette.middleware import Middleware

from index import Settings, discover, ensure_index
from index.commands import Wiring, index_options
from index.files import atomic_write
from qa import Assistant
from ui.api import NotResident, Reply, Request, ResidentRoute, qa_environment, server_file


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=7860, show_default=True)
@index_options
def serve(wiring: Wiring, settings: Settings, host: str, port: int) -> int:
    """the chat in the browser (updates the index first if it is stale)"""
    from ui.app import serve as serve_chat

    embedder = wiring.make_embedder(settings)
    report = ensure_index(settings, embedder)
    for error in report.errors if report else discover(settings.docs_dir).refused:
        print(f"跳过 {error}", file=sys.stderr)
    assistant = Assistant(settings, embedder)
    if settings.answering.composer == "reader":  # now, not on the first question: a missing file is said at start
        assistant.composer("reader").reader.load()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does: its announcement goes too
    token = secrets.token_urlsafe(32)
    route = Middleware(ResidentRoute, answer=resident_answers(wiring, assistant), token=token)
    with announced(settings, host, port, token):
        serve_chat(assistant, host=host, port=port, middleware=[route])
    return 0


def resident_answers(wiring: Wiring, assistant: Assistant):
    """What the local HTTP API runs for a client's `qa ask` (ui/api.py): the command itself, in this
    process, with this server's assistant; None (declined) for another folder, environment or index."""
    run = wiring.run  # the entry's own runner: the same options, messages and exit codes
    resident = replace(wiring, resident=assistant, make_embedder=_not_resident)
    environment, lock = qa_environment(), threading.Lock()

    def answer(request: Request) -> Reply | None:
        if request.env != environment or request.cwd != os.getcwd():
            return None
        stdout, stderr = io.StringIO(), io.StringIO()
        # One at a time: what the command prints is caught process-wide.
        with lock, redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                code = run(["ask", *request.argv], resident)
            except NotResident:
                return None
        return Reply(code, stdout.getvalue(), stderr.getvalue())

    return answer


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _not_resident(settings: Settings):
    raise NotResident(settings.index_path)


@contextmanager
def announced(settings: Settings, host: str, port: int, token: str):
    """`<home>/server.json` while the server runs: where a `qa ask` finds it, and the token it
    must show (readable by this user only)."""
    path = server_file(settings.home)
    path.parent.mkdir(parents=True, exist_ok=True)
    local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"
    atomic_write(path, json.dumps({"url": url, "pid": os.getpid(), "token": token}), mode=0o600)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
