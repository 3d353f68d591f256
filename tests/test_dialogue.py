"""Follow-up questions read in their conversation (qa/dialogue.py), and the assistant answering them:
rewritten, shown as understood, checked, and "not found" rather than a figure about something else."""

import json

import pytest

from index.profile import default_profile
from qa import Answer, Turn
from qa.dialogue import Earlier, earlier_turn, read
from qa.question import parse
from tests.conftest import ROOT, SEED_FILE


def _read(before: str, short: str, question: str):
    return read(question, Earlier(before, parse(before).kind, short), default_profile())


@pytest.mark.parametrize(
    "before, short, question, standalone, how",
    [
        # Ellipsis: its words take the place of their like (same head word, same ending, same start, a period).
        ("工行个人贷款不良率是多少", "0.39%", "按揭贷款呢？", "工行按揭贷款不良率是多少", "ellipsis"),
        ("个贷不良率是多少", "0.39%", "按揭贷款呢？", "按揭贷款不良率是多少", "ellipsis"),  # 个贷 = 个人贷款
        ("建行个贷不良率是多少", "", "工行呢", "工行个贷不良率是多少", "ellipsis"),
        ("上半年代销工银瑞信基金多少", "1096亿元", "那工银安盛呢？", "上半年代销工银安盛多少", "ellipsis"),
        ("上半年代销工银瑞信基金多少", "1096亿元", "全年呢？", "全年代销工银瑞信基金多少", "ellipsis"),
        ("工行个人贷款不良率是多少", "0.39%", "信用卡不良率呢？", "工行信用卡不良率是多少", "ellipsis"),
        # A pronoun: the answer when the question before asked which one, else what it named.
        ("哪家支行获得了全省第一", "城东支行", "这家支行的存款余额是多少？", "城东支行的存款余额是多少", "pronoun"),
        ("软件园支行行长是谁", "刘志方", "他说了什么？", "刘志方说了什么", "pronoun"),
        ("XX数据中心项目总投资多少", "20亿元", "该项目由谁负责？", "XX数据中心项目由谁负责", "pronoun"),
        # An omitted measure (the whole of what was asked about) or subject (without its measure).
        ("工行个人贷款不良率是多少", "0.39%", "比年初下降了多少？", "工行个人贷款不良率比年初下降了多少", "omitted"),
        ("工行个人贷款不良率是多少", "0.39%", "它比年初下降了多少", "工行个人贷款不良率比年初下降了多少", "pronoun"),
        ("XX数据中心项目总投资多少", "20亿元", "预计什么时候完工？", "XX数据中心项目预计什么时候完工", "omitted"),
    ],
)
def test_a_follow_up_is_rewritten_to_stand_alone(before, short, question, standalone, how):
    reading = _read(before, short, question)
    assert (reading.standalone, reading.how) == (standalone, how)
    assert reading.typed == question and reading.rewritten


@pytest.mark.parametrize(
    "before, question",
    [
        ("工行个人贷款不良率是多少", "全行个人金融业务工作会议是几月召开的？"),  # names its own subject
        ("工行个人贷款不良率是多少", "软件园支行那篇报道的行报记者是谁？"),  # the demonstrative ends a phrase
        ("工行个人贷款不良率是多少", "软件园支行服务的这家申请科创板IPO的企业叫什么名字？"),
        ("杨丽音获得了什么奖", "杨丽音和她的丈夫是如何认识的？"),  # the pronoun's name is in the question
        ("漫画的作者是谁", "该漫画是由谁创作的？"),  # the referent would say nothing more
        ("天生三桥在哪里", "为什么天生三桥世界仅此一例？"),
        ("汉塞克在休士顿太空人里度过了几个赛季", "汉塞克在红袜2A波特兰海狗出赛的战况如何？"),
        ("占士·邦是哪部小说的主角", "占士·邦的编号是？"),
    ],
)
def test_a_question_that_stands_alone_is_left_alone(before, question):
    reading = _read(before, "", question)
    assert not reading.rewritten and reading.standalone == question


def test_no_earlier_turn_no_rewrite():
    assert read("比年初下降了多少？", None, default_profile()).standalone == "比年初下降了多少？"


