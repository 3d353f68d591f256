"""File helpers every stage shares: content hashes, and files written whole or not at all."""

import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

_BLOCK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes (a document's id is this of its file's bytes)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read a block at a time (model weights run to hundreds of MB)."""
    digest = hashlib.sha256()
    _update(digest, Path(path))
    return digest.hexdigest()


def files_fingerprint(paths: Iterable[Path]) -> str:
    """A short hash of the files' names and bytes: the same weights give the same fingerprint."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        _update(digest, path)
    return digest.hexdigest()[:16]


def model_fingerprint(folder: Path, names: Iterable[str] = ()) -> str:
    """The fingerprint of a model folder's weights and configuration (or of the files `names`).
    Hashing e5-small's 466 MB takes most of a second, a fifth of a cold `qa ask`: the result is kept
    in the folder (`.fingerprint`) with each file's size and modification time, and computed again
    when any differ."""
    folder = Path(folder)
    files = sorted(folder / n for n in names) or sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".json")
    )
    stamps = [[str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    kept = folder / ".fingerprint"
    try:
        saved = json.loads(kept.read_text("utf-8"))
        if saved["files"] == stamps:
            return saved["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none kept yet, or unreadable: computed below
    fingerprint = files_fingerprint(files)
    try:
        atomic_write(kept, json.dumps({"files": stamps, "fingerprint": fingerprint}))
    except OSError:
        pass  # a read-only model folder: computed every time
    return fingerprint


def _update(digest, path: Path) -> None:
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)


def write_temp(folder: Path, data: bytes, prefix: str = ".", suffix: str = ".tmp", mode: int = 0o666) -> Path:
    """`data` in a new file of `folder` with a random name (hidden by the default prefix: the index
    skips dot files), flushed to disk. Created exclusively and never through a link. The caller
    renames or links it into place and removes it if that fails."""
    temp = Path(folder) / f"{prefix}{secrets.token_hex(8)}{suffix}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def atomic_write(path: Path, data: bytes | str, encoding: str = "utf-8", mode: int = 0o666) -> None:
    """Replace `path` with `data` (text is encoded) so that a reader sees the old file or the new
    one, never a part: written to a temporary file beside it, flushed, then renamed over it."""
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    temp = write_temp(path.parent, raw, prefix=f".{path.name}.", mode=mode)
    try:
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; where a folder cannot be opened (Windows), skip it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
