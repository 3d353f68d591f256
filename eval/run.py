"""Run an evaluation set through qa and score retrieval, answers, citations and abstention."""

import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from index import Chunk
from index.text import squash
from qa import Answer, Assistant, QuestionError, Scope, char_f1

# Evidence and chunk must share this many characters (or the whole evidence, if shorter)
# for a chunk holding a gold string to count as the right place rather than a coincidence.
EVIDENCE_OVERLAP = 12
TOP_K = 5


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: list[str]
    evidence: str = ""
    doc: str | None = None
    kind: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class Outcome:
    """One question's result, kept so a person can see why it failed."""

    id: str
    question: str
    expected: list[str]
    got: str
    short: str
    rank: int | None  # 1-based rank of the first passage that holds the answer
    correct: bool
    abstained: bool
    seconds: float
    top_passages: list[str] = field(default_factory=list)
    kind: str = ""
    retrieval_seconds: float = 0.0  # of `seconds`, what retrieval took: the rest is the composer's
    understood: str = ""  # the standalone question it was answered as, when it was rewritten


@dataclass(frozen=True)
class Dialogue:
    """Questions asked in order in one conversation; a turn with no answers is not answerable."""

    id: str
    turns: tuple[Question, ...]


@dataclass
class Evaluation:
    """One configuration's run over a set: overall, per question kind, and every question's outcome."""

    name: str  # the configuration: a retrieval mode, a composer, or both (hybrid+rules)
    summary: dict
    by_kind: dict[str, dict]
    outcomes: list[Outcome]


def load_set(path: Path) -> list[Question] | list[Dialogue]:
    """A set of single questions, or of dialogues (records with `turns`): one JSON object a line."""
    records = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            records.append(_dialogue(raw) if "turns" in raw else _question(raw))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as e:
            raise ValueError(f"{path.name} line {n}: not a question or dialogue record ({e})") from e
    if len({type(r) for r in records}) > 1:
        raise ValueError(f"{path.name}: mixes single questions and dialogues; keep them in two sets")
    return records


def _question(raw: dict) -> Question:
    return Question(**{k: raw[k] for k in raw if k in Question.__dataclass_fields__})


def _dialogue(raw: dict) -> Dialogue:
    """Each turn a Question (id `<dialogue>#<n>`), of kind first-turn, follow-up or follow-up-unanswerable."""
    turns = []
    for n, turn in enumerate(raw["turns"], start=1):
        kind = "first-turn" if n == 1 else "follow-up" if turn["answers"] else "follow-up-unanswerable"
        fields = {"doc": raw.get("doc")} | turn | {"id": f"{raw['id']}#{n}", "kind": kind}
        turns.append(_question(fields))
    if not turns:
        raise ValueError(f"dialogue {raw['id']!r} has no turns")
    return Dialogue(raw["id"], tuple(turns))


def is_hit(chunk: Chunk, question: Question) -> bool:
    """The chunk holds a gold answer at the evidence's place (and in the gold document, if named)."""
    text = squash(chunk.full_text)
    if question.doc and Path(chunk.doc_name).name != Path(question.doc).name:
        return False
    if not any(squash(a) in text for a in question.answers):
        return False
    evidence = squash(question.evidence)
    if not evidence:
        return True
    match = SequenceMatcher(None, text, evidence, autojunk=False).find_longest_match()
    return match.size >= min(EVIDENCE_OVERLAP, len(evidence))


def evaluate(
    assistant: Assistant, questions: list[Question], k: int = TOP_K, mode: str | None = None
) -> tuple[dict, list[Outcome]]:
    """Ask every question through qa's public surface and score what comes back."""
    evaluation = evaluate_config(assistant, questions, k, mode)
    return evaluation.summary, evaluation.outcomes


