"""Follow-up questions without a language model. A question that leans on the turn before it is
rewritten into one that stands alone, from that turn's question and answer:

- ellipsis, «按揭贷款呢？» after «工行个人贷款不良率是多少？»: what it names takes the place of its
  like in the question before (the same head word, ending or beginning, a period for a period),
  giving «工行按揭贷款不良率是多少»;
- a pronoun, «这家支行的存款余额是多少？»: the pronoun becomes what the question before asked
  about, or its answer when it asked which one («哪家支行…» → «城东支行»);
- an omitted subject or measure, «比年初下降了多少？», «预计什么时候完工？»: a question that names
  nothing of its own (or only a measure) gets the question before's measure or subject in front.

A question that names its own subject is left alone. The follow-up's own words must stand in the
sentence that answers its rewrite (`missing_own_words`): qa/__init__.py abstains otherwise, so
that a rewrite never turns into a figure about something else. The word lists are in
qa/dialogue.toml."""

import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import jieba
import jieba.posseg

from index import Chunk
from index.profile import Profile
from index.text import NON_WORD
from qa.check import abstention
from qa.compose import statement
from qa.question import WH, parse
from qa.records import Answer, Hit
from qa.span import short_answer
from qa.support import missing_terms
from qa.text import QUESTION_WORDS, normalize, sentence_with_previous

CONVENTIONS = Path(__file__).with_name("dialogue.toml")
# Shared head or beginning (in characters) for a follow-up's words to take another's place.
_MIN_SHARED = 2
# A follow-up of no more characters than this, without 呢, may still be elliptical («按揭贷款？»).
_SHORT = 8
# …and one ending in 呢 or 如何, of no more than this: «汉塞克在红袜2A波特兰海狗出赛的战况如何» is a
# question of its own.
_SHORT_MARKED = 16
# How alike (cosine) a follow-up's words and a part of the question before must be for the one to
# replace the other when nothing else ties them: the last resort of an ellipsis ending in 呢.
_MIN_SIMILARITY = 0.88  # e5-small: unrelated short phrases score 0.75–0.85
# jieba's tags of words that name a thing: nouns and names (n, nr, ns, nt, nz …), short forms,
# Latin words, verbal nouns («比赛»), distinguishing words («总»), places («乡里»).
_NOUN_TAGS = ("n", "j", "eng", "vn", "b", "s")

_LINKING_END = re.compile(r"(?:有|为|达到|达|共|约|是|在)+$")
_NAME_CHARS = 12  # an answer a pronoun may stand for: a name, not a clause
_PEOPLE = "人"  # the kind (qa/dialogue.toml `kinds`) whose nouns a person's name is: 行长, 经理 …
_NAME_QUOTED = re.compile(r"“[^”]+”")  # a name in quotation marks; 《…》 is a title: a source, not a subject
_QUOTED = re.compile(r"[“「《\"][^”」》\"]+[”」》\"]")  # «“六片”指的是什么»: a quoted name is a subject

# «该词», «此城»: a demonstrative and its noun cut as one word; it names what it points at.
_GLUED_DEMONSTRATIVE = re.compile(r"[该此本][\u4e00-\u9fff]")

# A rewrite: the standalone question, the follow-up's own words in it, and whether it carries the
# whole of the question before (not only its subject).
_Rewrite = tuple[str, str, bool]
Similarity = Callable[[str, list[str]], list[float]]  # how alike a phrase is to each candidate


@dataclass(frozen=True)
class Earlier:
    """What a follow-up may lean on: the turn before it."""

    question: str  # as it was answered (its own rewrite, if it had one)
    kind: str  # what it asked for (qa/question.py): "entity", "person", "number" …
    short: str  # its short answer; "" when it was not answered
    leaned: str = ""  # as typed, when it was itself a follow-up: words the next one leans on too


