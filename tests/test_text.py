import re

from index.text import (
    CJK,
    CJK_PUNCT,
    CLAUSE_ENDS,
    HAN,
    HAN_RUN,
    NON_WORD,
    SENTENCE_ENDS,
    STOPS,
    bigrams,
    char_bigrams,
    collapse_spaces,
    squash,
)
from qa.text import clauses, sentences

BMP = [chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000]


def test_han_takes_the_extension_a_and_compatibility_blocks_but_not_punctuation():
    han = re.compile(f"[{HAN}]")
    for c in "工行䇲䜣豈﨑":  # unified, extension A (CMRC, DRCD), compatibility ideographs
        assert han.fullmatch(c), c
    for c in "，。「a1 ぁ\u3000":
        assert not han.fullmatch(c), c
    assert HAN_RUN.fullmatch("闭䇲木") and not HAN_RUN.fullmatch("工行。")


def test_han_is_inside_cjk_and_cjk_punctuation_is_the_chinese_marks():
    han, cjk, punct = (re.compile(f"[{r}]") for r in (HAN, CJK, CJK_PUNCT))
    assert all(cjk.fullmatch(c) for c in BMP if han.fullmatch(c))
    assert cjk.fullmatch("ぁ") and not han.fullmatch("ぁ")
    for c in "，。（）“”‘’\u3000《》":
        assert punct.fullmatch(c), c
    assert not punct.fullmatch("工") and not punct.fullmatch(",")


def test_sentence_ends_nest_in_clause_ends():
    assert set(STOPS) < set(SENTENCE_ENDS) < set(CLAUSE_ENDS)
    assert "；" in SENTENCE_ENDS and "，" not in SENTENCE_ENDS and "，" in CLAUSE_ENDS
    assert sentences("余额突破11万亿。增长5.4%！是否？下一句; 末句\n新行") == [
        "余额突破11万亿。", "增长5.4%！", "是否？", "下一句;", "末句", "新行"
    ]
    assert clauses("甲，乙：丙。") == ["甲，", "乙：", "丙。"]


def test_squash_drops_every_kind_of_white_space_and_collapse_keeps_one():
    text = "工银 安盛\n保险\t195亿\u3000元 "
    assert squash(text) == "工银安盛保险195亿元"
    assert collapse_spaces(text) == "工银 安盛 保险 195亿 元 "
    assert squash("") == collapse_spaces("") == ""


def test_char_bigrams_keep_order_and_repeats():
    assert char_bigrams("工行工行") == ["工行", "行工", "工行"]
    assert char_bigrams("工") == [] and char_bigrams("") == []


def test_bigrams_skip_spaces_and_punctuation_and_keep_a_lone_character():
    assert bigrams("工银，瑞信") == {"工银", "银瑞", "瑞信"}
    assert bigrams("工 行") == {"工行"}
    assert bigrams("工") == {"工"}
    assert bigrams("，。 ") == set() and bigrams("") == set()


def test_non_word_is_what_the_older_classes_matched():
    # qa/support.py used [\W_]+, qa/text.py and index/tokens.py [\s\W_]+: the same characters.
    older = re.compile(r"[\W_]")
    assert all(bool(NON_WORD.fullmatch(c)) == bool(older.fullmatch(c)) for c in BMP)
    assert NON_WORD.sub("", "“小微”科创_企业 2024") == "小微科创企业2024"