def evaluate_config(
    assistant: Assistant,
    questions: list[Question] | list[Dialogue],
    k: int = TOP_K,
    mode: str | None = None,
    composer: str | None = None,
    name: str = "",
    chained: bool = False,
    rewrite: bool = True,
    scope: Scope = Scope(),
) -> Evaluation:
    """`evaluate`, with the same scores per question kind (number, date, unanswerable …). A
    dialogue's turns are asked in order in one conversation; `chained` asks each single question
    after the one before it, as if in one conversation, to count how often a question that
    stands alone is rewritten all the same (`rewritten`). `rewrite=False` asks every question as
    typed: the baseline a conversation's follow-ups are measured against. `scope`: the issues
    every question is answered from."""
    conversations = _conversations(questions, chained)
    outcomes, metrics, by_kind = [], Counter(), defaultdict(Counter)
    for turns in conversations:
        earlier = []
        for q in turns:
            result, seconds = _ask(assistant, q, k, mode, composer, earlier, rewrite, scope)
            earlier.append(result)
            outcome = _outcome(q, result, seconds)
            outcomes.append(outcome)
            _score(metrics, q, result, outcome)
            _score(by_kind[outcome.kind], q, result, outcome)
    kinds = {kind: _summary(m, [o for o in outcomes if o.kind == kind]) for kind, m in sorted(by_kind.items())}
    summary = _summary(metrics, outcomes) | _dialogue_summary(kinds, outcomes, len(conversations) < len(outcomes))
    return Evaluation(name or str(mode or ""), summary, kinds, outcomes)


def _conversations(questions: list[Question] | list[Dialogue], chained: bool) -> list[tuple[Question, ...]]:
    """The questions as they are asked: a dialogue's turns in one conversation; single questions
    each on its own, or (`chained`) all in one."""
    if questions and isinstance(questions[0], Dialogue):
        return [d.turns for d in questions]
    return [tuple(questions)] if chained else [(q,) for q in questions]


def _ask(
    assistant: Assistant, q: Question, k: int, mode, composer, earlier: list[Answer], rewrite: bool, scope: Scope
) -> tuple[Answer, float]:
    started = time.perf_counter()
    try:
        result = assistant.answer(q.question, k, mode, composer, earlier=earlier, rewrite=rewrite, scope=scope)
    except QuestionError as e:  # the user would see this message instead of an answer
        result = Answer(question=q.question, text=str(e), abstained=True)
    return result, time.perf_counter() - started


def _dialogue_summary(kinds: dict[str, dict], outcomes: list[Outcome], in_conversation: bool) -> dict:
    """For dialogues: accuracy on first turns and on answerable follow-ups, abstention on the
    unanswerable ones; for any set asked in conversation, the share of questions rewritten."""
    if not in_conversation:
        return {}
    found = {"rewritten": _share(sum(bool(o.understood) for o in outcomes), len(outcomes))}
    if "first-turn" in kinds:
        found |= {
            "first_turn_accuracy": kinds["first-turn"]["answer_accuracy"],
            "followup_accuracy": kinds.get("follow-up", {}).get("answer_accuracy"),
            "followup_abstention": kinds.get("follow-up-unanswerable", {}).get("abstention_accuracy"),
        }
    return found


def _kind(q: Question) -> str:
    """A set without kinds (CMRC) is one group: answerable or not."""
    return q.kind or ("answerable" if q.answerable else "unanswerable")


def _outcome(q: Question, result: Answer, seconds: float) -> Outcome:
    ranks = [n for n, hit in enumerate(result.passages, start=1) if q.answerable and is_hit(hit.chunk, q)]
    shown = squash(result.text)
    return Outcome(
        id=q.id,
        question=q.question,
        expected=q.answers,
        got=result.text,
        short=result.short,
        rank=ranks[0] if ranks else None,
        correct=result.abstained if not q.answerable else any(squash(a) in shown for a in q.answers),
        abstained=result.abstained,
        seconds=seconds,
        retrieval_seconds=result.timings.get("retrieve", 0.0),
        understood=result.understood,
        top_passages=[_passage(h.chunk) for h in result.passages[:3]],
        kind=_kind(q),
    )


def _passage(chunk: Chunk) -> str:
    """A retrieved passage as a failure list shows it: where it is from, then its start."""
    where = f"《{chunk.headline}》" if chunk.headline else Path(chunk.doc_name).name
    return f"{where} {squash(chunk.text)[:100]}"


