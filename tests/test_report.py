import json

from eval.report import kinds_table, markdown, write_report
from eval.run import Evaluation, Outcome


def _evaluation(name, accuracy):
    outcomes = [
        Outcome(id="q1", question="个贷不良率是多少？", expected=["0.39%"], got="0.39%。依据：…", short="0.39%", rank=1,
                correct=True, abstained=False, seconds=0.01, top_passages=["《扬帆起航》 个贷不良率0.39%"], kind="number"),
        Outcome(id="q2", question="软件园支行行长是谁？", expected=["刘志方"], got="资料中没有找到。", short="", rank=3,
                correct=False, abstained=True, seconds=0.02, top_passages=["《比出自身特色》 软件园支行", "《工行位列》 营业总收入"], kind="person"),
        Outcome(id="q3", question="工行员工总数是多少？", expected=[], got="100万人", short="100万人", rank=None,
                correct=False, abstained=False, seconds=0.02, top_passages=[], kind="unanswerable"),
    ]
    summary = {"questions": 3, "hit@1": 0.5, "hit@5": 1.0, "answer_accuracy": accuracy, "abstention_accuracy": 0.0, "latency_p50_ms": 12.5}
    by_kind = {
        "number": {"questions": 1, "hit@1": 1.0, "answer_accuracy": 1.0, "abstention_accuracy": None},
        "person": {"questions": 1, "hit@1": 0.0, "answer_accuracy": 0.0, "abstention_accuracy": None},
        "unanswerable": {"questions": 1, "hit@1": None, "answer_accuracy": None, "abstention_accuracy": 0.0},
    }
    return Evaluation(name, summary, by_kind, outcomes)


def test_report_writes_markdown_json_and_a_chart(tmp_path):
    evaluations = [_evaluation("keyword", 0.5), _evaluation("hybrid", 0.6)]
    paths = write_report(tmp_path / "out", evaluations, {"set": "seed.jsonl", "k": 5})
    assert {p.name for p in paths.values()} == {"report.md", "report.json", "report.png"}
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths["chart"].stat().st_size > 10_000
    saved = json.loads(paths["json"].read_text("utf-8"))
    assert list(saved["configurations"]) == ["keyword", "hybrid"]
    assert saved["configurations"]["hybrid"]["by_kind"]["number"]["answer_accuracy"] == 1.0
    assert saved["configurations"]["hybrid"]["outcomes"][1]["kind"] == "person"
    text = paths["markdown"].read_text("utf-8")
    assert "| metric | keyword | hybrid |" in text and "| answer_accuracy | 0.500 | 0.600 |" in text
    assert "![headline metrics per configuration](report.png)" in text


def test_markdown_lists_each_failure_with_what_was_expected_got_and_retrieved():
    text = markdown([_evaluation("hybrid", 0.5)], {"set": "seed.jsonl"})
    assert "### hybrid: 2 of 3" in text
    failure = text[text.index("**q2**"):]
    assert "软件园支行行长是谁？" in failure.splitlines()[0]
    assert "expected: 刘志方" in failure and "got（abstained）: 资料中没有找到。" in failure and "rank: 3" in failure
    assert "passage 1: 《比出自身特色》 软件园支行" in failure and "passage 2:" in failure
    assert "expected: （应拒答" in text[text.index("**q3**"):]
    assert "**q1**" not in text  # a right answer is not a failure


def test_by_kind_table_has_a_row_per_kind():
    rows = kinds_table(_evaluation("hybrid", 0.5))
    assert rows[0].startswith("| kind | questions | hit@1 |")
    assert [r.split("|")[1].strip() for r in rows[2:]] == ["number", "person", "unanswerable"]
    assert "| unanswerable | 1 | — |" in rows[4]
