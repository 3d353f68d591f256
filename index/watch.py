"""Watch a documents folder and update the index when files arrive, change or go."""

import threading
from collections.abc import Callable

from index.build import BuildReport, update_index
from index.config import Settings
from index.embed import Embedder
from index.load import discover


def snapshot(settings: Settings) -> dict[str, tuple[int, int]]:
    """Name → (size, mtime) of every file the index would take, and of every entry it refuses
    (a link, a pipe: the update reports those): cheap to poll."""
    listing = discover(settings.docs_dir)
    found = {e.path.relative_to(settings.docs_dir).as_posix(): (0, 0) for e in listing.refused}
    for path in listing.files:
        try:
            stat = path.stat(follow_symlinks=False)
        except OSError:  # deleted between listing and stat
            continue
        found[path.relative_to(settings.docs_dir).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def watch(
    settings: Settings,
    embedder: Embedder,
    on_update: Callable[[BuildReport], None],
    interval: float = 2.0,
    settle: float = 2.0,
    stop: threading.Event | None = None,
) -> None:
    """Poll the folder; once it has changed and then stayed still for `settle` seconds (a burst
    of files being copied in), run one update. Runs until `stop` is set."""
    stop = stop or threading.Event()
    on_update(update_index(settings, embedder))
    seen = snapshot(settings)
    while not stop.wait(interval):
        now = snapshot(settings)
        if now == seen:
            continue
        while not stop.wait(settle):
            later = snapshot(settings)
            if later == now:
                break
            now = later
        if stop.is_set():
            return
        on_update(update_index(settings, embedder))
        seen = now
