"""Keyword retrieval: tokenisation of Chinese text and questions, token ids, BM25 ranking and updates."""

import math

import numpy as np
import pytest

from index.tokens import DEFAULT, TOKENIZER, Tokenizer, chunk_tokens, encode, tokenize
from qa.keyword import KeywordIndex, question_tokens


def test_han_runs_give_characters_and_bigrams_and_punctuation_separates():
    assert tokenize("工行，个金") == ["工", "行", "工行", "个", "金", "个金"]


def test_full_width_digits_and_letters_read_as_half_width():
    assert tokenize("２０２０年ＩＣＢＣ") == tokenize("2020年icbc") == ["2020", "年", "icbc"]


def test_numbers_keep_their_decimals_and_latin_is_lowercased():
    assert tokenize("不良率0.29%，ICBC") == ["不", "良", "率", "不良", "良率", "0.29", "icbc"]


def test_question_words_are_dropped_from_questions_only():
    assert question_tokens("厦门软件园支行的行长是谁？") == tokenize("厦门软件园支行 行长")
    assert "谁" not in question_tokens("行长是谁？")
    assert "谁" in tokenize("行长是谁？")  # a passage keeps every word
    assert not {"多", "少", "多少"} & set(question_tokens("上半年代销工银瑞信基金多少？"))


def test_a_question_of_question_words_only_has_no_tokens():
    assert question_tokens("是多少？") == []


def test_switches_change_the_tokens_and_the_name():
    assert Tokenizer(chars=False)("工行个金") == ["工行", "行个", "个金"]
    assert Tokenizer(chars=False)("行") == ["行"]  # a lone character has no bigram but is kept
    assert "26万" in Tokenizer(units=True)("新增26万户")
    assert Tokenizer(nfkc=False)("２０２０") == []  # what NFKC is for
    assert Tokenizer().name != Tokenizer(units=True).name
    assert TOKENIZER == DEFAULT.name


def test_token_ids_are_stable_64_bit_hashes():
    ids = encode(["工行", "工行", "个金"])
    assert ids.dtype == np.uint64
    assert ids[0] == ids[1] != ids[2]
    # Stored with every segment: changing the encoding silently would corrupt old indexes.
    assert int(encode(["工行"])[0]) == 8355803966004572834
    assert np.array_equal(chunk_tokens("工行"), encode(tokenize("工行")))


PASSAGES = {
    1: "工行个人金融业务上半年保持增长，工行个人客户继续增加。",
    2: "工行支行积极服务企业客户，工行支行业务增长。",
    3: "软件园支行行长刘志方介绍了支行的做法。",
    4: "工行在世界500强中排名第24位。",
}


def index(**kwargs) -> KeywordIndex:
    return KeywordIndex.from_texts(PASSAGES, PASSAGES.values(), **kwargs)


def test_the_passage_with_the_rare_term_ranks_first():
    assert index().search("刘志方是谁？", 3)[0][0] == 3
    assert index().search("工行排名第几？", 1)[0][0] == 4


def test_only_passages_sharing_a_token_are_returned_best_first():
    hits = index().search("刘志方", 10)
    assert [i for i, _ in hits] == [3]
    assert index().search("完全无关的问题", 5) == []
    scores = [s for _, s in index().search("工行支行", 10)]
    assert scores == sorted(scores, reverse=True)


def test_scores_are_lucene_bm25():
    texts = ["甲乙", "甲丙丙", "丁"]
    k1, b = 1.2, 0.75
    got = dict(KeywordIndex.from_texts([1, 2, 3], texts, k1=k1, b=b).search_tokens(["丙"], 3))
    lengths = [len(tokenize(t)) for t in texts]  # 3, 5, 1 tokens
    idf = math.log1p((3 - 1 + 0.5) / (1 + 0.5))
    tf = 2  # 丙 twice in passage 2
    expected = idf * tf / (tf + k1 * (1 - b + b * lengths[1] / (sum(lengths) / 3)))
    assert got == pytest.approx({2: expected})


