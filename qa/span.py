"""The short answer inside a sentence: the words standing where the question word stands.

Questions are mostly a sentence of the text with the fact replaced by a question word
(「储蓄存款余额突破了多少」 ← 「余额突破11万亿关口」), so the answer lies between the longest
match of the question's words before the question word and the first match of those after it."""

import re
from dataclasses import dataclass

from index.profile import Profile
from index.text import HAN
from qa.question import Question
from qa.text import coverage

_CN_NUM = "[一二两三四五六七八九十百千万]"
_UNIT = (
    r"(?:万亿|千亿|百亿|亿|千万|百万|万|千|百)?"
    r"(?:美元|港元|日圆|日元|欧元|英镑|元|亿人次|人次|户|家|笔|个百分点|百分点|%|倍|名|位|个月|年|月|天|人|余家|余人|余户|期|项|个|岁|次|版"
    r"|平方公里|平方米|公里|公尺|公分|公斤|千米|厘米|毫米|米|克|吨|处|座|场|部|本|张|首|所|件|条|届|集|层|种|枚|册|台|辆|份|套|间|亩|篇|批|只|头|分钟|小时|秒"
    r"|\s?(?:km²|km|kg|cm|mm|m²|m))?"
)
NUMBER = re.compile(
    rf"(?:近|约|超|逾)?(?:第)?(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[-~～至]\d+(?:\.\d+)?)?(?:余(?=[家人户名个万亿]))?"
    rf"|{_CN_NUM}+(?=[年位家个倍名户期项版]|分之))(?:分之{_CN_NUM}+)?{_UNIT}|第{_CN_NUM}+|一半|半数"
)
DATE = re.compile(
    rf"(?:\d{{4}}|{_CN_NUM}{{4}})年(?:年中|年初|年底|年末|\d{{1,2}}月(?:\d{{1,2}}日)?|[上下]半年|第?[一二三四]季度|底|末|初)?"
    r"|\d{1,2}月(?:份)?(?:\d{1,2}日|末|底|初)?|[上下]半年|第?[一二三四]季度|年底前?|年内|年初|元月"
)
_BOUNDARY = re.compile(r"[，,。；;！？!?\n◀▶：:（）()]")
_LIST_SEPARATOR = re.compile(r"^(?:以及|[、和及与,，\s])*$")
_ITEM_SEPARATOR = re.compile(r"以及|[、和及与]")
_LEAD = re.compile(r"^(?:分别|已经|已|都|共|累计|仍然|仍|还|了|是|为|的|达到|达|到|有|在|以|于|与|和|对|向|从|列|排名|排|叫做|叫|称为|位于|源自|源于|来自|自)+")
_TRAIL = re.compile(r"(?:的|了|等|是|[于在]\d{1,2}月)+$")
MAX_SHORT = 24  # longer than this, the span is a clause, not a short answer
_RIGHT_SKIP = 4
# The aligned span is where the fact most likely stands, right after the question's words most of all.
_SPAN_BONUS = 0.2
_NEXT_BONUS = 0.6


@dataclass(frozen=True)
class Alignment:
    span: str
    start: int  # where the span starts in the sentence
    quality: float  # share of the question's words around the question word matched (0..1)


def align(question: Question, sentence: str, profile: Profile) -> Alignment:
    left_end, left_len = _left_anchor(question, sentence, profile)
    right_start, right_len = _right_anchor(question.right, sentence, left_end or 0)
    if left_end is None and right_start is None:
        return Alignment("", 0, 0.0)
    if left_end is None:
        start = _clause_start(sentence, right_start)
        end = right_start
    else:
        start = left_end
        end = right_start if right_start is not None else _clause_end(sentence, left_end)
    around = len(question.left) + len(question.right)
    quality = (left_len + right_len) / around if around else 0.0
    span = _trim(_without_question_words(sentence[start:end], question.text))
    return Alignment(span, start, min(quality, 1.0))


