"""End to end with the real embedder: build from the seed, ask real questions, score the seed set."""

import pytest

from index import read_manifest
from index.text import squash

# real_assistant: built once in conftest, shared with test_quality_floor.py and test_milvus.py


def test_the_index_records_the_real_model(real_assistant):
    manifest = read_manifest(real_assistant.settings)
    assert manifest.embedder == real_assistant.embedder.name and manifest.dim == 384
    assert manifest.fingerprint == real_assistant.embedder.fingerprint


def test_canonical_question(real_assistant):
    result = real_assistant.answer("上半年代销工银瑞信基金多少？")
    assert result.short == "1096亿元"
    assert result.text.count("1096亿元") == 1 and "工银瑞信基金1096亿元" in result.text
    [citation] = result.citations
    assert f"[{citation.n}]" in result.text
    assert "工银瑞信基金1096亿元" in squash(citation.chunk.text)


@pytest.mark.parametrize(
    "question, expected",
    [("个贷不良率是多少？", "0.39%"), ("软件园支行行长是谁？", "刘志方"), ("工行以多少营业总收入进入世界500强？", "1771亿美元")],
)
def test_real_questions(real_assistant, question, expected):
    assert real_assistant.answer(question).short == expected


def test_abstains_on_what_the_newsletter_does_not_say(real_assistant):
    assert real_assistant.answer("工行员工总数是多少？").abstained