def test_ties_keep_the_order_chunks_were_added():
    same = KeywordIndex.from_texts([30, 10, 20], ["工行", "工行", "工行"])
    assert [i for i, _ in same.search("工行", 3)] == [30, 10, 20]
    assert [i for i, _ in same.search("工行", 2)] == [30, 10]


def test_k_limits_and_empty_cases():
    assert len(index().search("工行", 2)) == 2
    assert index().search("工行", 0) == []
    assert KeywordIndex().search("工行", 5) == []
    assert len(KeywordIndex()) == 0


def packed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    arrays = [chunk_tokens(t) for t in texts]
    return np.concatenate(arrays), np.array([len(a) for a in arrays])


def test_adding_a_chunk_id_again_replaces_its_tokens():
    keyword = index()
    assert keyword.search("刘志方", 1)[0][0] == 3
    keyword.add_packed(np.array([3]), *packed(["这段已经改写，没有名字。"]))
    assert keyword.search("刘志方", 5) == []
    assert len(keyword) == 4


def test_rows_added_after_a_build_score_like_an_index_built_whole():
    updated = KeywordIndex.from_texts([1, 2], [PASSAGES[1], PASSAGES[2]])
    updated.build()
    updated.add_packed(np.array([3, 4]), *packed([PASSAGES[3], PASSAGES[4]]))
    whole = KeywordIndex.from_texts([1, 2, 3, 4], [PASSAGES[1], PASSAGES[2], PASSAGES[3], PASSAGES[4]])
    for question in ("工行支行", "刘志方是谁", "世界500强排名"):
        got, expected = updated.search(question, 5), whole.search(question, 5)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected])


def test_stored_token_ids_load_packed_or_per_chunk_alike():
    arrays = [chunk_tokens(t) for t in PASSAGES.values()]
    packed = KeywordIndex()
    packed.add_packed(np.array(list(PASSAGES)), np.concatenate(arrays), np.array([len(a) for a in arrays]))
    per_chunk = KeywordIndex(PASSAGES, arrays)
    assert packed.search("工行支行", 4) == per_chunk.search("工行支行", 4) == index().search("工行支行", 4)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError):
        KeywordIndex([1, 2], [["工"]])
    with pytest.raises(ValueError):
        KeywordIndex().add_packed(np.array([1]), encode(["工", "行"]), np.array([1]))


def test_numpy_s_sort_and_pandas_hash_table_give_the_same_rankings(monkeypatch):
    """Small vocabularies are extended by numpy's sort, large ones by pandas' hash table
    (HASH_ABOVE); columns are numbered differently, scores and rankings must not differ."""
    from pathlib import Path

    from qa import keyword

    seed = next(Path(__file__).resolve().parents[1].joinpath("seeds").glob("*.txt")).read_text("utf-8")
    paragraphs = [p for p in seed.split("\n") if len(p) > 20]
    first, later = paragraphs[: len(paragraphs) // 2], paragraphs[len(paragraphs) // 2 :]
    questions = ["上半年代销工银瑞信基金多少？", "工银安盛保险", "个人金融业务部", "数字化转型", "没有的词语"]

    def rankings(threshold: int) -> list:
        monkeypatch.setattr(keyword, "HASH_ABOVE", threshold)
        index = KeywordIndex.from_texts(range(len(first)), first)
        index.search("预热", 1)  # built; the later ones extend a vocabulary already there
        for n, text in enumerate(later, start=len(first)):
            index.add_packed(np.array([n]), encode(tokenize(text)), np.array([len(tokenize(text))]))
        return [index.search(q, 8) for q in questions]

    by_sort, by_hash = rankings(10**12), rankings(0)
    assert by_sort[0] and all(r == h or _close(r, h) for r, h in zip(by_sort, by_hash))


def _close(a: list, b: list) -> bool:
    return [i for i, _ in a] == [i for i, _ in b] and all(math.isclose(x, y, rel_tol=1e-6) for (_, x), (_, y) in zip(a, b))
