"""Read newsletter files into cleaned Documents, with a clear error for anything unreadable."""

import hashlib
from pathlib import Path

from index.clean import clean
from index.formats import EXTRACTORS, FormatError
from index.records import Document
from index.structure import articles

TEXT_SUFFIXES = (".txt", ".md")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + tuple(EXTRACTORS)
# Share of control characters above which bytes are taken for a binary file, not text.
_MAX_CONTROL_SHARE = 0.01


class LoadError(Exception):
    """A file that cannot become a Document; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


def discover(docs_dir: Path) -> list[Path]:
    """The files of a documents folder that the index takes, in a stable order."""
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"文档目录不存在：{docs_dir}")
    return sorted(
        p
        for p in docs_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(docs_dir).parts)
    )


def file_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_document(path: Path, docs_dir: Path, max_bytes: int | None = None) -> Document:
    """Read, decode and clean one file; raise LoadError if it cannot be read as a newsletter."""
    try:
        _check_size(path, path.stat().st_size, max_bytes)  # before reading a huge file at all
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(path, f"无法读取文件（{e.strerror or e}）") from e
    return parse_document(data, path, docs_dir, max_bytes)


def parse_document(data: bytes, path: Path, docs_dir: Path, max_bytes: int | None = None) -> Document:
    """A file's bytes, already read, as a Document; `path` names it and chooses the format."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(path, f"不支持的文件类型 {path.suffix or '（无扩展名）'}；支持 {' '.join(SUPPORTED_SUFFIXES)}")
    _check_size(path, len(data), max_bytes)
    if suffix in TEXT_SUFFIXES:
        text, paragraphs = clean(decode_text(data, path))
    else:
        text, paragraphs = clean(_extract(data, path), hard_wrapped=False)
    if not paragraphs:
        raise LoadError(path, "文件没有可索引的文字内容")
    return Document(
        id=file_id(data),
        name=path.relative_to(docs_dir).as_posix(),
        text=text,
        paragraphs=paragraphs,
        articles=articles(paragraphs),
    )


def _check_size(path: Path, size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise LoadError(path, f"文件过大（{size / 2**20:.1f} MB，上限 {max_bytes / 2**20:.0f} MB）")


def _extract(data: bytes, path: Path) -> str:
    try:
        return EXTRACTORS[path.suffix.lower()](data)
    except FormatError as e:
        raise LoadError(path, str(e)) from e


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), else GB18030, the superset of GBK that older files use."""
    if not data.strip():
        raise LoadError(path, "文件为空")
    if b"\x00" in data:
        raise LoadError(path, "看起来是二进制文件，不是文本")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_share(text) <= _MAX_CONTROL_SHARE:
            return text
    raise LoadError(path, "无法识别的文字编码（既不是 UTF-8 也不是 GBK/GB18030），或不是文本文件")


def _control_share(text: str) -> float:
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    return controls / max(len(text), 1)
