"""Files uploaded in the chat, checked and stored in the documents folder, never anywhere else."""

import errno
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index import SUPPORTED_SUFFIXES, Limits, LoadError, Settings, discover, file_id, parse_document, read_file
from index.files import write_temp
from index.text import collapse_spaces

# Whole name at most this many UTF-8 bytes: well inside the 255 of common file systems, with room
# for a « (2)» when the name is taken.
MAX_NAME_BYTES = 180
# Windows and Samba refuse these in names, and a share of the documents folder is likely.
_FORBIDDEN = re.compile(r'[<>:"|?*]')


class UploadRefused(Exception):
    """An uploaded file that is not stored; the message, in Chinese, names the file and says why."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}：{reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    original: str  # the name the browser sent
    name: str  # the name in the documents folder
    note: str = ""  # why the name differs, when it does


def safe_name(original: str) -> str:
    """A plain file name for the documents folder: the last path component, without control or
    format characters (RTL overrides), characters other systems refuse, or leading dots; at most
    MAX_NAME_BYTES. Raises UploadRefused when nothing usable is left or the type is unsupported."""
    shown = _shown(original)
    name = unicodedata.normalize("NFC", original).replace("\\", "/").split("/")[-1]
    name = collapse_spaces(name)  # tabs and newlines become spaces before controls go
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = collapse_spaces(_FORBIDDEN.sub("_", name)).strip(" .")
    suffix = Path(name).suffix
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UploadRefused(shown, f"不支持的文件类型 {suffix or '（无扩展名）'}；支持 {' '.join(SUPPORTED_SUFFIXES)}")
    stem = name[: -len(suffix)].strip(" .")
    if not stem:
        raise UploadRefused(shown, "文件名无效")
    budget = MAX_NAME_BYTES - len(suffix.encode())
    while len(stem.encode()) > budget:
        stem = stem[:-1]
    return stem.rstrip(" .") + suffix


def store_upload(source: Path, original: str, settings: Settings, known: dict[str, str] | None = None) -> Stored:
    """Check one uploaded file (name, type, size, duplicate content, readable as an issue) and
    store it under settings.docs_dir. `known` maps content hashes to names already in the folder
    (document_hashes); the stored file is added to it, so one batch cannot store a file twice."""
    name = safe_name(original)
    shown = _shown(original)
    limits = Limits.of(settings)
    try:
        size = source.stat().st_size
        if size > limits.max_bytes:  # before reading it
            raise UploadRefused(shown, f"文件过大（{size / 2**20:.3g} MB，上限 {settings.indexing.max_file_mb:g} MB）")
        data = source.read_bytes()
    except OSError as e:
        raise UploadRefused(shown, f"无法读取上传的文件（{e.strerror or e}）") from e
    docs = settings.docs_dir
    known = document_hashes(docs, limits) if known is None else known
    digest = file_id(data)
    if digest in known:
        raise UploadRefused(shown, f"与已有的文件 {known[digest]} 内容相同，未重复加入")
    try:
        parse_document(data, docs / name, docs, limits, settings.profile)
    except LoadError as e:
        raise UploadRefused(shown, e.reason) from e
    stored = _write_new(docs, name, data)
    known[digest] = stored
    notes = []
    if name != original:
        notes.append(f"文件名含有路径、不能使用的字符或过长，已改为 {name}")
    if stored != name:
        notes.append(f"已有同名文件，另存为 {stored}")
    return Stored(original=shown, name=stored, note="；".join(notes))


def store_uploads(files: list[tuple[Path, str]], settings: Settings) -> tuple[list[Stored], list[UploadRefused]]:
    """Store each of (temporary path, name sent) that passes; the others are refused one by one."""
    stored, refused = [], []
    known = document_hashes(settings.docs_dir, Limits.of(settings))
    for source, original in files:
        try:
            stored.append(store_upload(source, original, settings, known))
        except UploadRefused as e:
            refused.append(e)
    return stored, refused


# Per documents folder: path → (size, mtime, content hash) of the files listed at the last call.
_hash_cache: dict[Path, dict[Path, tuple[int, int, str]]] = {}


def document_hashes(docs_dir: Path, limits: Limits) -> dict[str, str]:
    """Content hash (the index's file id) → name of every file the index would take from the
    folder; a file unchanged since the last call (size, mtime) is not read again, and one over
    the size limit not at all (the index refuses it anyway)."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    cached, kept = _hash_cache.get(docs_dir, {}), {}
    found = {}
    for path in discover(docs_dir).files:
        try:
            stat = path.stat(follow_symlinks=False)
            known = cached.get(path)
            if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
                digest = known[2]
            else:
                digest = file_id(read_file(path, docs_dir, limits))
            kept[path] = (stat.st_size, stat.st_mtime_ns, digest)
        except (OSError, LoadError):
            continue
        found.setdefault(digest, path.relative_to(docs_dir).as_posix())
    _hash_cache[docs_dir] = kept  # files no longer listed are dropped
    return found


def _write_new(docs: Path, name: str, data: bytes) -> str:
    """Write to a hidden temporary file in the folder (the index skips dot files), then link it
    to a name nobody holds: a file already there, or a link planted at the name, is never
    overwritten or followed. Returns the name used."""
    docs.mkdir(parents=True, exist_ok=True)
    # Linked, not renamed, into place (index/files.py's atomic_write would replace a file there).
    temp = write_temp(docs, data, prefix=".upload-", suffix=".part", mode=0o644)
    try:
        stem, suffix = Path(name).stem, Path(name).suffix
        for attempt in range(1, 1000):
            candidate = name if attempt == 1 else f"{stem} ({attempt}){suffix}"
            target = docs / candidate
            if target.parent != docs:  # cannot happen after safe_name; never write elsewhere
                raise UploadRefused(name, "文件名无效")
            try:
                _link_exclusive(temp, target)
                return candidate
            except FileExistsError:
                continue
        raise UploadRefused(name, "同名文件太多，请改名后再上传")
    finally:
        temp.unlink(missing_ok=True)


def _link_exclusive(temp: Path, target: Path) -> None:
    try:
        os.link(temp, target)
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: claim the name exclusively, then move the data in.
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644))
        os.replace(temp, target)


def _shown(name: str) -> str:
    """The name as sent, fit to be shown in a message: control characters as ?, cut at 60."""
    printable = "".join(c if unicodedata.category(c)[0] != "C" else "?" for c in name)
    return (printable[:60] + "…" if len(printable) > 60 else printable) or "（无名文件）"
