"""The records that leave the index stage: documents, their articles and their chunks; a chunk
as a stored row; and the stored index's records, whatever engine holds them: the manifest and
its document entries, a document's segment, and a committed index opened for reading."""

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import PurePosixPath
from typing import Protocol

import numpy as np

from index.files import sha256_bytes
from index.issue import Issue
from index.profile import default_profile


# How a table's title starts when the table had none of its own to give (index/formats.py).
TABLE_PREFIX = "表"


@dataclass(frozen=True)
class Paragraph:
    """A repaired paragraph of a document; `start` is its offset in the cleaned text."""

    text: str
    start: int
    is_heading: bool = False


@dataclass(frozen=True)
class Article:
    """One story of an issue as a reader sees it; offsets index into Document.text."""

    headline: str
    kind: str = "article"  # "article", "contents" (the 导读 box) or "caption" (a photo caption)
    byline: str = ""  # 供稿：个人金融业务部 / 行报记者 王旎 行报通讯员 方建国
    column: str = ""  # the newsletter's column (管理沙龙), when the issue names it
    sections: tuple[tuple[int, str], ...] = ()  # (offset of the section title, title)
    page: str = ""  # 第三版, when a page marker says so
    start: int = 0  # character span of the article, headline and byline included
    end: int = 0
    subtitle: str = ""  # ——…纪实, or a kicker printed apart from the headline
    body: tuple[tuple[int, int], ...] = ()  # character spans of running text: what chunks are cut from


@dataclass(frozen=True)
class Document:
    """One newsletter file after loading and cleaning."""

    id: str  # sha256 of the file's bytes: same bytes, same id
    name: str  # file name relative to the documents folder
    text: str  # cleaned text; chunk spans index into it
    paragraphs: tuple[Paragraph, ...]
    articles: tuple[Article, ...] = ()
    issue: Issue = Issue()  # its number and date, where they could be read (index/issue.py)


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, the unit that is embedded, retrieved and cited."""

    id: int  # 63-bit id derived from document id, position and text
    doc_id: str
    doc_name: str
    position: int  # order within the document
    text: str
    start: int  # character span in Document.text
    end: int
    headline: str = ""  # headline of the article the chunk belongs to
    section: str = ""  # section title within the article, when it has sections
    byline: str = ""
    kind: str = "article"  # the article's kind: "article", "contents" or "caption"
    page: str = ""
    issue: str = ""  # the issue's number, 2021年第11期 ("" when it could not be read)
    date: str = ""  # the issue's date, 2021-11-15

    @property
    def issue_label(self) -> str:
        """The issue as a citation names it: 2021年第11期（11月15日）, else the file's name."""
        return Issue(number=self.issue, date=self.date).label or PurePosixPath(self.doc_name).stem

    @property
    def search_text(self) -> str:
        """What the embedder and the keyword index see: the passage under its headline and section."""
        return "\n".join(part for part in (self.headline, self.section, self.text) if part)

    @property
    def full_text(self) -> str:
        """The passage as a reader sees it: headline, section, text, byline; what answers quote."""
        return "\n".join(part for part in (self.headline, self.section, self.text, self.byline) if part)

    @property
    def citation_label(self) -> str:
        """How a citation names its source: 《headline》· 工行通讯 2021年第11期（11月15日）· 第2版, and
        the table a row is from. The publication's name is the packaged profile's: a chunk does
        not carry one of its own."""
        parts = [self.source_label, self.page]
        if self.section.startswith(TABLE_PREFIX):
            parts.append(self.section)
        if self.headline:
            parts.insert(0, f"《{self.headline}》{self.caption_mark}")
        return "· ".join(part for part in parts if part)

    @property
    def source_label(self) -> str:
        """The publication and the issue: 工行通讯 2021年第11期（11月15日）."""
        return f"{default_profile().name} {self.issue_label}"

    @property
    def caption_mark(self) -> str:
        # A caption's headline is taken from its own text; say so rather than pass it off as a title.
        return "（图片说明）" if self.kind == "caption" else ""


# The document's name lives in the manifest, not in its segment, so a renamed file keeps its segment.
_ROW_FIELDS = tuple(f.name for f in fields(Chunk) if f.name != "doc_name")


def chunk_row(chunk: Chunk) -> str:
    """A chunk as one stored row (JSON), as a FAISS segment and a Milvus collection keep it."""
    return json.dumps({name: getattr(chunk, name) for name in _ROW_FIELDS}, ensure_ascii=False)


def chunk_from_row(doc_name: str, row: str) -> Chunk:
    """The chunk a stored row holds, under the name the manifest gives its document."""
    return Chunk(doc_name=doc_name, **json.loads(row))