@dataclass(frozen=True)
class Reading:
    """How a question is read in its conversation."""

    typed: str
    standalone: str  # what is answered: the rewrite, or the typed question when it stands alone
    how: str = "alone"  # "alone", "ellipsis", "pronoun", "omitted" (or "generative": the model's)
    # The words of this follow-up, and of the one before when it was one too («比年初下降了多少»
    # then «按揭贷款呢»): what the answer's sentence must hold, not only its article.
    own: tuple[str, ...] = ()
    whole: bool = False  # it carries the whole of the question before (its measure), not only its subject

    @property
    def rewritten(self) -> bool:
        return self.how != "alone"


@dataclass(frozen=True)
class _Conventions:
    openers: re.Pattern
    ellipsis: re.Pattern
    pronouns: frozenset[str]
    personal: frozenset[str]
    demonstrative: re.Pattern
    comparatives: tuple[str, ...]
    general_words: frozenset[str]
    measures: frozenset[str]
    period: re.Pattern
    organisations: tuple[str, ...]
    kinds: tuple[frozenset[str], ...]


@cache
def conventions(path: Path = CONVENTIONS) -> _Conventions:
    data = tomllib.loads(path.read_text("utf-8"))["followup"]
    return _Conventions(
        openers=re.compile(f"^(?:{'|'.join(data['openers'])})+"),
        ellipsis=re.compile(f"^(?P<named>.+?)的?(?:{'|'.join(data['ellipsis_ends'])})$"),
        pronouns=frozenset(data["pronouns"]),
        personal=frozenset(data["personal"]),
        demonstrative=re.compile(data["demonstrative"]),
        comparatives=tuple(data["comparatives"]),
        general_words=frozenset(data["general_words"]),
        measures=frozenset(data["measures"]),
        period=re.compile(data["period"]),
        organisations=tuple(data["organisations"]),
        kinds=tuple(frozenset(group) for group in data["kinds"]),
    )


def answers_of(conversation: Sequence) -> list[Answer]:
    """The answers of a conversation given as its `Turn`s (a refused question has none) or `Answer`s."""
    found = (item if isinstance(item, Answer) else getattr(item, "answer", None) for item in conversation)
    return [answer for answer in found if answer is not None]


def earlier_turn(conversation: Sequence) -> Earlier | None:
    """The last answered-or-abstained question of a conversation (its `Turn`s or `Answer`s);
    greetings and contents are not what a follow-up leans on."""
    for answer in reversed(answers_of(conversation)):
        if answer.kind != "answer":
            continue
        question = _bare_question(answer.understood or answer.question)
        leaned = _bare_question(answer.question) if answer.understood else ""
        return Earlier(question, parse(question).kind, "" if answer.abstained else answer.short, leaned)
    return None


def read(question: str, before: Earlier | None, profile: Profile, similarity: Similarity | None = None) -> Reading:
    """The question as it is meant after `before`: rewritten when it leans on it, else as typed."""
    if before is None:
        return Reading(question, question)
    body = conventions().openers.sub("", _bare_question(question)) or _bare_question(question)
    for how, rewrite in (("ellipsis", _ellipsis), ("pronoun", _pronoun), ("omitted", _omitted)):
        found = rewrite(body, before, profile, similarity)
        if found:
            standalone, own, whole = found
            # Where the whole of the question before is carried (an ellipsis, a comparison), so are
            # the words it leaned with: «比年初下降了多少» then «按揭贷款呢» holds both.
            return Reading(question, standalone, how, tuple(filter(None, (own, before.leaned if whole else ""))), whole)
    return Reading(question, question)


def _bare_question(question: str) -> str:
    return normalize(question).rstrip("？?。.！! ")


def missing_own_words(own: str, text: str, profile: Profile) -> list[str]:
    """The words of a follow-up («按揭贷款», «比年初», «完工») that `text` (the sentence cited for its
    rewrite, with the one before) lacks. All of them count, the thing asked about and the verb
    too: a rewrite that found «开工7月16日» for «预计什么时候完工» found something else."""
    bare = NON_WORD.sub("", text)
    wanted = [w for w, tag in _tagged(own) if len(w) > 1 and (_is_content(w, tag) or _is_predicate(w, tag) or _is_ordinal(w, tag))]
    return [w for w in wanted if not any(NON_WORD.sub("", form) in bare for form in profile.glossary_forms.get(w, (w,)))]


