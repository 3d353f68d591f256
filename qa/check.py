"""The citation check every answer passes before a reader sees it: each [n] names a passage that
was shown, the cited words stand in that passage, and a claim whose citation fails goes with it."""

import re
from dataclasses import replace

from index.text import SENTENCE_ENDS, bigrams, squash
from qa.records import Answer, Citation, Hit
from qa.text import normalize, sentences

NOT_FOUND = "资料中没有找到能回答这个问题的内容。"

_MARKER = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")
# «…1096亿元。[1]»: a marker after the full stop belongs to the sentence before it.
_MARKER_AFTER_STOP = re.compile(rf"([{SENTENCE_ENDS}])((?:\s*[\[【]\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]】])+)")
_QUOTED = re.compile(r"[「“\"]([^」”\"]{2,})[」”\"]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# A generated sentence counts as resting on a passage when this share of its character bigrams
# stands there; paraphrase keeps most bigrams of names and figures, invention does not.
MIN_OVERLAP = 0.5


def check_citations(answer: Answer) -> Answer:
    """Drop citations whose passage was not shown or does not contain the quote word for word."""
    kept = tuple(c for c in answer.citations if _quote_stands(c, answer.passages))
    if len(kept) == len(answer.citations):
        return answer
    dropped = [c for c in answer.citations if c not in kept]
    text = answer.text
    for c in dropped:
        text = text.replace(f"{c.quote} [{c.n}]", "")
    warnings = answer.warnings + tuple(f"删去了无法在段落 [{c.n}] 中核实的引文" for c in dropped)
    if not kept:
        return abstention(answer.question, list(answer.passages), answer.composer, warnings)
    return replace(answer, text=text.strip(), citations=kept, warnings=warnings)


def check_generated(question: str, text: str, passages: list[Hit]) -> Answer:
    """Keep each generated sentence only where a shown passage it cites (or, uncited, a passage
    cited elsewhere in the answer) carries it; flag figures that stand in no cited passage."""
    if squash(NOT_FOUND) in squash(text) or not passages:
        return abstention(question, passages, "generative")
    claims = [_claim(s, passages) for s in sentences(_MARKER_AFTER_STOP.sub(r"\2\1", text))]
    cited = {n for _, ns in claims for n in ns}
    kept, citations, warnings = [], {}, []
    for sentence, numbers in claims:
        plain = _MARKER.sub("", sentence).strip()
        resting = [n for n in numbers if _rests_on(plain, passages[n - 1])]
        if numbers and not resting:
            warnings.append(f"删去了一句无法在所引段落中核实的话：{plain[:40]}")
            continue
        if not numbers and not any(_rests_on(plain, passages[n - 1]) for n in cited):
            warnings.append(f"删去了一句没有出处的话：{plain[:40]}")
            continue
        for n in resting:
            citations.setdefault(n, Citation(n=n, chunk=passages[n - 1].chunk, quote=_nearest_sentence(plain, passages[n - 1])))
        markers = "".join(f" [{n}]" for n in resting)
        kept.append(plain + markers)
        sources = [passages[n - 1] for n in (resting or sorted(cited))]
        warnings += [f"数字 {x} 未在所引段落中出现" for x in _unsupported_numbers(plain, sources)]
    if not citations:
        return abstention(question, passages, "generative", tuple(warnings))
    first = _MARKER.sub("", kept[0]).strip().rstrip("。")
    return Answer(
        question=question,
        text="".join(kept),
        short=first if len(first) <= 30 else "",
        citations=tuple(citations[n] for n in sorted(citations)),
        passages=tuple(passages),
        warnings=tuple(warnings),
        composer="generative",
    )


def abstention(question: str, passages: list[Hit], composer: str = "rules", warnings: tuple = ()) -> Answer:
    """The honest «not found»; the passages are shown as related reading, not as support."""
    return Answer(
        question=question,
        text=NOT_FOUND,
        passages=tuple(passages),
        abstained=True,
        warnings=tuple(warnings),
        composer=composer,
    )


def _quote_stands(citation: Citation, passages: tuple[Hit, ...]) -> bool:
    if not 1 <= citation.n <= len(passages) or passages[citation.n - 1].chunk != citation.chunk:
        return False
    return bool(squash(citation.quote)) and squash(citation.quote) in squash(citation.chunk.full_text)


def _claim(sentence: str, passages: list[Hit]) -> tuple[str, list[int]]:
    numbers = []
    for group in _MARKER.findall(sentence):
        numbers += [int(n) for n in re.findall(r"\d+", group)]
    return sentence, [n for n in dict.fromkeys(numbers) if 1 <= n <= len(passages)]


def _rests_on(claim: str, hit: Hit) -> bool:
    passage = squash(normalize(hit.chunk.full_text))
    if any(squash(normalize(q)) not in passage for q in _QUOTED.findall(claim)):
        return False  # a quotation must stand word for word
    grams = bigrams(normalize(claim))
    return not grams or sum(g in passage for g in grams) / len(grams) >= MIN_OVERLAP


def _nearest_sentence(claim: str, hit: Hit) -> str:
    grams = bigrams(normalize(claim))
    return max(sentences(hit.chunk.full_text), key=lambda s: len(grams & bigrams(normalize(s))))


def _unsupported_numbers(claim: str, sources: list[Hit]) -> list[str]:
    text = squash(normalize(" ".join(h.chunk.full_text for h in sources)))
    return [x for x in dict.fromkeys(_NUMBER.findall(normalize(claim))) if x not in text]