def _score(m: Counter, q: Question, result: Answer, outcome: Outcome) -> None:
    if not q.answerable:
        m["unanswerable"] += 1
        m["abstained_right"] += result.abstained
        return
    m["answerable"] += 1
    m["hit1"] += outcome.rank == 1
    m["hit5"] += outcome.rank is not None and outcome.rank <= 5
    m["rr"] += 1 / outcome.rank if outcome.rank else 0
    m["correct"] += outcome.correct
    m["abstained_wrong"] += result.abstained
    prediction = squash(result.short or (result.citations[0].quote if result.citations else ""))
    golds = [squash(a) for a in q.answers]
    m["em"] += any(prediction == g for g in golds)
    m["f1"] += max(char_f1(prediction, g) for g in golds)
    for citation in result.citations:
        m["citations"] += 1
        m["cited_right"] += any(g in squash(citation.chunk.full_text) for g in golds)
    if outcome.rank is not None:  # recall counts only where a shown passage holds the answer
        m["citable"] += 1
        m["cited_answer"] += any(is_hit(c.chunk, q) for c in result.citations)


def _summary(m: Counter, outcomes: list[Outcome]) -> dict:
    latencies = sorted(o.seconds for o in outcomes)
    return {
        "questions": len(outcomes),
        "answerable": m["answerable"],
        "unanswerable": m["unanswerable"],
        "hit@1": _share(m["hit1"], m["answerable"]),
        "hit@5": _share(m["hit5"], m["answerable"]),
        "mrr": _share(m["rr"], m["answerable"]),
        "answer_accuracy": _share(m["correct"], m["answerable"]),
        "exact_match": _share(m["em"], m["answerable"]),
        "f1": _share(m["f1"], m["answerable"]),
        "citation_precision": _share(m["cited_right"], m["citations"]),
        "citation_recall": _share(m["cited_answer"], m["citable"]),
        "abstention_accuracy": _share(m["abstained_right"], m["unanswerable"]),
        "false_abstention": _share(m["abstained_wrong"], m["answerable"]),
        "latency_p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "latency_p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
        "latency_retrieval_p50_ms": 1000 * statistics.median(o.retrieval_seconds for o in outcomes) if outcomes else None,
    }


def _share(part: float, whole: int) -> float | None:
    """None where a metric has nothing to measure (no unanswerable questions in a set, say)."""
    return part / whole if whole else None


def report_json(summary: dict, outcomes: list[Outcome]) -> str:
    return json.dumps(
        {"summary": summary, "outcomes": [asdict(o) for o in outcomes]}, ensure_ascii=False, indent=2
    )


def failed(outcomes: list[Outcome]) -> list[Outcome]:
    """The failures: answerable questions whose answer holds no gold string, unanswerable ones answered."""
    return [o for o in outcomes if not o.correct]


def report_text(summary: dict, outcomes: list[Outcome], failures: int = 10) -> str:
    lines = [f"{name:<22}{fmt(value)}" for name, value in summary.items()]
    wrong = failed(outcomes)[:failures]
    if wrong:
        lines.append(f"\n未答对（前 {len(wrong)} 个）：")
        lines += [f"  {o.id} {o.question}{_rewrite(o)} → 期望 {o.expected or '（应拒答）'}；得到 {o.got[:60]}" for o in wrong]
    return "\n".join(lines)


def _rewrite(o: Outcome) -> str:
    return f"（按“{o.understood}”理解）" if o.understood else ""


def report_comparison(summaries: dict[str, dict]) -> str:
    """Several configurations' summaries side by side, a metric a row."""
    names = list(summaries)
    lines = [f"{'':<22}" + "".join(f"{n:>12}" for n in names)]
    for metric in next(iter(summaries.values())):
        lines.append(f"{metric:<22}" + "".join(f"{fmt(summaries[n][metric]):>12}" for n in names))
    return "\n".join(lines)


def fmt(value) -> str:
    """A figure as every report shows it: three decimals, — where there is nothing to measure."""
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
