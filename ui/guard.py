"""The chat server's guards: upload routes refused when read-only, a growing per-address delay
after failed logins, and a sweeper that keeps Gradio's temp folder from filling the disk."""

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.middleware import Middleware

from index import Settings

log = logging.getLogger(__name__)

# Gradio 6 serves its API under /gradio_api; matching the path's end also covers a root_path
# prefix that a reverse proxy keeps in the path.
UPLOAD_ROUTES = ("/gradio_api/upload",)  # stores the body on disk
# The page records nothing, and this route writes to /tmp, outside the swept folder: always refused.
RECORDING_ROUTES = ("/gradio_api/process_recording",)
LOGIN_ROUTE = "/login"
READ_ONLY_TEXT = "只读模式：不接受上传"
NO_RECORDING_TEXT = "不接受录音上传"
TOO_MANY_FAILURES_TEXT = "登录失败次数过多，请 {seconds} 秒后再试"
LOGIN_REFUSED = 400  # what Gradio's /login answers to wrong credentials
LOGIN_ACCEPTED = 200
SWEEP_INTERVAL = 300.0  # seconds between sweeps of the temp folder; read when the server starts
MAX_TRACKED_ADDRESSES = 10_000  # login bookkeeping stays this small, however many addresses try


def middleware(settings: Settings) -> list[Middleware]:
    """The guards for `launch(app_kwargs={"middleware": ...})`: Gradio passes app_kwargs to its
    FastAPI app, so these run as plain ASGI around every route, before any route reads a body."""
    guards = [Middleware(RefuseRoutes, endings=RECORDING_ROUTES, text=NO_RECORDING_TEXT)]
    if not settings.chat.allow_upload:
        guards.append(Middleware(RefuseRoutes, endings=UPLOAD_ROUTES, text=READ_ONLY_TEXT))
    if settings.chat.auth:
        limiter = LoginLimiter(
            max_failures=settings.chat.login_max_failures, base_delay=settings.chat.login_base_delay,
            max_delay=settings.chat.login_max_delay, window=settings.chat.login_window,
        )
        guards.append(Middleware(LoginThrottle, limiter=limiter))
    return guards


def _path(scope) -> str:
    return scope.get("path", "").rstrip("/")


async def _send_text(send, status: int, text: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = text.encode()
    head = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + list(headers)})
    await send({"type": "http.response.body", "body": body})


class RefuseRoutes:
    """Answers 403 with a short text to any request whose path ends with one of `endings`,
    without reading its body: a refused upload never reaches the disk."""

    def __init__(self, app, endings: tuple[str, ...], text: str):
        self.app = app
        self.endings = endings
        self.text = text

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _path(scope).endswith(self.endings):
            await _send_text(send, 403, self.text)
            return
        await self.app(scope, receive, send)


@dataclass
class _Attempts:
    """One client address's recent logins."""

    failures: int = 0
    in_flight: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class LoginLimiter:
    """Counts failed logins per client address and says how long an address must wait.

    Only the event loop's thread calls it, so it needs no lock. Records are kept in the order
    they were last touched, so the stale ones are at the front and pruning stops at the first
    fresh one."""

    def __init__(
        self, max_failures: int, base_delay: float, max_delay: float, window: float,
        clock: Callable[[], float] = time.monotonic, max_addresses: int = MAX_TRACKED_ADDRESSES,
    ):
        self.max_failures = max(max_failures, 1)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.window = window
        self.clock = clock
        self.max_addresses = max_addresses
        self._attempts: dict[str, _Attempts] = {}

    def __len__(self) -> int:
        return len(self._attempts)

    def admit(self, address: str) -> float:
        """0 when a login from `address` may go ahead (it is then counted as in flight until
        `settle`), else the seconds it must wait."""
        now = self.clock()
        self._forget_stale(now)
        attempts = self._attempts.setdefault(address, _Attempts())
        if now < attempts.locked_until:
            return attempts.locked_until - now
        # Without this, a burst of parallel guesses would all pass before the first failure is
        # counted; with it, no more are in flight than the failures still allowed (one, once locked).
        if attempts.in_flight and attempts.failures + attempts.in_flight >= self.max_failures:
            return 1.0
        attempts.in_flight += 1
        self._keep_bounded()
        return 0.0

    def settle(self, address: str, status: int | None) -> None:
        """Record how an admitted login ended: Gradio's HTTP status, None when it gave none."""
        attempts = self._attempts.get(address)
        if attempts is None:  # pruned to keep the table bounded while it was in flight
            return
        attempts.in_flight = max(attempts.in_flight - 1, 0)
        if status == LOGIN_ACCEPTED:
            attempts.failures, attempts.locked_until = 0, 0.0
        elif status == LOGIN_REFUSED:
            now = self.clock()
            attempts.failures += 1
            attempts.last_failure = now
            if attempts.failures >= self.max_failures:
                attempts.locked_until = now + self.delay(attempts.failures)
            self._attempts[address] = self._attempts.pop(address)  # to the back: the freshest
        if not attempts.failures and not attempts.in_flight:
            del self._attempts[address]

    def delay(self, failures: int) -> float:
        """The wait after `failures` failures in a row: base_delay at the threshold, doubling."""
        doublings = min(failures - self.max_failures, 32)  # 2**32 × any base is past any cap
        return min(self.base_delay * 2**doublings, self.max_delay)

    def _forget_stale(self, now: float) -> None:
        while self._attempts:
            address, attempts = next(iter(self._attempts.items()))
            if attempts.in_flight or now < max(attempts.last_failure + self.window, attempts.locked_until):
                return
            del self._attempts[address]

    def _keep_bounded(self) -> None:
        while len(self._attempts) > self.max_addresses:
            del self._attempts[next(iter(self._attempts))]


