"""👍/👎 from the chat, appended to a JSONL file with the question, the answer and its citations,
for later evaluation. Nothing is rewritten: a comment arrives as a second record with the same id,
a rating taken back as a record rated "withdrawn"; per (conversation, turn) the last record counts."""

import json
import secrets
import threading
from pathlib import Path

from qa import Turn, now

_lock = threading.Lock()


def feedback_record(turn: Turn, rating: str, conversation: str, index: int) -> dict:
    """One line of the feedback file; `rating` is "up", "down" or "withdrawn"."""
    answer = turn.answer
    return {
        "id": secrets.token_hex(8),
        "time": now(),
        "rating": rating,
        "comment": "",
        "conversation": conversation,
        "turn": index,
        "question": turn.question,
        "understood": answer.understood if answer else "",  # a follow-up is answered as its rewrite
        "answer": answer.text if answer else turn.error,
        "short": answer.short if answer else "",
        "abstained": answer.abstained if answer else False,
        "citations": [
            {
                "n": c.n,
                "source": c.chunk.citation_label,
                "doc_name": c.chunk.doc_name,
                "doc_id": c.chunk.doc_id,
                "chunk_id": c.chunk.id,
                "quote": c.quote,
            }
            for c in (answer.citations if answer else ())
        ],
        "passages": [h.chunk.id for h in (answer.passages if answer else ())],
        "warnings": list(answer.warnings) if answer else [],
        "composer": answer.composer if answer else "",
        "mode": turn.mode,
        "k": turn.k,
    }


def append_feedback(path: Path, record: dict) -> None:
    """One line, written in one call under a lock, so concurrent reviews never interleave."""
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as out:
        out.write(line)
