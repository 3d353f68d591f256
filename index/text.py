"""The text toolkit every stage shares (index → qa → ui, eval): character ranges, sentence and
clause ends, character bigrams, white space. One definition each; qa/text.py keeps only what is
about questions."""

import re

# Han ideographs: CJK Unified Ideographs, Extension A, and the Compatibility Ideographs, as the
# body of a character class (`f"[{HAN}]"`). The supplementary-plane extensions (B and after) are
# left out on purpose: the BM25 tokens of a stored index are made with this range, and a wider
# one would tokenise such characters differently from the index already on disk.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RUN = re.compile(f"[{HAN}]+")
# Every East Asian block of the basic plane from the CJK radicals to the unified ideographs (kana,
# bopomofo, CJK symbols and punctuation, Han) and the compatibility ideographs: a superset of HAN.
CJK = "\u2e80-\u9fff\uf900-\ufaff"
# CJK symbols and punctuation, full-width forms, curly quotes: the punctuation of Chinese text.
CJK_PUNCT = "\u3000-\u303f\uff00-\uffef\u2018-\u201d"

# Where a sentence or clause ends. Full-width stops first; their half-width twins appear in text
# typed on a Western keyboard. A semicolon ends a sentence for the qa stage (a claim, a citation).
FULL_STOPS = "。！？"
STOPS = FULL_STOPS + "!?"
SENTENCE_ENDS = STOPS + "；;"
CLAUSE_ENDS = "，,、：:" + SENTENCE_ENDS

# Anything but letters and digits: white space, punctuation, symbols, the underscore.
NON_WORD = re.compile(r"[\s\W_]+")
_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text without any white space, for exact comparisons across line breaks."""
    return _SPACE.sub("", text)


def collapse_spaces(text: str) -> str:
    """Every run of white space (line breaks, tabs, full-width spaces) as one plain space."""
    return _SPACE.sub(" ", text)


def char_bigrams(text: str) -> list[str]:
    """Every pair of neighbouring characters, in order, repeats kept."""
    return [text[i : i + 2] for i in range(len(text) - 1)]


def bigrams(text: str) -> set[str]:
    """The character bigrams of text with its spaces and punctuation taken out; a one-character
    text is its own bigram."""
    text = NON_WORD.sub("", text)
    return set(char_bigrams(text)) or ({text} if text else set())