class LoginThrottle:
    """Refuses a login with 429 and Retry-After while its client address must wait; tells the
    limiter how each admitted login ended. Gradio's auth callable sees no request, so the
    address can only be known here. Behind a reverse proxy on this host, uvicorn has already
    put the forwarded client's address in the scope (it trusts X-Forwarded-For from loopback)."""

    def __init__(self, app, limiter: LoginLimiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not _path(scope).endswith(LOGIN_ROUTE):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("",))[0]
        wait = self.limiter.admit(address)
        if wait:
            seconds = math.ceil(wait)
            text = TOO_MANY_FAILURES_TEXT.format(seconds=seconds)
            await _send_text(send, 429, text, ((b"retry-after", str(seconds).encode()),))
            return
        status = None

        async def send_noting_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.limiter.settle(address, status)


def use_temp_folder(settings: Settings) -> Path:
    """Gradio's temp folder, made: always home/uploads, put into the environment, so that the
    sweeper never empties a folder shared with others (a GRADIO_TEMP_DIR of /tmp, say). Gradio
    reads the variable when each component and its server app are made
    (gradio.utils.get_upload_folder), so this must run before the app is built."""
    folder = (settings.home / "uploads").resolve()
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_sweeper(folder: Path, max_age: float, every: float) -> threading.Event:
    """Sweeps `folder` now and then every `every` seconds in a daemon thread; set the returned
    event to stop it.

    Not Gradio's own delete_cache: that removes only the files this process recorded (so not
    the leftovers of one that crashed or was killed), judges age by ctime, leaves the per-upload
    subfolders behind, and empties the whole cache at shutdown."""
    stop = threading.Event()

    def sweep_until_stopped():
        while True:
            try:
                sweep(folder, max_age, empty_for=every)
            except Exception:  # a sweep that fails must not end the sweeping
                log.exception("清理上传临时目录 %s 失败", folder)
            if stop.wait(every):
                return

    threading.Thread(target=sweep_until_stopped, name="upload-sweeper", daemon=True).start()
    return stop


def sweep(folder: Path, max_age: float, empty_for: float, now: float | None = None) -> int:
    """Removes the files under `folder` last modified more than `max_age` seconds ago, and the
    subfolders empty and unchanged for `empty_for` seconds; returns how many files went.

    The wait for empty subfolders is there because Gradio makes a folder for each upload and
    moves the file in a moment later; emptying a folder changes its time, so one this sweep
    emptied goes at the next."""
    now = time.time() if now is None else now
    removed = 0
    for parent, folders, files in os.walk(folder, topdown=False):  # children before their parent
        for name in files:
            removed += _remove_if_older(Path(parent, name), now - max_age)
        for name in folders:
            path = Path(parent, name)
            if path.is_symlink():  # a link is removed as a file; what it points to is left alone
                removed += _remove_if_older(path, now - max_age)
            else:
                _remove_if_empty(path, now - empty_for)
    return removed


def _remove_if_older(path: Path, cutoff: float) -> int:
    try:
        if path.lstat().st_mtime >= cutoff:
            return 0
        path.unlink()
        return 1
    except FileNotFoundError:  # gone already: Gradio or another sweep took it
        return 0
    except OSError as error:
        log.warning("无法删除上传临时文件 %s：%s", path, error)
        return 0


def _remove_if_empty(path: Path, cutoff: float) -> None:
    try:
        if path.lstat().st_mtime < cutoff:
            path.rmdir()
    except OSError:  # not empty, or gone already
        pass
