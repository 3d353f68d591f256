"""Feedback lines carry what a later evaluation needs: question, answer, citations, rating."""

import json
import threading

from tests.test_history import _answer
from ui.feedback import append_feedback, feedback_record
from qa.history import Turn


def test_a_record_holds_question_answer_and_citations():
    record = feedback_record(Turn(question="代销基金多少？", answer=_answer(), mode="hybrid", k=5), "down", "c" * 32, 3)
    assert record["rating"] == "down" and record["turn"] == 3 and record["mode"] == "hybrid"
    assert record["question"] == "代销基金多少？" and record["answer"].startswith("1096亿元")
    assert record["understood"] == ""
    assert record["citations"] == [
        {"n": 1, "source": "《标题》· 工行通讯 第1期· 第二版", "doc_name": "第1期.txt", "doc_id": "d" * 64, "chunk_id": 7,
         "quote": "上半年代销基金1096亿元。"}
    ]


def test_a_refused_question_can_be_rated_too():
    record = feedback_record(Turn(question="", error="问题是空的"), "down", "c" * 32, 0)
    assert record["answer"] == "问题是空的" and record["citations"] == []


def test_lines_are_appended_whole_under_concurrency(tmp_path):
    path = tmp_path / "var" / "feedback.jsonl"
    record = feedback_record(Turn(question="q" * 5000, answer=_answer()), "up", "c" * 32, 0)
    threads = [threading.Thread(target=append_feedback, args=(path, record | {"id": str(i)})) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text("utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(str(i) for i in range(20))