def _is_ordinal(word: str, tag: str) -> bool:
    """«一期», «第二家», «上半年»: which one, or when."""
    return bool(conventions().period.fullmatch(word)) or (tag.startswith("m") and bool(re.search(r"[\u4e00-\u9fff]", word)) and not WH.search(word))


def _is_predicate(word: str, tag: str) -> bool:
    rules = conventions()
    return tag.startswith("v") and word not in QUESTION_WORDS and word not in rules.general_words and not WH.search(word)


# Checking the answer to a rewrite ------------------------------------------------------------


def supported(reading: Reading, result: Answer, profile: Profile, article_of: Callable[[Chunk], str], whole: bool = False) -> bool:
    """A rewritten follow-up's answer stands only where the follow-up's own words («按揭贷款»,
    «比年初», «完工») are in the cited sentence or the one before it, so that a rewrite never turns
    into a figure about something else. `whole`, for the answer to the words as typed: the
    rewrite's conditions too, as the composer holds every question to — its names in the article
    (`article_of` the cited chunk) and, where it carries the measure asked before, its subjects
    around the sentence («不良率», not «外币储蓄», for «比年初下降了多少»)."""
    if result.abstained or not result.citations:
        return False
    citation = result.citations[0]
    around = sentence_with_previous(citation.chunk.full_text, citation.quote)
    if any(missing_own_words(words, around, profile) for words in reading.own):
        return False
    if not whole:
        return True
    article = article_of(citation.chunk)
    near = f"{citation.chunk.headline} {around}" if reading.whole else article
    return not missing_terms(reading.standalone, near, article, profile)


def answer_as_typed(reading: Reading, writer, hits: list[Hit], profile: Profile, article_of: Callable[[Chunk], str]) -> Answer:
    """When the rewrite finds no answer it can stand behind, the words as typed may find the
    sentence in the same passages (the rewrite is longer, and its carried words can draw the
    composer to another sentence). Its short answer is then the one the rewrite asks for in that
    sentence (qa/span.py), and it is taken only if it meets the rewrite's conditions too; else
    «not found». Not for the generative composer: a second call to the model for this."""
    typed = None
    if writer.name != "generative":
        *_, typed = writer.compose(reading.typed, hits)
    if typed is None or typed.abstained or not typed.citations:
        return abstention(reading.typed, hits, writer.name)
    citation = typed.citations[0]
    short = short_answer(parse(reading.standalone), citation.quote, profile)
    answer = replace(typed, short=short, text=statement(short, citation.quote, citation.n))
    if short and supported(reading, answer, profile, article_of, whole=True):
        return answer
    return abstention(reading.typed, hits, writer.name)


# Ellipsis -------------------------------------------------------------------------------------


def _ellipsis(body: str, before: Earlier, profile: Profile, similarity: Similarity | None) -> _Rewrite | None:
    marked = conventions().ellipsis.fullmatch(body)
    named = (marked["named"] if marked else body).removesuffix("的")
    if WH.search(named) or not named or len(named) > _SHORT_MARKED or (not marked and not _noun_phrase(named)):
        return None
    words, named_words = _words(before.question), _words(named)
    span = _like_span(words, named, named_words, profile)
    if span is None and _is_org(named):  # «浙江分行呢» after a question naming no branch: it is said of it
        span = next(((i, i + 1) for i, w in enumerate(words) if _is_org(w) and w not in profile.own_names), (0, 0))
    if span is None and marked and similarity:  # «…呢» is elliptical whatever it names
        span = _most_similar_span(words, named, profile, similarity)
    if span is None:
        return None
    start, end = span
    return "".join(words[:start]) + named + "".join(words[end:]), named, True