@pytest.mark.parametrize("name", ["seed", "unanswerable-seed", "cmrc-trial", "unanswerable-cmrc"])
def test_the_single_question_sets_asked_one_after_another_are_left_alone(name):
    """Each question after the one before it in its set, as if in one conversation: a question that
    stands alone must be read as typed (issue 18's target: at least 0.98). These sets were looked at
    while the rules were written: the held-out figure is the dialogue set's (README)."""
    questions = [json.loads(line)["question"] for line in (ROOT / "eval/sets" / f"{name}.jsonl").read_text("utf-8").splitlines()]
    pairs = list(zip(questions, questions[1:]))
    rewritten = [q for before, q in pairs if _read(before.rstrip("？"), "", q).rewritten]
    assert 1 - len(rewritten) / len(pairs) >= 0.98, rewritten


def test_the_turn_leaned_on_is_the_last_answer_about_a_fact():
    chunk_free = Answer(question="比年初下降了多少？", text="…", short="0.23个百分点", understood="个贷不良率比年初下降了多少")
    welcome = Answer(question="你好", text="您好", kind="welcome")
    before = earlier_turn([Turn(question="x", error="问题是空的"), Turn(question="比年初下降了多少？", answer=chunk_free), welcome])
    assert before == Earlier("个贷不良率比年初下降了多少", "number", "0.23个百分点", leaned="比年初下降了多少")
    assert earlier_turn([welcome]) is None and earlier_turn([]) is None


# The assistant -------------------------------------------------------------------------------


def test_a_three_turn_dialogue_is_answered_as_understood(assistant):
    first = assistant.answer("上半年代销工银瑞信基金多少？")
    second = assistant.answer("那工银安盛呢？", earlier=[first])
    assert first.short == "1096亿元" and not first.understood
    assert second.understood == "上半年代销工银安盛多少" and second.short == "195亿元"
    assert second.question == "那工银安盛呢？" and second.citations
    third = assistant.answer("个贷不良率是多少？", earlier=[first, second])
    assert third.short == "0.39%" and not third.understood  # stands alone


def test_a_rewritten_follow_up_the_issue_does_not_answer_is_not_found(assistant):
    """The seed gives 个贷不良率 0.39% but no change since the start of the year; the sentence after it
    gives 银行卡专业贷款不良率 «较一季度下降0.23个百分点»: a figure about something else."""
    first = assistant.answer("个贷不良率是多少？")
    follow_up = assistant.answer("比年初下降了多少？", earlier=[first])
    assert follow_up.understood == "个贷不良率比年初下降了多少"
    assert follow_up.abstained and not follow_up.citations


def test_asked_as_typed_the_follow_up_is_not_rewritten(assistant):
    first = assistant.answer("上半年代销工银瑞信基金多少？")
    as_typed = assistant.answer("那工银安盛呢？", earlier=[first], rewrite=False)
    assert as_typed.understood == "" and as_typed.question == "那工银安盛呢？"


def test_the_language_model_may_rewrite_and_its_rewrite_is_checked_the_same(assistant, monkeypatch):
    import qa

    monkeypatch.setattr(qa, "rewrite_question", lambda question, before, settings: "上半年代销工银安盛保险多少")
    first = assistant.answer("上半年代销工银瑞信基金多少？")
    reading = assistant.reading("那工银安盛呢？", [first], assistant.composer("generative"))
    assert (reading.standalone, reading.how) == ("上半年代销工银安盛保险多少", "generative")
    checked = assistant.answer("那工银安盛呢？", earlier=[first], composer="rules")
    assert checked.understood == "上半年代销工银安盛多少"  # the rules composer: qa/dialogue.py's reading
    monkeypatch.setattr(qa, "rewrite_question", lambda *a: (_ for _ in ()).throw(qa.ComposerUnavailable("down")))
    fallback = assistant.reading("那工银安盛呢？", [first], assistant.composer("generative"))
    assert fallback.how == "ellipsis"  # the endpoint down: the rules read it


def test_the_dialogue_corpus_holds_the_seed_as_it_is():
    """eval/corpora/dialogue/ keeps a copy of the seed beside the invented issues (one documents
    folder is one index): the copy must not drift from seeds/."""
    assert (ROOT / "eval/corpora/dialogue" / SEED_FILE.name).read_bytes() == SEED_FILE.read_bytes()
