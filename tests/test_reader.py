"""The trained reader: its span search and answer text as units; a missing, damaged or mismatched
file as a clear error; and, end to end with the real model, answers and abstentions on the seed."""

import json
import shutil

import numpy as np
import pytest

from index.records import Chunk
from qa.composers import answer_from_span, sentence_around
from qa.reader import CARD, WEIGHTS, Reader, ReaderSettings, ReaderUnavailable, Span, _best_in_window
from qa.records import Hit


def test_the_best_span_stays_inside_the_passage_and_its_length():
    starts = np.array([9.0, 0, 5, 0, 0, 0])
    ends = np.array([9.0, 0, 0, 0, 4, 7])
    context = np.array([False, True, True, True, True, True])  # token 0 is [CLS]: never a span
    assert _best_in_window(starts, ends, context, max_tokens=3) == (2, 4, 9.0)
    assert _best_in_window(starts, ends, context, max_tokens=4) == (2, 5, 12.0)
    assert _best_in_window(starts, ends, np.zeros(6, dtype=bool), 3) is None


def test_the_cited_sentence_is_the_one_the_span_stands_in():
    text = "扬帆起航正当时\n上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元。个贷不良率0.39%。"
    start = text.index("1096亿元")
    assert sentence_around(text, start, start + 6) == "上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元。"
    assert sentence_around(text, 0, 4) == "扬帆起航正当时"


def _hits(text: str, headline: str = "工行位列“世界500强”第24位") -> list[Hit]:
    chunk = Chunk(id=1, doc_id="d", doc_name="d.txt", position=0, text=text, start=0, end=len(text), headline=headline)
    return [Hit(chunk, 1.0)]


def _span(hits, words: str) -> Span:
    full = hits[0].chunk.full_text
    start = full.index(words)
    return Span(0, start, start + len(words), words, 5.0, 3.0)


def test_the_short_answer_is_said_once_in_its_sentence_cited():
    hits = _hits("上半年代销工银瑞信基金1096亿元，同比增长。个贷不良率0.39%。")
    answer = answer_from_span("上半年代销工银瑞信基金多少？", hits, _span(hits, "1096亿元"))
    assert answer.text == "上半年代销工银瑞信基金1096亿元，同比增长。 [1]"
    assert answer.short == "1096亿元" and answer.citations[0].quote in hits[0].chunk.full_text


def test_no_repetition_when_the_short_answer_is_the_sentence_or_the_headline():
    hits = _hits("工行位列“世界500强”第24位。")
    answer = answer_from_span("工行排第几位？", hits, _span(hits, "工行位列“世界500强”第24位"))
    assert answer.text.count("第24位") == 1


def _copy_reader(tmp_path):
    weights, card = tmp_path / "reader.safetensors", tmp_path / "reader.json"
    shutil.copy(WEIGHTS, weights)
    shutil.copy(CARD, card)
    return weights, card


def _base(tmp_path):
    """A folder named as the converted e5-small the card was trained on (the reader checks the name)."""
    folder = tmp_path / json.loads(CARD.read_text("utf-8"))["base"]
    folder.mkdir()
    return folder


def test_the_shipped_file_is_small_and_described():
    card = json.loads(CARD.read_text("utf-8"))
    assert WEIGHTS.stat().st_size == card["bytes"] <= 25 * 2**20
    assert {"sha256", "command", "base", "threshold", "train_settings", "data", "validation"} <= set(card)
    assert "DRCD dev" in card["data"]["train"] and "DRCD test" in card["data"]["validation"]


def test_a_missing_reader_file_says_what_to_run(tmp_path):
    with pytest.raises(ReaderUnavailable, match="找不到阅读模型文件.*qa reader train"):
        Reader(_base(tmp_path), tmp_path / "none.safetensors", tmp_path / "none.json").threshold


def test_a_damaged_reader_file_is_refused_not_half_used(tmp_path):
    weights, card = _copy_reader(tmp_path)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ReaderUnavailable, match="sha256 不符.*qa reader train"):
        Reader(_base(tmp_path), weights, card).threshold


def test_a_reader_trained_on_another_base_model_is_refused(tmp_path):
    weights, card = _copy_reader(tmp_path)
    other = tmp_path / "multilingual-e5-small-0000000000000000-v1"
    other.mkdir()
    with pytest.raises(ReaderUnavailable, match="基于 .* 训练.*qa reader train"):
        Reader(other, weights, card).threshold


def test_the_cli_says_what_to_run_when_the_reader_is_missing(settings, fake_embedder, monkeypatch, capsys, tmp_path):
    from index import build_index
    from tests.conftest import run_qa

    build_index(settings, fake_embedder, progress=False)
    monkeypatch.setattr("qa.reader.WEIGHTS", tmp_path / "gone.safetensors")
    args = ["--docs", str(settings.docs_dir), "--index-dir", str(settings.index_path)]
    assert run_qa(["ask", "个贷不良率是多少？", "--composer", "reader", "--json", *args]) == 1
    assert "qa reader train" in json.loads(capsys.readouterr().out)["error"]


def test_reader_settings_round_trip_through_the_card():
    card = json.loads(CARD.read_text("utf-8"))
    assert ReaderSettings(**card["reader_settings"]) == ReaderSettings()


# End to end, the real model ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, expected",
    [
        ("上半年代销工银瑞信基金多少？", "1096亿元"),
        ("工行个人贷款不良率是多少？", "0.39%"),
        ("私人银行管理资产是多少？", "2.09万亿"),
    ],
)
def test_the_reader_answers_seed_questions_with_a_cited_sentence(real_assistant, question, expected):
    answer = real_assistant.answer(question, composer="reader")
    assert not answer.abstained and expected in answer.short, answer.text
    (citation,) = answer.citations
    assert expected in citation.quote and citation.quote in citation.chunk.full_text
    assert answer.version.startswith("reader-e5-small@")


@pytest.mark.parametrize("question", ["工行信用卡的年费是多少？", "工行在美国有多少家分行？"])
def test_the_reader_abstains_where_the_issue_does_not_answer(real_assistant, question):
    answer = real_assistant.answer(question, composer="reader")
    assert answer.abstained and not answer.citations, answer.text