def _noun_phrase(text: str) -> bool:
    """«按揭贷款», «工行»: short, and nothing but names and nouns (no «是», no «的» question)."""
    tagged = _tagged(text)
    return len(text) <= _SHORT and all(_noun_like(tag) or _is_org(word) for word, tag in tagged)


def _like_span(words: list[str], named: str, named_words: list[str], profile: Profile) -> tuple[int, int] | None:
    """The words of the question before that `named` takes the place of: a period for a period;
    the run ending in the same head word («个人贷款» for «按揭贷款») or a word of the same ending
    («工行» for «农行», «个贷» = 个人贷款 for «按揭贷款»); the run from the same beginning
    («工银瑞信基金» for «工银安盛»)."""
    period = conventions().period
    if period.fullmatch(named):  # «2020年上半年» is cut 2020 + 年 + 上半年: the longest run that is one
        runs = [(i, j) for i in range(len(words)) for j in range(len(words), i, -1) if period.fullmatch("".join(words[i:j]))]
        return max(runs, key=lambda run: run[1] - run[0]) if runs else (0, 0)
    head = named_words[-1]
    for i, word in enumerate(words):
        if word == head and len(head) >= _MIN_SHARED and not _barrier(word, profile):
            return _run_back(words, i, profile), i + 1
    for i, word in enumerate(words):
        if not _barrier(word, profile) and _same_ending(word, named, profile):
            return i, i + 1
    for i in range(len(words)):
        if not _barrier(words[i], profile) and "".join(words[i:]).startswith(named[:_MIN_SHARED]):
            return i, _run_forward(words, i, profile)
    return None


def _same_ending(word: str, named: str, profile: Profile) -> bool:
    """«工行» and «农行», «个贷» (= 个人贷款) and «按揭贷款»: one ending, shared by two words of
    one length (a short name) or of two characters or more."""
    for form in profile.glossary_forms.get(word, (word,)):
        shared = len(os.path.commonprefix([form[::-1], named[::-1]]))  # the common ending
        if shared >= _MIN_SHARED or (shared == 1 and len(form) == len(named) <= 3):
            return True
    return False


def _most_similar_span(words: list[str], named: str, profile: Profile, similarity: Similarity) -> tuple[int, int] | None:
    spans = [(i, j) for i in range(len(words)) for j in range(i + 1, min(i + 4, len(words) + 1))
             if not any(_barrier(w, profile) for w in words[i:j])]
    if not spans:
        return None
    scores = similarity(named, ["".join(words[i:j]) for i, j in spans])
    best = max(range(len(spans)), key=scores.__getitem__)
    return spans[best] if scores[best] >= _MIN_SIMILARITY else None


# Pronouns -------------------------------------------------------------------------------------


def _pronoun(body: str, before: Earlier, profile: Profile, similarity: Similarity | None) -> _Rewrite | None:
    rules, tagged = conventions(), _demonstratives_apart(_tagged(body))
    words = [w for w, _ in tagged]
    for i, word in enumerate(words):
        demonstrative = rules.demonstrative.fullmatch(word)
        if word not in rules.pronouns and not demonstrative:
            continue
        rest = words[i + 1 :]
        if i == 0 and rest and "".join(rest).startswith(rules.comparatives):  # «它比年初下降了多少»
            return _omitted("".join(rest), before, profile, similarity)
        if demonstrative and i and _anchored(tagged[i - 1]):
            return None  # «软件园支行那篇报道», «…服务的这家企业»: part of a phrase that says what it is
        if not demonstrative and any(_is_content(w, tag) for w, tag in tagged[:i]):
            return None  # «杨丽音和她的丈夫»: it stands for a name in the question itself
        noun = rest[0] if demonstrative and rest and (_is_content(*tagged[i + 1]) or _is_org(rest[0]) or _kind_of(rest[0])) else ""
        if demonstrative and not noun:
            return None  # «仅此一例»: a demonstrative points at something only with its noun
        referent = _referent(before, word, noun, profile)
        if not referent or referent == noun:
            return None
        joiner = {"其中": "中", "其": "的"}.get(word, "")
        end = i + 1 + bool(noun)
        return "".join(words[:i]) + referent + joiner + "".join(words[end:]), "".join(words[:i] + words[end:]), False
    return None


