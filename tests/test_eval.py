import json

import pytest

from eval.run import Question, char_f1, evaluate, evaluate_config, is_hit, load_set
from index import build_index
from index.load import load_document
from index.records import Chunk
from index.text import squash
from qa import Assistant
from tests.conftest import ROOT, SEED_FILE

SEED_SET = ROOT / "eval" / "sets" / "seed.jsonl"
CMRC_SET = ROOT / "eval" / "sets" / "cmrc-trial.jsonl"
CMRC_CORPUS = ROOT / "eval" / "corpora" / "cmrc-trial"


def _chunk(text, doc="a.txt"):
    return Chunk(id=1, doc_id="d", doc_name=doc, position=0, text=text, start=0, end=len(text))


def test_hit_needs_the_answer_at_the_evidence():
    q = Question(id="1", question="?", answers=["1096亿元"], evidence="工银瑞信基金1096亿元，个人新规理财产品", doc="a.txt")
    assert is_hit(_chunk("上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元，个人新规理财产品规模"), q)
    assert not is_hit(_chunk("另一处也提到1096亿元但上下文完全不同的一段话"), q)
    assert not is_hit(_chunk("工银瑞信基金1096亿元，个人新规理财产品", doc="b.txt"), q)
    assert not is_hit(_chunk("工银瑞信基金，个人新规理财产品"), q)


def test_char_f1_is_cmrc_scoring():
    assert char_f1("1096亿元", "1096亿元") == 1.0
    assert char_f1("", "1096亿元") == 0.0
    assert char_f1("1096亿", "1096亿元") == pytest.approx(2 * 1 * (5 / 6) / (1 + 5 / 6))


def test_seed_set_is_well_formed():
    questions = load_set(SEED_SET)
    assert len(questions) >= 80
    assert sum(not q.answerable for q in questions) >= 10
    assert len({q.id for q in questions}) == len(questions)
    assert all(q.kind for q in questions)
    assert all((q.kind == "unanswerable") == (not q.answerable) for q in questions)
    assert any(q.question == "上半年代销工银瑞信基金多少？" for q in questions)


def test_seed_set_asks_about_every_article_of_the_seed():
    doc = load_document(SEED_FILE, SEED_FILE.parent)
    articles = {a.headline: squash(doc.text[a.start : a.end]) for a in doc.articles}
    asked = {
        headline
        for q in load_set(SEED_SET)
        if q.answerable
        for headline, text in articles.items()
        if squash(q.evidence) in text
    }
    assert len(articles) >= 5 and asked == set(articles)


def test_cmrc_set_ships_with_its_corpus_and_attribution():
    questions = load_set(CMRC_SET)
    assert len(questions) == 1002 and all(q.answerable for q in questions)
    assert all((CMRC_CORPUS / q.doc).is_file() for q in questions)
    readme = (CMRC_CORPUS.parent / "README.md").read_text("utf-8")
    assert "CC BY-SA 4.0" in readme and "Cui" in readme and "ymcui/cmrc2018" in readme
    assert not list(CMRC_CORPUS.glob("*.md"))  # the attribution is not indexed as a passage


def test_bad_set_line_is_reported(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "1", "question": "q", "answers": []}\nnot json\n', "utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_set(path)


def test_evaluate_reports_every_metric(settings, fake_embedder, tmp_path):
    build_index(settings, fake_embedder, progress=False)
    questions = [
        Question(id="a", question="个贷不良率是多少？", answers=["0.39%"], evidence="个贷不良率0.39%，按揭贷款不良率0.29%", doc="000_4734283b9fcbc3a1.txt"),
        Question(id="b", question="工行的员工总数是多少？", answers=[]),
    ]
    summary, outcomes = evaluate(Assistant(settings, fake_embedder), questions)
    assert summary["answerable"] == 1 and summary["unanswerable"] == 1
    assert summary["answer_accuracy"] == 1.0 and summary["exact_match"] == 1.0
    assert summary["citation_precision"] == 1.0
    assert summary["abstention_accuracy"] == 1.0 and summary["false_abstention"] == 0.0
    assert outcomes[0].rank is not None and summary["hit@5"] == 1.0
    for key in ("hit@1", "mrr", "f1", "latency_p50_ms", "latency_p95_ms"):
        assert key in summary
    json.dumps(summary)


def test_evaluation_breaks_scores_down_by_question_kind(settings, fake_embedder):
    build_index(settings, fake_embedder, progress=False)
    questions = [
        Question(id="a", question="个贷不良率是多少？", answers=["0.39%"], evidence="个贷不良率0.39%", kind="number"),
        Question(id="b", question="按揭贷款不良率是多少？", answers=["0.29%"], evidence="按揭贷款不良率0.29%", kind="number"),
        Question(id="c", question="工行的员工总数是多少？", answers=[], kind="unanswerable"),
        Question(id="d", question="软件园支行行长是谁？", answers=["刘志方"]),  # no kind: grouped as answerable
    ]
    result = evaluate_config(Assistant(settings, fake_embedder), questions, mode="keyword", name="keyword")
    assert result.name == "keyword" and [o.kind for o in result.outcomes] == ["number", "number", "unanswerable", "answerable"]
    assert set(result.by_kind) == {"number", "unanswerable", "answerable"}
    assert result.by_kind["number"]["questions"] == 2 and result.by_kind["number"]["answerable"] == 2
    assert result.by_kind["unanswerable"]["abstention_accuracy"] is not None
    assert result.by_kind["unanswerable"]["answer_accuracy"] is None
    overall = result.summary["answer_accuracy"] * 3
    assert overall == pytest.approx(sum(s["answer_accuracy"] * s["answerable"] for s in result.by_kind.values() if s["answerable"]))
