"""Read newsletter files into cleaned Documents, with a clear error for anything unreadable.

Only regular files inside the documents folder are read. Symbolic links are never followed,
not even links that stay inside the folder: a file linked from elsewhere in the folder is
indexed under its own name anyway, and a link can be pointed anywhere after it was listed.
Each file is opened component by component without following links (`open_inside`), so a
file swapped for a link between listing and reading is refused too."""

import errno
import math
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.clean import clean, is_hard_wrapped
from index.config import Settings
from index.files import sha256_bytes
from index.formats import EXTRACTORS, TEXT_SUFFIXES, Budget, FormatError
from index.issue import SidecarError, identify, sidecar_name
from index.profile import Profile, default_profile
from index.records import Document
from index.structure import articles

SUPPORTED_SUFFIXES = tuple(EXTRACTORS)
_READ_BLOCK = 1 << 20
_MAX_SIDECAR_BYTES = 64 * 2**10  # a few keys: anything larger is not a sidecar


class LoadError(Exception):
    """A file that cannot become a Document; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{shown_name(path.name)}：{reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """What one file may cost to read: bytes on disk, characters extracted, seconds spent.
    None is no limit (tests, benchmarks); the index reads with `Limits.of(settings)`."""

    max_bytes: int | None = None
    max_chars: int | None = None
    seconds: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(int(settings.indexing.max_file_mb * 2**20), settings.indexing.max_file_chars, settings.indexing.max_read_seconds)

    def budget(self) -> Budget:
        """A fresh budget for one file, its clock started now."""
        max_chars, seconds = (math.inf if limit is None else limit for limit in (self.max_chars, self.seconds))
        return Budget(max_chars=max_chars, seconds=seconds)

    def check_size(self, path: Path, size: int) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            raise LoadError(path, f"文件过大（{size / 2**20:.1f} MB，上限 {self.max_bytes / 2**20:.0f} MB）")


NO_LIMITS = Limits()


@dataclass(frozen=True)
class Listing:
    """What a documents folder holds for the index: the files it reads, and the entries it
    refuses to read (links, devices, pipes, names it cannot show), each with the reason."""

    files: list[Path]
    refused: list[LoadError]


def discover(docs_dir: Path) -> Listing:
    """The regular files of a documents folder that the index takes, in a stable order, and
    what it will not read. Hidden names (a leading dot: upload temporaries) are left alone."""
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"文档目录不存在：{docs_dir}")
    files, refused = [], []
    for path, entry in _walk(docs_dir):
        reason = _refusal(entry)
        if reason:
            refused.append(LoadError(path, reason))
        elif entry.is_file(follow_symlinks=False) and path.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(path)
    return Listing(sorted(files), sorted(refused, key=lambda e: e.path))


def _walk(folder: Path):
    """(path, entry) of everything under the folder, without following links into other folders."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:  # vanished or unreadable mid-walk: what cannot be listed is not there
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        yield path, entry
        if entry.is_dir(follow_symlinks=False) and not _refusal(entry):
            yield from _walk(path)


def _refusal(entry: os.DirEntry) -> str:
    """Why a folder entry is not read, or "" when it may be."""
    if entry.is_symlink():
        return "是符号链接，未读取（只读取文档目录中的普通文件，不跟随链接）"
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in entry.name):
        return "文件名含有换行、控制字符或无效编码，未读取；请改名后再放入"
    if entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False):
        return ""
    return "不是普通文件（设备、管道或套接字），未读取"


def shown_name(name: str) -> str:
    """A name fit for one line of a report: control characters and undecodable bytes escaped."""
    return "".join(c if unicodedata.category(c) not in ("Cc", "Cs") else ascii(c)[1:-1] for c in name)


def read_file(path: Path, docs_dir: Path, limits: Limits = NO_LIMITS) -> bytes:
    """A document's bytes, read only if it is a regular file inside the folder reached without
    links, and only after its size (fstat) is within the limit. LoadError otherwise;
    FileNotFoundError when it has gone since it was listed."""
    fd = open_inside(docs_dir, path.relative_to(docs_dir))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(path, "不是普通文件（目录、设备、管道或套接字），未读取")
        limits.check_size(path, info.st_size)
        # Read no more than the limit allows even if the file grows while it is read.
        budget = limits.max_bytes + 1 if limits.max_bytes is not None else -1
        data = file.read(budget)
    limits.check_size(path, len(data))
    return data


