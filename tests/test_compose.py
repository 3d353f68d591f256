from dataclasses import replace

import pytest

from index.profile import default_profile
from index.records import Chunk
from index.text import squash
from qa.compose import NOT_FOUND, compose, question_kind, statement
from qa.question import parse
from qa.records import Hit
from qa.span import short_answer
from qa.text import key_terms

PASSAGES = [
    "把工银安盛、工银瑞信、工银理财的联动营销指标纳入分行高级管理人员个金板块发展评价中，"
    "上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元，个人新规理财产品规模达到6150亿元。",
    "个贷资产质量经受住疫情的考验，个贷不良率0.39%，按揭贷款不良率0.29%，好于预期并保持优良水平。",
    "软件园支行行长刘志方告诉记者，作为总行确定的新市场特色支行，支行积极运用工作方法。",
    "与网金条线联动，手机银行在全量客户、信用卡客户、私人银行客户的渗透率分别达到58%、83%、96%。",
    "进入2020年，元月印发战略实施指导意见，3月启动配套的考核考评办法修订，4月召开了全行个人金融业务工作会议落地部署，5月开展对标分析。",
]


def _hits(texts=PASSAGES):
    return [
        Hit(Chunk(id=i, doc_id="d", doc_name="issue.txt", position=i, text=t, start=0, end=len(t), headline="标题"), 1.0 - i / 10)
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize(
    "question, kind",
    [("上半年代销工银瑞信基金多少？", "number"), ("行长是谁？", "person"), ("哪一年开始合作？", "date"), ("是否保持同业第一？", "yesno"), ("工行与哪家企业合作？", "entity"), ("战略的意义", "fact"), ("这篇报道的标题是什么？", "headline"), ("为什么要联动？", "reason")],
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    "question, short",
    [
        ("上半年代销工银瑞信基金多少？", "1096亿元"),
        ("代销工银安盛保险多少？", "195亿元"),
        ("个贷不良率是多少？", "0.39%"),
        ("按揭贷款不良率是多少？", "0.29%"),
        ("软件园支行行长是谁？", "刘志方"),
        ("手机银行在信用卡客户中的渗透率是多少？", "83%"),  # the list item the question names
        ("全行个人金融业务工作会议是几月召开的？", "4月"),  # the clause holding the question's words
        ("3月启动了什么？", "配套的考核考评办法修订"),  # the words where the question word stands
        ("个人住房贷款的不良率是多少？", "0.29%"),  # 住房贷款 is 按揭; of two 不良率, the one it names
    ],
)
def test_the_short_answer_is_said_once_in_its_cited_words(question, short):
    answer = compose(question, _hits(), min_support=0.3)
    assert not answer.abstained
    assert answer.short == short
    assert answer.text.count(short) == 1 and "依据" not in answer.text
    citation = answer.citations[0]
    assert f"[{citation.n}]" in answer.text
    assert squash(citation.quote) in squash(answer.passages[citation.n - 1].chunk.text)


def test_the_answer_is_its_sentence_and_both_only_where_the_sentence_words_it_otherwise():
    assert statement("第24位", "工行位列“世界500强”第24位", 1) == "工行位列“世界500强”第24位 [1]"
    assert statement("4月", "四月召开了工作会议。", 2) == "4月。依据：四月召开了工作会议。 [2]"


def test_figures_named_in_the_question_are_not_the_answer():
    assert short_answer(parse("工行在世界500强排第几位？"), "工行位列世界500强第24位", default_profile()) == "第24位"


def test_a_unit_named_in_the_question_rules_out_other_figures():
    sentence = "目前4万名客服经理已开通客户维护权限，维护客户885万户。"
    assert short_answer(parse("客服经理维护的客户有多少户？"), sentence, default_profile()) == "885万户"


@pytest.mark.parametrize(
    "question",
    [
        "工行员工总数是多少？",  # nothing about it
        "建设银行的个贷不良率是多少？",  # another bank
        "2019年个贷不良率是多少？",  # another period
        "信用卡贷款不良率是多少？",  # a subject the passage does not report
    ],
)
def test_abstains_when_the_passages_do_not_answer(question):
    answer = compose(question, _hits(), min_support=0.3)
    assert answer.abstained and answer.text == NOT_FOUND and not answer.citations
    assert len(answer.passages) == len(PASSAGES)  # shown as related reading, not as support


def test_short_forms_of_the_glossary_count_as_present():
    assert not compose("私行客户的手机银行渗透率是多少？", _hits(), min_support=0.3).abstained


def test_abstains_without_passages():
    assert compose("任何问题", [], min_support=0.3).abstained


def test_key_terms_drop_question_words():
    assert "多少" not in key_terms("上半年代销工银瑞信基金多少？")
    assert "代销" in key_terms("上半年代销工银瑞信基金多少？")


def test_a_day_is_asked_for_so_a_headline_s_year_does_not_answer():
    hits = _hits(["3月3日，总行召开2022年个人金融业务工作会议，部署下一阶段重点任务。"])
    hits = [Hit(replace(h.chunk, headline="总行召开2022年个人金融业务工作会议"), h.score) for h in hits]
    assert compose("总行2022年个人金融业务工作会议是哪天召开的？", hits, min_support=0.3).short == "3月3日"
    assert parse("哪一年开始合作？").unit == "年" and parse("几月召开？").unit == "月"


def test_the_text_s_exact_figure_answers_before_its_headline_s_round_one():
    text = "截至2月末，青岛分行代发养老金客户达到102.6万户，成为当地首家代发养老金客户突破百万户的商业银行。"
    hits = [Hit(replace(h.chunk, headline="青岛分行代发养老金客户突破百万户"), h.score) for h in _hits([text])]
    assert compose("青岛分行代发养老金的客户有多少户了？", hits, min_support=0.3).short == "102.6万户"


def test_a_counter_asked_for_rules_out_other_figures():
    sentence = "3月1日推出“跨境e汇”服务，单笔最快10分钟到账，覆盖美元、欧元、英镑等14个币种。"
    assert short_answer(parse("“跨境e汇”支持多少个币种？"), sentence, default_profile()) == "14个"
    assert short_answer(parse("假苹婆的花冠有几枚裂片？"), "花萼5裂，长约4毫米。", default_profile()) == ""
    assert parse("前三季度新增了多少个人客户？").unit == ""  # 个人 is a word, not the counter 个


def test_a_word_jieba_guessed_with_a_verb_glued_on_is_looked_for_without_it():
    text = "今年前两个月通过线上渠道发放小微贷款468亿元，占同期普惠贷款投放总量的72%。"
    assert not compose("线上发放的小微贷款占普惠贷款投放总量的比例是多少？", _hits([text]), min_support=0.3).abstained


def test_which_branch_is_answered_by_a_name_that_ends_so():
    hits = _hits([
        "如今，关雪薇每年为外籍客户办理业务4000余笔，还编写了《柜面服务100句》。",
        "在吉林分行延边分行珲春支行，柜员关雪薇用一口流利的俄语招呼客户。",
    ])
    answer = compose("会说俄语的柜员关雪薇在哪个支行上班？", hits, min_support=0.3)
    assert answer.short == "延边分行珲春支行" and answer.citations[0].n == 2
    assert parse("团体冠军是哪家分行？").unit == "分行" and parse("哪个环节最慢？").unit == ""


@pytest.mark.parametrize(
    "question, unit",
    [("项目覆盖了多少师生？", ""), ("《柜面服务100句》印发了多少册？", "册"), ("平台收取多少手续费？", "元")],
)
def test_the_unit_a_question_asks_for(question, unit):
    assert parse(question).unit == unit


def test_a_person_is_found_after_the_titles_the_newsletter_names_people_by():
    sentence = "合作社负责人王建国说，有了新生产线，今年能多收购青稞300吨。"
    assert short_answer(parse("那家合作社的负责人叫什么名字？"), sentence, default_profile()) == "王建国"
