"""Chinese text helpers for the qa stage: question normalisation, key terms, sentences. What
every stage shares (bigrams, white space, sentence ends) is in index/text.py."""

import re
import unicodedata
from collections import Counter

import jieba

from index.text import CLAUSE_ENDS, NON_WORD, SENTENCE_ENDS, bigrams, collapse_spaces

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise

# Words that shape a question but say nothing about its subject.
QUESTION_WORDS = frozenset(
    "多少 几 第几 排第几 几个 几家 几位 几年 哪 哪个 哪些 哪家 哪里 哪年 哪一年 谁 什么 怎么 怎样 如何 为什么 是否 吗 呢 么 "
    "请问 请 告诉 我 一下 是 的 了 在 有 有没有 达到 达 到 为 多大 多高 多长 何时 什么时候 时候 情况 目前 "
    "分别 共 共计 总共 一共 大约 约 和 与 及 以及 把 被 对 中 上 其 该 这 那 呢 啊 吧 时 后 前 "
    "of the a an is are what how many much which who when".split()
)
_SENTENCE_END = re.compile(rf"(?<=[{SENTENCE_ENDS}])|\n")
_CLAUSE_END = re.compile(rf"(?<=[{CLAUSE_ENDS}])")


def normalize(text: str) -> str:
    """Full-width digits and letters to half-width, spaces squeezed: how questions are compared."""
    return collapse_spaces(unicodedata.normalize("NFKC", text)).strip()


def char_f1(prediction: str, gold: str) -> float:
    """CMRC 2018's character-level F1."""
    common = Counter(prediction) & Counter(gold)
    same = sum(common.values())
    if not same:
        return 0.0
    precision, recall = same / len(prediction), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def key_terms(question: str) -> list[str]:
    """The words of a question that a supporting sentence should contain."""
    words = jieba.lcut(normalize(question))
    terms = [w for w in words if w.lower() not in QUESTION_WORDS and not NON_WORD.fullmatch(w)]
    return list(dict.fromkeys(terms))


def sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def sentence_with_previous(text: str, quote: str) -> str:
    """`quote` and the sentence before it in `text`: what a sentence leans on for its subject."""
    found = sentences(text)
    for i, sentence in enumerate(found):
        if quote in sentence or sentence in quote:
            return " ".join(found[max(0, i - 1) : i + 1] + ([quote] if sentence in quote else []))
    return quote


def clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE_END.split(sentence) if c]


def coverage(terms: list[str], text: str) -> float:
    """How much of the question's key terms text contains: half for whole words, longer words
    weighing more, half for character bigrams, which survive jieba's missegmentation of names
    («工银瑞信» → 工 / 银瑞信) and changes of word order."""
    if not terms:
        return 0.0
    text = normalize(text)
    words = sum(len(t) for t in terms if t in text) / sum(len(t) for t in terms)
    grams = set().union(*(bigrams(t) for t in terms)) | set(
        a[-1] + b[0] for a, b in zip(terms, terms[1:])
    )
    return 0.5 * words + 0.5 * sum(g in text for g in grams) / len(grams)
