"""Split a cleaned Document into overlapping Chunks that end at Chinese sentence boundaries."""

import bisect
import hashlib

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.records import Chunk, Document

# Paragraphs first, then sentences, then clauses; the punctuation stays with its sentence
# (keep_separator="end") so a chunk reads as whole sentences and offsets map back to the text.
SEPARATORS = ["\n", "。", "！", "？", "；", "，", ""]


def chunk_id(doc_id: str, position: int, text: str) -> int:
    """A stable 63-bit id (FAISS ids are signed 64-bit) from the chunk's content and place."""
    digest = hashlib.sha256(f"{doc_id}\x00{position}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def split_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        add_start_index=True,
    )
    headings = [(p.start, p.text) for p in doc.paragraphs if p.is_heading]
    chunks = []
    for position, piece in enumerate(splitter.create_documents([doc.text])):
        text = piece.page_content
        start = _locate(doc.text, text, piece.metadata["start_index"])
        chunks.append(
            Chunk(
                id=chunk_id(doc.id, position, text),
                doc_id=doc.id,
                doc_name=doc.name,
                position=position,
                text=text,
                start=start,
                end=start + len(text),
                headline=_headline_before(headings, start),
            )
        )
    return chunks


def _locate(text: str, piece: str, hint: int) -> int:
    if text.startswith(piece, hint):
        return hint
    found = text.find(piece, max(0, hint - len(piece)))
    if found < 0:
        raise ValueError("chunk text not found in its document")  # a splitter bug, not bad input
    return found


def _headline_before(headings: list[tuple[int, str]], start: int) -> str:
    i = bisect.bisect_right(headings, start, key=lambda h: h[0])
    return headings[i - 1][1] if i else ""