def short_answer(question: Question, sentence: str, profile: Profile, alignment: Alignment | None = None) -> str:
    """The fact the question asks for, or "" when the sentence holds no clear one."""
    alignment = alignment or align(question, sentence, profile)
    if question.kind in ("number", "date", "person") or question.kind == "entity" and question.unit:
        found = _fact(question, sentence, alignment, profile)
        if found or question.kind in ("number", "date"):
            return found
    span = alignment.span
    if question.kind in ("yesno", "reason") or not 2 <= len(span) <= MAX_SHORT:
        return ""  # one character is a piece of a word, not an answer
    return span


def facts(kind: str, text: str, profile: Profile, unit: str = "") -> list[tuple[int, str]]:
    if kind == "person":  # a name after a title (the profile's reporters' roles and people's titles)
        return [(m.start(1), m.group(1)) for m in profile.person.finditer(text)]
    if kind == "entity":  # a name ending in what «哪个支行» asks for: 延边分行珲春支行
        return [(m.start(), m.group(0)) for m in re.finditer(rf"[{HAN}]{{2,6}}{unit}", text)] if unit else []
    pattern = DATE if kind == "date" else NUMBER
    return [(m.start(), m.group(0)) for m in pattern.finditer(text)]


def _fact(question: Question, sentence: str, alignment: Alignment, profile: Profile) -> str:
    """The fitting fact whose clause carries most of the question's words, preferring the one
    in the aligned span; one of a list («分别达到58%、83%、96%») by the item the question names."""
    candidates = fitting_facts(question, sentence, profile)
    if not candidates:
        return ""
    span_end = alignment.start + max(len(alignment.span), 1)
    canonical = profile.canonical
    terms = [canonical(t) for t in question.terms]

    def score(candidate: tuple[int, str]) -> float:
        start, _ = candidate
        bonus = 0.0
        if alignment.quality > 0 and alignment.start <= start < span_end:
            bonus = _NEXT_BONUS if start - alignment.start <= 3 else _SPAN_BONUS
        return coverage(terms, canonical(_clause_at(sentence, start))) + bonus

    best = max(candidates, key=score)
    listed = _list_around(sentence, candidates, best)
    if len(listed) >= 2:
        return _from_list(question, sentence, listed)
    return best[1]


def fitting_facts(question: Question, sentence: str, profile: Profile) -> list[tuple[int, str]]:
    """Facts of the kind asked for, in the unit asked for, that the question does not itself name."""
    return [
        (start, found)
        for start, found in facts(question.kind, sentence, profile, question.unit)
        if not any(_figure_of(found) in t for t in question.terms) and found not in question.text and _unit_fits(question, found)
    ]


def _figure_of(fact: str) -> str:
    """«近1.5亿人次» → 1.5亿人次: what a question naming the figure would write."""
    return fact.lstrip("近约超逾第")


def _unit_fits(question: Question, found: str) -> bool:
    if question.kind == "date":  # «哪天» asks for a day, «几月» for a month: «2022年» gives neither
        return question.unit in found
    if not question.unit or question.kind != "number":
        return True
    if question.unit.startswith("第"):  # «第几版»: 第 and the counter
        return found.startswith("第") and found.endswith(question.unit[1:])
    if question.unit == "元":
        return found.endswith(("元", "亿", "万"))
    if question.unit == "%":
        return found.endswith(("%", "百分点")) or "分之" in found or found in ("一半", "半数")
    return found.endswith(question.unit) or (question.unit in ("位", "名") and found.startswith("第"))


def _list_around(sentence: str, candidates: list[tuple[int, str]], chosen: tuple[int, str]) -> list[tuple[int, str]]:
    """The facts listed together with `chosen`, joined only by 、/和/及."""
    i = candidates.index(chosen)
    first = last = i
    while first > 0 and _joined(sentence, candidates[first - 1], candidates[first]):
        first -= 1
    while last + 1 < len(candidates) and _joined(sentence, candidates[last], candidates[last + 1]):
        last += 1
    return candidates[first : last + 1]


def _joined(sentence: str, a: tuple[int, str], b: tuple[int, str]) -> bool:
    return bool(_LIST_SEPARATOR.match(sentence[a[0] + len(a[1]) : b[0]]))


