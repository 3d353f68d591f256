import pytest

from index import build_index
from qa import Assistant, ModelMismatch, QuestionError


def test_answers_a_seed_question_with_a_checked_citation(assistant):
    result = assistant.answer("个贷不良率是多少？")
    assert result.short == "0.39%"
    assert result.citations and result.citations[0].quote in result.passages[result.citations[0].n - 1].chunk.text
    assert set(result.timings) == {"retrieve", "compose"}


@pytest.mark.parametrize("question, message", [("", "空"), ("   ", "空"), ("问" * 5000, "太长")])
def test_bad_questions_get_a_clear_message(assistant, question, message):
    with pytest.raises(QuestionError, match=message):
        assistant.answer(question)


def test_refuses_an_index_built_by_another_model(settings, fake_embedder, assistant):
    class Other(type(fake_embedder)):
        fingerprint = "other"

    with pytest.raises(ModelMismatch, match="qa index build"):
        Assistant(settings, Other()).answer("个贷不良率是多少？")


def test_sees_a_new_index_without_restart(settings, fake_embedder, assistant):
    assert assistant.answer("南沙支行上半年新增客户多少？").short != "8888户"  # not in the seed issue
    (settings.docs_dir / "002.txt").write_text("本期新闻：工行南沙支行上半年新增客户8888户。", "utf-8")
    build_index(settings, fake_embedder, progress=False)
    result = assistant.answer("南沙支行上半年新增客户多少？")
    assert result.short == "8888户"


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_every_retrieval_mode_answers(assistant, mode):
    result = assistant.answer("个贷不良率是多少？", 3, mode)
    assert result.short == "0.39%" and len(result.passages) <= 3
    allowed = {"dense", "keyword", "dense+keyword"} if mode == "hybrid" else {mode}
    assert {hit.retriever for hit in result.passages} <= allowed


def test_an_unknown_mode_lists_the_valid_ones(assistant):
    with pytest.raises(ValueError, match="dense, keyword, hybrid"):
        assistant.answer("个贷不良率是多少？", mode="fuzzy")
