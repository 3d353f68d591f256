"""The records that leave the index stage: documents and their chunks."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Paragraph:
    """A repaired paragraph of a document; `start` is its offset in the cleaned text."""

    text: str
    start: int
    is_heading: bool = False


@dataclass(frozen=True)
class Document:
    """One newsletter file after loading and cleaning."""

    id: str  # sha256 of the file's bytes: same bytes, same id
    name: str  # file name relative to the documents folder
    text: str  # cleaned text; chunk spans index into it
    paragraphs: tuple[Paragraph, ...]


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
    headline: str = ""  # nearest heading before the chunk, when known

    @property
    def search_text(self) -> str:
        """What the embedder and the keyword index see: the passage under its headline."""
        return f"{self.headline}\n{self.text}" if self.headline else self.text