def _from_list(question: Question, sentence: str, values: list[tuple[int, str]]) -> str:
    """The value in the place of the item the question names, when exactly one item holds a
    question word that the others lack; else none (a guess is not an answer)."""
    items = _parallel_items(sentence[: values[0][0]], len(values))
    terms = [t for t in question.terms if len(t) > 1]
    if len(items) != len(values):
        return ""
    # Each item weighs by the question words only it holds; the heaviest, if alone, is the one asked.
    weights = [
        sum(len(t) for t in terms if t in item and not any(t in o for o in items[:i] + items[i + 1 :]))
        for i, item in enumerate(items)
    ]
    best = max(weights)
    return values[weights.index(best)][1] if best and weights.count(best) == 1 else ""


def _parallel_items(before: str, n: int) -> list[str]:
    """The n things a list of figures refers to: a 、-list without figures in the clauses just
    before, else the n clauses before the one that introduces the figures."""
    clauses = [c for c in re.split(r"[，,；;。]", before) if c.strip()]
    for clause in reversed(clauses):
        items = [i for i in _ITEM_SEPARATOR.split(clause) if i]
        if len(items) == n and not any(re.search(r"\d", i) for i in items):
            items[0] = re.split(r"[在对与向给为于把]", items[0])[-1]
            items[-1] = re.split(r"的|等|分别", items[-1])[0]
            return items
    return clauses[-n - 1 : -1] if len(clauses) > n else []


def _clause_at(sentence: str, position: int) -> str:
    return sentence[_clause_start(sentence, position) : _clause_end(sentence, position)]


def _left_anchor(question: Question, sentence: str, profile: Profile) -> tuple[int | None, int]:
    left = question.left
    canonical = profile.canonical
    terms = [canonical(t) for t in question.terms if t in left]
    for size in range(min(len(left), 24), 1, -1):
        found = [m.start() for m in re.finditer(re.escape(left[-size:]), sentence)]
        if found:
            # Of several «不良率», the one whose clause holds the question's other words («按揭»).
            at = max(found, key=lambda a: coverage(terms, canonical(_clause_at(sentence, a))))
            return at + size, size
    ends = [sentence.find(t) + len(t) for t in question.terms if t in left and t in sentence and len(t) > 1]
    return (max(ends), 1) if ends else (None, 0)


def _right_anchor(right: str, sentence: str, start: int) -> tuple[int | None, int]:
    """The longest piece of the words after the question word, found after `start`; it may
    skip a few words at their head («哪部电影中首度担当» → 「首度担当」), which name what is asked."""
    for size in range(min(len(right), 24), 1, -1):
        for skip in range(0, min(_RIGHT_SKIP, len(right) - size) + 1):
            at = sentence.find(right[skip : skip + size], start)
            if at > start:
                return at, size
    return None, 0


def _clause_start(sentence: str, end: int) -> int:
    found = [m.end() for m in _BOUNDARY.finditer(sentence, 0, end)]
    return found[-1] if found else 0


def _clause_end(sentence: str, start: int) -> int:
    while start < len(sentence) and _BOUNDARY.match(sentence, start):  # «之一：协办奋进…»
        start += 1
    found = _BOUNDARY.search(sentence, start)
    return found.start() if found else len(sentence)


def _without_question_words(span: str, question: str) -> str:
    """«打造客户经理“云工作室”» asked as «为客户经理打造了什么»: the head the question already says is not the answer."""
    for size in range(min(len(span) - 1, 24), 1, -1):
        if span[:size] in question:
            return span[size:]
    return span


def _trim(span: str) -> str:
    span = span.strip()
    if re.match(rf"[{HAN}]{{2,3}}\s", span):  # «王旎 行报通讯员 方建国»: a byline's name ends at a space
        span = span.split()[0]
    span = span.strip("，,。；;、 （）()")
    return _TRAIL.sub("", _LEAD.sub("", span)).strip("“”\"'：:，,。；;、 （）()")
