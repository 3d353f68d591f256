"""The extractive composer: a short answer first, then the sentence it stands in, cited [n]."""

import re
from dataclasses import dataclass

from qa.check import NOT_FOUND, abstention, check_citations
from qa.records import Answer, Citation, Hit
from qa.text import clauses, coverage, key_terms, normalize, sentences

_CN_NUM = "[一二两三四五六七八九十百千万]"
_UNIT = (
    r"(?:万亿|千亿|百亿|亿|千万|百万|万|千|百)?"
    r"(?:美元|元|亿人次|人次|户|家|笔|个百分点|百分点|%|倍|名|位|个月|年|月|天|人|余家|余人|期|项|个|岁|次)?"
)
NUMBER = re.compile(
    rf"(?:第)?(?:\d+(?:\.\d+)?|{_CN_NUM}+(?=[年位家个倍名户期项]|分之))(?:分之{_CN_NUM}+)?{_UNIT}"
)
DATE = re.compile(
    rf"(?:\d{{4}}|{_CN_NUM}{{4}})年(?:\d{{1,2}}月(?:\d{{1,2}}日)?|[上下]半年|[一二三四]季度|底|末|初)?"
    r"|\d{1,2}月(?:份)?(?:\d{1,2}日|末|底|初)?|[上下]半年|[一二三四]季度"
)
PERSON = re.compile(r"(?:记者|通讯员|行长|局长|经理|主任|董事长|行长助理|总裁)\s*([\u4e00-\u9fff]{2,3})(?=[\s，。、告说表]|$)")

QUESTION_KINDS = (
    ("byline", re.compile(r"供稿|作者|撰稿|撰写|谁写|采写|哪个部门|哪位记者|记者是谁|通讯员是谁")),
    ("date", re.compile(r"哪一?年|何时|什么时候|几月|哪个月|哪天|日期|何年")),
    ("number", re.compile(r"多少|几|多大|多高|多长|比例|占比|比重|百分之|增幅|第几|排名")),
    ("person", re.compile(r"谁|哪位|名字")),
    ("yesno", re.compile(r"是否|有没有|是不是|能否|吗[？?]?$")),
    ("entity", re.compile(r"哪家|哪个|哪些|什么|哪里|哪儿")),
)

# Who wrote or supplied a story is said by its byline, which shares few words with the question.
_BYLINE_BONUS = 0.3
_CREDIT = re.compile(r"^供稿[：:]\s*")

@dataclass(frozen=True)
class _Candidate:
    n: int  # passage number, 1-based
    sentence: str
    support: float  # share of the question's key terms in the sentence
    score: float


def question_kind(question: str) -> str:
    for kind, pattern in QUESTION_KINDS:
        if pattern.search(question):
            return kind
    return "fact"


def compose(question: str, passages: list[Hit], min_support: float) -> Answer:
    """Answer from the passages alone; abstain when no sentence supports the question enough."""
    terms = key_terms(question)
    kind = question_kind(normalize(question))
    best = _best_sentence(terms, kind, passages)
    if best is None or best.support < min_support:
        return abstention(question, passages)
    chunk = passages[best.n - 1].chunk
    if kind == "byline":
        short = _CREDIT.sub("", best.sentence) if best.sentence == chunk.byline else ""
    else:
        short = short_answer(kind, terms, best.sentence)
    citation = Citation(n=best.n, chunk=chunk, quote=best.sentence)
    cited = f"{best.sentence} [{best.n}]"
    text = f"{short}。依据：{cited}" if short and short != best.sentence else cited
    return check_citations(
        Answer(question=question, text=text, short=short, citations=(citation,), passages=tuple(passages))
    )


def _best_sentence(terms: list[str], kind: str, passages: list[Hit]) -> _Candidate | None:
    best = None
    for n, hit in enumerate(passages, start=1):
        context = coverage(terms, hit.chunk.full_text)
        for sentence in sentences(hit.chunk.full_text):
            credit = kind == "byline" and sentence == hit.chunk.byline
            # A byline answers for its whole article: its support is the passage's.
            support = context if credit else coverage(terms, sentence)
            score = 0.7 * support + 0.3 * context - 0.01 * n + (_BYLINE_BONUS if credit else 0.0)
            if kind in ("number", "date") and not _facts(kind, sentence):
                score -= 0.2  # a sentence without the kind of fact asked for rarely answers
            if best is None or score > best.score:
                best = _Candidate(n=n, sentence=sentence, support=support, score=score)
    return best


def short_answer(kind: str, terms: list[str], sentence: str) -> str:
    """The fact the question asks for: in the clause that matches the question best, the one
    closest after the question's words («工银瑞信基金1096亿元», not the 195亿元 of the clause before)."""
    if kind not in ("number", "date", "person"):
        return ""
    best, best_score = "", float("-inf")
    for clause in clauses(sentence):
        support = coverage(terms, clause)
        for start, found in _facts(kind, clause):
            if any(found in t or t in found for t in terms):
                continue  # a figure the question itself names («世界500强») is not the answer
            score = support - _GAP_PENALTY * _gap_before(terms, clause, start)
            if score > best_score:
                best, best_score = found, score
    return best


# Coverage lost for each character between the question's last word and the fact.
_GAP_PENALTY = 0.05


def _gap_before(terms: list[str], clause: str, start: int) -> int:
    ends = [clause.rfind(t, 0, start) + len(t) for t in terms if 0 <= clause.rfind(t, 0, start)]
    ends = [e for e in ends if e <= start]
    return start - max(ends) if ends else start


def _facts(kind: str, text: str) -> list[tuple[int, str]]:
    if kind == "person":
        return [(m.start(1), m.group(1)) for m in PERSON.finditer(text)]
    pattern = DATE if kind == "date" else NUMBER
    return [(m.start(), m.group(0)) for m in pattern.finditer(text)]
