"""Whether a sentence can answer a question at all. A passage about 工行's 个贷不良率 does not
answer a question about 建设银行's: the question's names, periods and figures must stand in the
passage, and the things it asks about must stand around the sentence that answers."""

import re
from functools import lru_cache

import jieba.posseg

from index.profile import Profile
from index.text import NON_WORD, char_bigrams
from qa.question import WH
from qa.text import QUESTION_WORDS, normalize

# jieba's tags for words that pin a question down: organisations, places, names, other proper
# nouns, times and numerals; and for the nouns that say what it is about.
_SPECIFIC_TAGS = frozenset("nt ns nr nz t m mq eng".split())
_SUBJECT_TAGS = frozenset("n nt ns nr nz j eng vn".split())
_FIGURE = re.compile(r"[\d一二三四五六七八九十]")
# «两个», «一类», «几座»: how many, not which.
_QUANTITY = re.compile(r"[一两二三四五六七八九十几多]+[个种类门张座位名家项条件次本部篇首]")
# Between the thing asked about and the question word («坏账比例是多少», «渗透率达到了多少»).
_LINKING = frozenset("的 是 有 为 达到 达 占 约 大约 了 在 共 一共 总共 能 会".split())
# One-character verbs and prepositions that jieba's guesses for unknown words glue to what follows.
_GLUED = frozenset("占在对向把被给与和跟从为是有比较")
_PERIOD = re.compile(r"[上下]半年|季度|年[初末底中]|月[初末底]|去年|前年|明年|全年")
_YES_NO = frozenset("是否 有没有 是不是 能否".split())
# The bank's short forms (工行, 个贷) and its own names are the newsletter's: its profile
# (index/newsletter.toml, [glossary]) has them; either form in the text supports the other.
# Words that frame the question («this article»), not restrict it; so do the bank's own names.
_FRAME_WORDS = frozenset(
    (
        "今年 目前 现在 当前 正在 当时 这次 近日 最近 这篇 那篇 这条 这家 该 一般 通常 主要 大多 "
        "报道 文章 一文 纪实 消息 新闻 稿件 图片 图片说明 说明 栏目 专题报道 导读 标题 主标题"
    ).split()
)


def _expanded(text: str, profile: Profile) -> str:
    """The text with the long forms of its short forms beside it: 个贷 stands for 个人贷款, so it
    holds 个人 too."""
    found = {m.group(0) for m in profile.glossary_pattern.finditer(text)}
    return " ".join([text, *(form for short in found for form in profile.glossary_forms[short])])


def missing_terms(question: str, sentence_context: str, passage: str, profile: Profile) -> list[str]:
    """The question's names, periods and figures that the passage lacks, and the things it asks
    about that the sentence (with its headline) lacks; empty when the sentence may answer."""
    near, whole = _bare(_expanded(sentence_context, profile)), _bare(_expanded(passage, profile))
    specific, subjects = _conditions(normalize(question), profile.own_names)
    forms = profile.glossary_forms
    return [w for w in specific if not _present(w, whole, forms)] + [
        w for w in subjects if not (_present(w, near, forms) or _mostly_present(w, near))
    ]


@lru_cache(maxsize=4096)
def _conditions(question: str, own_names: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # The question word as one token, so that «多大比例» reads as asking for the 比例.
    question = WH.sub("什么", question.rstrip("？?"))
    tokens = [(t.word.strip(), t.flag) for t in jieba.posseg.cut(question)]
    tokens = [(_unglued(w), f) for w, f in tokens if w and not NON_WORD.fullmatch(w)]
    asked = _asked_about(tokens)
    specific, subjects = [], []
    for i, (word, tag) in enumerate(tokens):
        if word in QUESTION_WORDS or word in _FRAME_WORDS or word in own_names or WH.search(word) or _QUANTITY.fullmatch(word) or i in asked:
            continue
        if len(word) == 1 and not word.isdigit():
            continue
        if tag == "t" and not (_FIGURE.search(word) or _PERIOD.search(word)):
            continue  # «后来», «今天», «最初»: relative times that no text repeats word for word
        if tag in _SPECIFIC_TAGS or _FIGURE.search(word):
            specific.append(word)
        elif tag in _SUBJECT_TAGS and len(word) > 1:
            subjects.append(word)
    return tuple(dict.fromkeys(specific)), tuple(dict.fromkeys(subjects))


def _unglued(word: str) -> str:
    """A word jieba made up (none of its dictionary's) less a verb or preposition it glued to its
    front: «占普惠» (from «占普惠贷款») is 普惠."""
    if len(word) >= 3 and word[0] in _GLUED and not jieba.dt.FREQ.get(word):
        return word[1:]
    return word


def _asked_about(tokens: list[tuple[str, str]]) -> set[int]:
    """Positions of the words naming what the answer is («哪个部门», «坏账比例是多少»): the answer
    fills them, so the text need not contain them."""
    asked = set()
    for i, (word, _) in enumerate(tokens):
        if not WH.search(word):
            continue
        if word in _YES_NO:  # «是否已经过半»: what follows is the question itself
            asked.update(range(i + 1, len(tokens)))
            continue
        j = i + 1  # «哪个国家的运动员», «谁的妻子»: the noun phrase after the question word
        while j < len(tokens) and (tokens[j][1] in _SUBJECT_TAGS or tokens[j][0] == "的" or _QUANTITY.fullmatch(tokens[j][0])):
            asked.add(j)
            j += 1
        j = i - 1
        while j >= 0 and tokens[j][0] in _LINKING:
            j -= 1
        if j >= 0 and tokens[j][1] in _SUBJECT_TAGS:
            asked.add(j)
    return asked


def _present(word: str, text: str, forms) -> bool:
    return any(_bare(form) in text for form in forms.get(word, (word,)))


def _mostly_present(word: str, text: str) -> bool:
    """Half the character pairs of a longer word: what is left of a rare name that jieba cut
    wrongly («魏舒史称» → 魏舒史). Names, places and figures are held to the exact word."""
    pairs = char_bigrams(word)
    return len(word) >= 3 and sum(p in text for p in pairs) * 2 >= len(pairs)


def _bare(text: str) -> str:
    """Without spaces, quotes or punctuation: «“小微”科创企业» holds 小微科创."""
    return NON_WORD.sub("", normalize(text))
