"""The records the qa stage hands to the chat and the evaluation."""

from dataclasses import dataclass, field

from index import Chunk


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, its score and the retriever that found it."""

    chunk: Chunk
    score: float
    retriever: str = "dense"


@dataclass(frozen=True)
class Citation:
    """Passage n (1-based, as shown to the reader) and the exact sentence taken from it."""

    n: int
    chunk: Chunk
    quote: str


@dataclass(frozen=True)
class Answer:
    question: str  # as the user typed it (cleaned)
    text: str  # the answer as shown, with [n] markers
    short: str = ""  # the short answer alone (a number with its unit, a name, a date)
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()  # what was retrieved, numbered from 1
    abstained: bool = False
    draft: bool = False  # a partial answer while a generative composer is still writing
    warnings: tuple[str, ...] = ()  # what the citation check dropped or flagged, for the reader
    composer: str = "rules"  # which composer answered (qa/composers.py); `version` says exactly what
    version: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    # The standalone question it was answered as, when the question leaned on earlier turns
    # (qa/dialogue.py): shown as 按“…”理解, with a way to ask it as typed. "" when it stood alone.
    understood: str = ""
    kind: str = "answer"  # "answer", "contents" (an issue's headlines) or "welcome" (a greeting)
