"""The records that leave the index stage: documents, their articles and their chunks."""

from dataclasses import dataclass
from pathlib import PurePosixPath

NEWSLETTER = "工行通讯"


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
        """How a citation names its source: 《headline》· 工行通讯 issue."""
        source = f"{NEWSLETTER} {PurePosixPath(self.doc_name).stem}"
        if not self.headline:
            return source
        # A caption's headline is taken from its own text; say so rather than pass it off as a title.
        marker = "（图片说明）" if self.kind == "caption" else ""
        return f"《{self.headline}》{marker}· {source}"
