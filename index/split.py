"""Split a cleaned Document into overlapping Chunks, article by article, at Chinese sentence boundaries."""

import bisect
import hashlib
from typing import TYPE_CHECKING

from index.records import Article, Chunk, Document
from index.structure import articles

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# Paragraphs first, then sentences, then clauses; the punctuation stays with its sentence
# (keep_separator="end") so a chunk reads as whole sentences and offsets map back to the text.
SEPARATORS = ["\n", "。", "！", "？", "；", "，", ""]


def chunk_id(doc_id: str, position: int, text: str) -> int:
    """A stable 63-bit id (FAISS ids are signed 64-bit) from the chunk's content and place."""
    digest = hashlib.sha256(f"{doc_id}\x00{position}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def split_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Chunks of each article's running text: none crosses an article, a heading or a byline."""
    # Imported here: it brings langchain-core and pandas, which answering a question never needs.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        add_start_index=True,
    )
    # Documents built without structure (older callers, tests) are read here.
    pieces = [
        (start, text, article)
        for article in doc.articles or articles(doc.paragraphs)
        for span in article.body
        for start, text in _split_span(splitter, doc.text, *span)
    ]
    chunks = []
    for position, (start, text, article) in enumerate(sorted(pieces, key=lambda p: p[0])):
        chunks.append(
            Chunk(
                id=chunk_id(doc.id, position, text),
                doc_id=doc.id,
                doc_name=doc.name,
                position=position,
                text=text,
                start=start,
                end=start + len(text),
                headline=article.headline,
                section=_section_at(article, start),
                byline=article.byline,
                kind=article.kind,
                page=article.page,
                issue=doc.issue.number,
                date=doc.issue.date,
            )
        )
    return chunks


def _split_span(splitter: "RecursiveCharacterTextSplitter", text: str, start: int, end: int) -> list[tuple[int, str]]:
    """The splitter's pieces of text[start:end], each with its offset in the whole text."""
    segment = text[start:end]
    return [
        (start + _locate(segment, piece.page_content, piece.metadata["start_index"]), piece.page_content)
        for piece in splitter.create_documents([segment])
    ]


def _locate(text: str, piece: str, hint: int) -> int:
    if text.startswith(piece, hint):
        return hint
    found = text.find(piece, max(0, hint - len(piece)))
    if found < 0:
        raise ValueError("chunk text not found in its document")  # a splitter bug, not bad input
    return found


def _section_at(article: Article, start: int) -> str:
    i = bisect.bisect_right(article.sections, start, key=lambda s: s[0])
    return article.sections[i - 1][1] if i else ""
