"""Questions that are not about one fact (qa/overview.py): an issue's contents, a greeting, and
the example questions made from the index."""

import pytest

from qa.overview import contents_page, is_greeting

SEED_HEADLINES = ("扬帆起航正当时 战略引领谱华章", "比出自身特色 赢得客户口碑", "工行位列“世界500强”第24位")


@pytest.mark.parametrize("question", ["你好", "您好！", "hello", "你能做什么？", "谢谢", "在吗"])
def test_greetings(question):
    assert is_greeting(question)


@pytest.mark.parametrize("question", ["你好，个贷不良率是多少？", "工行能做什么业务？", "谢谢你们的报道中提到的客户有多少？"])
def test_a_question_with_a_greeting_in_it_is_a_question(question):
    assert not is_greeting(question)


@pytest.mark.parametrize(
    "question, page",
    [("这一期主要讲了什么？", ""), ("有哪些文章？", ""), ("本期有什么内容", ""), ("第二版有什么", "第二版"), ("第三版都有哪些文章？", "第三版")],
)
def test_contents_questions(question, page):
    assert contents_page(question) == page


@pytest.mark.parametrize("question", ["这一期个贷不良率是多少？", "本期报道中软件园支行行长是谁？", "个贷不良率是多少？"])
def test_a_fact_asked_about_this_issue_is_not_a_contents_question(question):
    assert contents_page(question) is None


def test_the_issue_s_contents_cite_each_article(assistant):
    answer = assistant.answer("这一期主要讲了什么？")
    assert answer.kind == "contents" and not answer.abstained
    lines = answer.text.splitlines()
    assert lines[0] == "工行通讯 000_4734283b9fcbc3a1 共有 3 篇文章："
    for n, headline in enumerate(SEED_HEADLINES, start=1):
        assert f"{n}. 《{headline}》 [{n}]" in lines
        assert answer.citations[n - 1].quote == headline and answer.citations[n - 1].chunk.headline == headline
    # The pages the file lacks are named from its own contents box, cited too.
    assert "把握发展定力坚持稳中求进（第二版）" in lines[-1] and answer.citations[-1].chunk.kind == "contents"


def test_one_page_of_the_issue(assistant):
    answer = assistant.answer("第二版有什么？")
    assert "管理沙龙 把握发展定力坚持稳中求进（第二版）" in answer.text and "第三版" not in answer.text
    missing = assistant.answer("第九版有什么？")
    assert missing.abstained and "第九版" in missing.text


def test_a_greeting_gets_a_welcome_with_two_examples_the_index_answers(assistant):
    welcome = assistant.answer("你好")
    assert welcome.kind == "welcome" and not welcome.abstained and not welcome.citations
    examples = assistant.examples(2)
    assert len(examples) == 2 and all(f"“{q}”" in welcome.text for q in examples)
    for question in examples:
        answer = assistant.answer(question)
        assert not answer.abstained and answer.short, question


def test_examples_come_from_different_articles_and_are_made_once_per_index(assistant):
    examples = assistant.examples(3)
    cited = {assistant.answer(q).citations[0].chunk.headline for q in examples}
    assert len(cited) == len(examples) >= 2
    assert assistant.examples(3) == examples


def test_asking_which_page_an_article_is_on_is_a_fact():
    assert contents_page("系列专题报道之一刊登在第几版？") is None