def open_inside(root: Path, relative: Path) -> int:
    """A read-only descriptor of root/relative, opened one component at a time with O_NOFOLLOW:
    a link anywhere on the way is refused (LoadError), never followed."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    folder = os.open(root, flags | os.O_DIRECTORY)
    try:
        *parents, name = relative.parts
        for part in parents:
            inner = _open_at(part, flags | os.O_DIRECTORY, folder, root / relative)
            os.close(folder)
            folder = inner
        # O_NONBLOCK: a pipe swapped in for the file must not hang the open; fstat refuses it.
        return _open_at(name, flags | os.O_NONBLOCK, folder, root / relative)
    finally:
        os.close(folder)


def _open_at(name: str, flags: int, folder: int, path: Path) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW, dir_fd=folder)
    except OSError as e:
        # O_NOFOLLOW refuses a link with ELOOP, or with ENOTDIR where a folder was asked for.
        if e.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, folder):
            raise LoadError(path, "是符号链接，未读取（只读取文档目录中的普通文件，不跟随链接）") from e
        raise


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=folder).st_mode)
    except OSError:
        return False


def read_sidecar(path: Path, docs_dir: Path) -> bytes | None:
    """The bytes of the document's sidecar (NAME.meta.toml beside it, index/issue.py), None when it
    has none; read as carefully as a document (LoadError for a link or one too large)."""
    sidecar = docs_dir / sidecar_name(path.relative_to(docs_dir).as_posix())
    try:
        return read_file(sidecar, docs_dir, Limits(max_bytes=_MAX_SIDECAR_BYTES))
    except FileNotFoundError:
        return None
    except LoadError as e:
        raise LoadError(path, f"说明文件 {sidecar.name} {e.reason}") from e
    except OSError as e:
        raise LoadError(path, f"无法读取说明文件 {sidecar.name}（{e.strerror or e}）") from e


def file_id(data: bytes, sidecar: bytes | None = None) -> str:
    """What names a document's content: its bytes, and its sidecar's when it has one (a new sidecar
    re-reads that document alone)."""
    return sha256_bytes(data if sidecar is None else data + b"\0" + sidecar)


def load_document(path: Path, docs_dir: Path, limits: Limits = NO_LIMITS, profile: Profile | None = None) -> Document:
    """Read, decode and clean one file of the folder; raise LoadError if it cannot be read as a newsletter."""
    try:
        data = read_file(path, docs_dir, limits)
    except OSError as e:
        raise LoadError(path, f"无法读取文件（{e.strerror or e}）") from e
    return parse_document(data, path, docs_dir, limits, profile, read_sidecar(path, docs_dir))


def parse_document(
    data: bytes,
    path: Path,
    docs_dir: Path,
    limits: Limits = NO_LIMITS,
    profile: Profile | None = None,
    sidecar: bytes | None = None,
) -> Document:
    """A file's bytes, already read, as a Document; `path` names it and chooses the format, `profile`
    the newsletter's conventions (the packaged one if None), `sidecar` the bytes of its
    NAME.meta.toml if it has one. Extraction, cleaning and reading the articles share one budget
    of characters and seconds."""
    profile = profile or default_profile()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(path, f"不支持的文件类型 {path.suffix or '（无扩展名）'}；支持 {' '.join(SUPPORTED_SUFFIXES)}")
    limits.check_size(path, len(data))
    budget = limits.budget()
    try:
        raw = EXTRACTORS[suffix](data, budget)
        text, paragraphs = clean(raw, hard_wrapped=suffix in TEXT_SUFFIXES and is_hard_wrapped(raw), profile=profile)
        found = articles(paragraphs, profile)
        budget.check(len(text))  # the time cleaning and structure took counts too
        name = path.relative_to(docs_dir).as_posix()
        issue = identify([p.text for p in paragraphs], name, sidecar, profile)
    except FormatError as e:
        raise LoadError(path, str(e)) from e
    except SidecarError as e:
        raise LoadError(path, f"{sidecar_name(path.name)}：{e}") from e
    if not paragraphs:
        raise LoadError(path, "文件没有可索引的文字内容")
    if not any(article.body for article in found):
        raise LoadError(path, "文件只有标题，没有可索引的正文")
    return Document(id=file_id(data, sidecar), name=name, text=text, paragraphs=paragraphs, articles=found, issue=issue)