def stored_rows(chunks: list[Chunk]) -> bytes:
    """The chunk rows as stored: one JSON line each, every line ending in a newline."""
    return "".join(chunk_row(c) + "\n" for c in chunks).encode("utf-8")


@dataclass(frozen=True)
class DocumentEntry:
    id: str  # sha256 of the file's bytes, which also names its segment
    chunks: int
    checksums: dict[str, str] = field(default_factory=dict)  # sha256 of each segment part (Segment.checksums)
    issue: str = ""  # the issue it is, 2021年第11期, and its date, 2021-11-15 ("" when unread: index/issue.py)
    date: str = ""
    articles: int = 0  # how many articles it was read as


@dataclass(frozen=True)
class Manifest:
    """How the index was built and what it holds; saved with it so the index can say what it is."""

    embedder: str
    fingerprint: str
    dim: int
    pipeline: str
    tokenizer: str
    chunk_size: int
    chunk_overlap: int
    documents: dict[str, DocumentEntry]  # by file name
    skipped: dict[str, str] = field(default_factory=dict)  # unreadable files: name → sha256
    versions: dict[str, str] = field(default_factory=dict)
    built_at: str = ""
    updated_at: str = ""
    profile: str = ""  # fingerprint of the newsletter profile the documents were read with; "" before there was one

    @property
    def chunk_count(self) -> int:
        return sum(entry.chunks for _, entry in self.unique_documents().values())

    def unique_documents(self) -> dict[str, tuple[str, DocumentEntry]]:
        """By document id, the first name it goes by: a file stored twice is indexed once."""
        found: dict[str, tuple[str, DocumentEntry]] = {}
        for name, entry in self.documents.items():
            found.setdefault(entry.id, (name, entry))
        return found

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        """A saved manifest; fields it was written without (an older version's) take their defaults."""
        raw = json.loads(text)
        raw["documents"] = {k: DocumentEntry(**v) for k, v in raw["documents"].items()}
        return cls(**raw)


@dataclass(frozen=True)
class Segment:
    """One document's chunks, their vectors and their keyword tokens, row for row."""

    doc_id: str
    chunks: list[Chunk]
    vectors: np.ndarray
    tokens: np.ndarray  # every chunk's token ids (index/tokens.py) end to end
    token_counts: np.ndarray  # how many of them belong to each chunk

    def keyword_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chunk ids, token ids end to end, tokens per chunk): what a keyword index is built from."""
        return np.array([c.id for c in self.chunks], dtype=np.int64), self.tokens, self.token_counts

    def checksums(self) -> dict[str, str]:
        return part_checksums(self.vectors, stored_rows(self.chunks), self.tokens, self.token_counts)


def part_checksums(vectors: np.ndarray, rows: bytes, tokens: np.ndarray, counts: np.ndarray) -> dict[str, str]:
    """sha256 of each part of a segment in a fixed byte order — vectors as little-endian float32,
    rows as stored, token ids then counts — not of one engine's files: a FAISS folder (whose files
    hold exactly these bytes after the .npy header) and a Milvus collection holding the same
    segment agree, and `migrate` keeps them."""
    return {
        "vectors": sha256_bytes(np.ascontiguousarray(vectors, dtype="<f4")),
        "rows": sha256_bytes(rows),
        "tokens": sha256_bytes(tokens.astype("<u8").tobytes() + counts.astype("<i8").tobytes()),
    }


class VectorStore(Protocol):
    """What a reader searches: the vectors and the chunk rows of one committed index, the same
    on every engine (index/faiss_store.py, index/milvus.py)."""

    dim: int

    def search(self, query: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The k chunks of this index nearest the query (inner product), best first."""
        ...

    def chunks(self, ids: list[int] | None = None) -> list[Chunk]:
        """All chunk rows of this index, or those with these ids in that order."""
        ...

    def count(self) -> int:
        """How many of this index's chunks have a vector the search can return: the manifest's
        `chunk_count` when the index is whole. Rows a store keeps for another generation (Milvus,
        while a writer is between steps or after one crashed) are not counted: they are the
        backend's `strays`."""
        ...

    def vector_ids(self) -> list[int]:
        """The ids of those vectors, in no particular order."""
        ...

    def info(self) -> dict:
        """engine, index (in words), kind ("flat" exact search or "ivf"), dim, vectors (= count())."""
        ...


@dataclass
class StoredIndex:
    """A committed index, opened for reading."""

    manifest: Manifest
    store: VectorStore
    keyword_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per segment, see Segment
