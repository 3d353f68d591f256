import pytest

from index.records import Chunk
from qa.compose import NOT_FOUND, compose, question_kind, short_answer
from qa.records import Hit
from qa.text import key_terms, squash

PASSAGES = [
    "把工银安盛、工银瑞信、工银理财的联动营销指标纳入分行高级管理人员个金板块发展评价中，"
    "上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元，个人新规理财产品规模达到6150亿元。",
    "个贷资产质量经受住疫情的考验，个贷不良率0.39%，按揭贷款不良率0.29%，好于预期并保持优良水平。",
    "软件园支行行长刘志方告诉记者，作为总行确定的新市场特色支行，支行积极运用工作方法。",
]


def _hits(texts=PASSAGES):
    return [
        Hit(Chunk(id=i, doc_id="d", doc_name="issue.txt", position=i, text=t, start=0, end=len(t), headline="标题"), 1.0 - i / 10)
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize(
    "question, kind",
    [("上半年代销工银瑞信基金多少？", "number"), ("行长是谁？", "person"), ("哪一年开始合作？", "date"), ("是否保持同业第一？", "yesno"), ("工行与哪家企业合作？", "entity"), ("战略的意义", "fact")],
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    "question, short",
    [("上半年代销工银瑞信基金多少？", "1096亿元"), ("代销工银安盛保险多少？", "195亿元"), ("个贷不良率是多少？", "0.39%"), ("按揭贷款不良率是多少？", "0.29%"), ("软件园支行行长是谁？", "刘志方")],
)
def test_short_answer_comes_first_and_is_cited(question, short):
    answer = compose(question, _hits(), min_support=0.5)
    assert not answer.abstained
    assert answer.short == short
    assert answer.text.startswith(short)
    citation = answer.citations[0]
    assert f"[{citation.n}]" in answer.text
    assert squash(citation.quote) in squash(answer.passages[citation.n - 1].chunk.text)


def test_figures_named_in_the_question_are_not_the_answer():
    assert short_answer("number", key_terms("工行在世界500强排第几？"), "工行位列世界500强第24位") == "第24位"


def test_abstains_when_nothing_supports_the_question():
    answer = compose("工行员工总数是多少？", _hits(), min_support=0.5)
    assert answer.abstained and answer.text == NOT_FOUND and not answer.citations
    assert len(answer.passages) == 3


def test_abstains_without_passages():
    assert compose("任何问题", [], min_support=0.5).abstained


def test_key_terms_drop_question_words():
    assert "多少" not in key_terms("上半年代销工银瑞信基金多少？")
    assert "代销" in key_terms("上半年代销工银瑞信基金多少？")
