"""Conversations kept on the server, one JSON file each, so that a reloaded page or a reopened
conversation shows its answers with their citations: the answer records are stored, not HTML."""

import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from index import Chunk
from index.files import atomic_write
from qa.records import Answer, Citation, Hit

_ID = re.compile(r"[0-9a-f]{32}")
TITLE_CHARS = 30  # what fits the list of conversations


@dataclass(frozen=True)
class Turn:
    """One question and what the reader was shown for it."""

    question: str
    answer: Answer | None = None  # None when the question was refused
    error: str = ""  # the reason it was refused, as shown
    mode: str = ""  # how it was answered: retrieval mode, passages, composer
    k: int = 0
    asked_at: str = ""


def new_id() -> str:
    """A conversation id: random, so knowing one's own says nothing about anybody else's."""
    return secrets.token_hex(16)


def valid_id(value) -> bool:
    """Ids come back from the browser; only ours may ever become part of a path."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


class Conversations:
    """Conversation files under one folder: <id>.json, replaced whole and atomically on each turn.
    Each file holds the title the list shows: the first question, or the name it was renamed to;
    titles are kept once read."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        self._titles: dict[str, str] = {}

    def load(self, conversation: str) -> list[Turn]:
        """The turns of a conversation; none for an unknown, invalid or unreadable id."""
        if not valid_id(conversation):
            return []
        try:
            raw = json.loads((self.folder / f"{conversation}.json").read_text("utf-8"))
            turns = [turn_from_dict(t) for t in raw["turns"]]
            stored = str(raw.get("title") or "")
        except (OSError, ValueError, KeyError, TypeError):
            return []
        self._remember_title(conversation, turns, stored)
        return turns

    def append(self, conversation: str, turn: Turn) -> int:
        """Add a turn; returns its index in the conversation."""
        return len(self.add(conversation, turn)) - 1

    def add(self, conversation: str, turn: Turn) -> list[Turn]:
        """Add a turn; returns the conversation's turns, the new one last."""
        if not valid_id(conversation):
            raise ValueError(f"invalid conversation id {conversation!r}")
        with self._lock:
            turns = self.load(conversation) + [turn]
            self._remember_title(conversation, turns)
            self._write(conversation, turns)
        return turns

    def rename(self, conversation: str, title: str) -> str:
        """Name a conversation in the list; an empty name brings back its first question. Returns
        the title as kept (cut to fit the list); "" for an unknown conversation, which stays so."""
        with self._lock:
            turns = self.load(conversation)
            if not turns:
                return ""
            self._titles[conversation] = _fitted(title) or _fitted(turns[0].question)
            self._write(conversation, turns)
        return self._titles[conversation]

    def delete(self, conversation: str) -> bool:
        """Remove a conversation for good; whether there was one to remove."""
        if not valid_id(conversation):
            return False
        with self._lock:
            self._titles.pop(conversation, None)
            try:
                (self.folder / f"{conversation}.json").unlink()
            except FileNotFoundError:
                return False
        return True

    def title(self, conversation: str) -> str:
        """The first question, cut to fit a list; "" for an unknown or empty conversation."""
        if conversation not in self._titles:
            self.load(conversation)
        return self._titles.get(conversation, "")

    def _remember_title(self, conversation: str, turns: list[Turn], stored: str = "") -> None:
        """The title the file holds, or for a file written before titles were stored, the first question."""
        if stored:
            self._titles[conversation] = _fitted(stored)
        elif turns and conversation not in self._titles:
            self._titles[conversation] = _fitted(turns[0].question)

    def _write(self, conversation: str, turns: list[Turn]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"id": conversation, "title": self._titles.get(conversation, ""), "turns": [turn_to_dict(t) for t in turns]}
        atomic_write(self.folder / f"{conversation}.json", json.dumps(data, ensure_ascii=False))


def _fitted(title: str) -> str:
    """A title on one line, cut to fit the list."""
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def turn_to_dict(turn: Turn) -> dict:
    return asdict(turn)


def turn_from_dict(raw: dict) -> Turn:
    answer = raw.get("answer")
    return Turn(**(_known(Turn, raw) | {"answer": answer_from_dict(answer) if answer else None}))


def answer_from_dict(raw: dict) -> Answer:
    """An Answer as asdict wrote it; fields added or dropped since are tolerated."""
    return Answer(
        **_known(Answer, raw)
        | {
            "citations": tuple(
                Citation(n=c["n"], chunk=_chunk(c["chunk"]), quote=c["quote"]) for c in raw.get("citations", ())
            ),
            "passages": tuple(
                Hit(**_known(Hit, h) | {"chunk": _chunk(h["chunk"])}) for h in raw.get("passages", ())
            ),
            "warnings": tuple(raw.get("warnings", ())),
        }
    )


def _chunk(raw: dict) -> Chunk:
    return Chunk(**_known(Chunk, raw))


def _known(cls, raw: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in raw.items() if k in names}