def _demonstratives_apart(tagged: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A demonstrative as one word, its noun as the next: jieba cuts «这篇» as 这 + 篇 (joined
    here) and «该行» as one word (cut here into 该 + 行)."""
    apart = []
    for word, tag in tagged:
        if apart and apart[-1][0] in ("这", "那", "该", "此") and tag == "q":
            apart[-1] = (apart[-1][0] + word, "r")
        elif _GLUED_DEMONSTRATIVE.fullmatch(word):
            apart += [(word[0], "r"), (word[1], "n")]
        else:
            apart.append((word, tag))
    return apart


def _anchored(previous: tuple[str, str]) -> bool:
    """A demonstrative after «的», a name or a closing quote belongs to the phrase it ends."""
    word, tag = previous
    return word == "的" or word in "”」》\"'" or _is_content(word, tag) or _is_org(word)


def _referent(before: Earlier, pronoun: str, noun: str, profile: Profile) -> str:
    """What a pronoun of the follow-up stands for: the answer, when the question before asked which
    one and got a name (a person, for «他» or «她»); else the thing it asked about that `noun` names («该项目» → «XX数据中心项目»,
    or «成渝数据中心二期工程», a noun of its kind), or (a bare «它») its subject. "" when the
    question before names no such thing, or names it with a pronoun too: a rewrite must say more
    than the question as typed."""
    if _named_answer(before) and _answer_is_meant(before, pronoun, noun):
        return before.short if not noun or noun in before.short else before.short + noun
    if not noun:
        return _subject(before, profile)
    tagged = _tagged(before.question)
    alike = _kind_of(noun) | {noun}
    for i, (word, tag) in enumerate(tagged):
        if any(word.endswith(n) for n in alike) and (len(word) > 1 or _noun_like(tag)):
            start = i
            while start > 0 and (_of_a_noun(tagged, start - 1) or (_noun_like(tagged[start - 1][1]) and not _barrier(tagged[start - 1][0], profile))):
                start -= 1
            referent = "".join(w for w, _ in tagged[start : i + 1])
            if start and conventions().demonstrative.fullmatch(tagged[start - 1][0]) or _GLUED_DEMONSTRATIVE.fullmatch(referent):
                return ""  # «这家民营企业», «该剧»: named by a demonstrative there too
            return referent
    return ""


def _of_a_noun(tagged: list[tuple[str, str]], at: int) -> bool:
    """«广州天河支行的行长»: a «的» between two nouns is inside the name of the thing."""
    return tagged[at][0] == "的" and at > 0 and _noun_like(tagged[at - 1][1])


def _answer_is_meant(before: Earlier, pronoun: str, noun: str) -> bool:
    """Whether a pronoun stands for the answer before: a person («他», «这位行长») for a person asked
    who; a thing of the noun's kind («这家支行» for «城东支行», not «这家企业» for «峰会») otherwise."""
    if before.kind == "person":
        return not noun or noun in _kind_of(_PEOPLE) or any(before.short.endswith(n) for n in _kind_of(noun) | {noun})
    if pronoun in conventions().personal:
        return False
    return not noun or any(before.short.endswith(n) for n in _kind_of(noun) | {noun})


def _kind_of(noun: str) -> frozenset[str]:
    """The nouns of `noun`'s kind (qa/dialogue.toml): «项目» → 工程, 计划; none for another."""
    return next((group for group in conventions().kinds if noun in group), frozenset())


def _named_answer(before: Earlier) -> bool:
    """The question before asked which one, and its answer is a name («城东支行», «刘志方»): not a
    clause, a figure, or the question's own words back («…这家申请科创板IPO的企业» → «科创板IPO的企业»)."""
    short = before.short
    return (
        before.kind in ("entity", "person")
        and 0 < len(short) <= _NAME_CHARS
        and not re.search(r"[\d，。、；,;]", short)
        and short not in before.question
    )


# Omitted subject or measure ------------------------------------------------------------------


def _omitted(body: str, before: Earlier, profile: Profile, similarity: Similarity | None = None) -> _Rewrite | None:
    """A question naming no subject of its own: «比年初下降了多少» takes the measure asked about
    before («工行个人贷款不良率»), «预计什么时候完工» only its subject («XX项目»)."""
    rules = conventions()
    tagged = _tagged(body)
    # What it names («总» of «总投资» aside): nothing, or only what is measured.
    named = [w for w, tag in tagged if (_is_content(w, tag) and not (tag == "b" and len(w) == 1)) or _GLUED_DEMONSTRATIVE.fullmatch(w)]
    if not body or _QUOTED.search(body) or any(w not in rules.measures for w in named):
        return None
    whole = body.startswith(rules.comparatives)
    frame = _frame(before.question) if whole else _subject(before, profile)
    return (frame + body, body, whole) if frame else None


def _frame(question: str) -> str:
    """What a question asks about: the words before its question word, without the verb that links
    them to it («6月末私人银行时点达标客户有多少» → «6月末私人银行时点达标客户»)."""
    return _LINKING_END.sub("", parse(question).left)


def _is_content(word: str, tag: str) -> bool:
    """A word that names something: a noun, a name, a quality («别名»); not a question word, a
    period, a pronoun or a word too general to say what (qa/dialogue.toml)."""
    rules = conventions()
    return (
        (_noun_like(tag) or tag.startswith("a"))
        and word not in rules.general_words
        and word not in rules.pronouns
        and word not in QUESTION_WORDS
        and not WH.search(word)
        and not rules.period.fullmatch(word)
        and not rules.demonstrative.fullmatch(word)
    )


def _noun_like(tag: str) -> bool:
    return tag.startswith(_NOUN_TAGS)


def _subject(before: Earlier, profile: Profile) -> str:
    """What the question before was about, without what it measured of it: «XX项目总投资多少» →
    «XX项目»; its answer, when it asked which one."""
    if _named_answer(before):
        return before.short
    quoted = _NAME_QUOTED.search(before.question)
    if quoted:  # «工行是什么时候推出“种植e贷”的»: what it asks about is the name it quotes
        return quoted.group(0)
    words = _words(_frame(before.question))
    # «…达标客户较年初增长»: a comparison carried into it before is not its subject.
    cut = next((i for i, w in enumerate(words) if w in conventions().comparatives), len(words))
    words = words[:cut]
    # «总投资» may come as 总 + 投资: a single character left at the end belongs to the measure.
    while words and (words[-1] in conventions().measures or words[-1] in QUESTION_WORDS or len(words[-1]) == 1):
        words.pop()
    return "".join(words)


# Words -----------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [w for w in jieba.lcut(text) if w.strip()]


def _tagged(text: str) -> list[tuple[str, str]]:
    return [(w, tag) for w, tag in jieba.posseg.lcut(text) if w.strip()]


def _barrier(word: str, profile: Profile) -> bool:
    """Words a replaced run does not cross: the question's own words, the bank's name, periods."""
    return word in QUESTION_WORDS or bool(WH.search(word)) or word in profile.own_names or bool(conventions().period.fullmatch(word))


def _run_back(words: list[str], end: int, profile: Profile) -> int:
    """Where the run of words ending at `end` begins: at a barrier or an organisation's name
    («城东支行个人贷款» → 个人贷款)."""
    start = end
    while start > 0 and not _barrier(words[start - 1], profile) and not _is_org(words[start - 1]):
        start -= 1
    return start


def _run_forward(words: list[str], start: int, profile: Profile) -> int:
    end = start + 1
    while end < len(words) and not _barrier(words[end], profile):
        end += 1
    return end


def _is_org(word: str) -> bool:
    """«城东支行»: a name that a run back over what is measured about it stops at."""
    return len(word) > 1 and word.endswith(conventions().organisations)
