"""CI's quality gate: the seed evaluation with the real model must stay above eval/floor.json."""

import pytest

from eval import evaluate_config, load_set
from eval.floor import FLOOR_FILE, check, load_floor, updated
from tests.conftest import ROOT, SEED_EVAL

FLOOR = load_floor(FLOOR_FILE)


def test_seed_evaluation_stays_above_its_floors(real_assistant, request):
    if real_assistant.settings.embedder != FLOOR["embedder"]:
        pytest.skip(f"the floors were measured with {FLOOR['embedder']}, not {real_assistant.settings.embedder}")
    measured_as = (FLOOR["set"], FLOOR["k"], FLOOR["mode"], FLOOR["composer"])
    if measured_as == SEED_EVAL:  # conftest's run, shared with test_milvus.py
        result = request.getfixturevalue("seed_evaluation")
    else:
        result = evaluate_config(real_assistant, load_set(ROOT / FLOOR["set"]), *measured_as[1:])
    problems = check(result.summary, FLOOR)
    assert not problems, "the seed evaluation fell below eval/floor.json:\n" + "\n".join(problems)


def test_the_floor_file_bounds_every_headline_metric():
    assert set(FLOOR["at_least"]) == {
        "hit@1", "hit@5", "answer_accuracy", "exact_match", "citation_precision", "citation_recall", "abstention_accuracy"
    }
    assert set(FLOOR["at_most"]) == {"false_abstention"}
    assert all(FLOOR["at_least"][m] <= FLOOR["measured"][m] for m in FLOOR["at_least"])
    assert all(FLOOR["at_most"][m] >= FLOOR["measured"][m] for m in FLOOR["at_most"])


def test_check_says_which_metric_fell_from_what_to_what():
    floor = {"at_least": {"hit@1": 0.95, "answer_accuracy": 0.76}, "at_most": {"false_abstention": 0.15}, "measured": {"hit@1": 0.972}}
    assert check({"hit@1": 0.96, "answer_accuracy": 0.8, "false_abstention": 0.1}, floor) == []
    problems = check({"hit@1": 0.9, "answer_accuracy": None, "false_abstention": 0.2}, floor)
    assert problems[0] == "hit@1 fell below its floor: 0.900 < 0.95 (was 0.972 when the floor was set)"
    assert problems[1].startswith("answer_accuracy fell below its floor: —")
    assert problems[2].startswith("false_abstention rose above its ceiling: 0.200 > 0.15")


def test_updated_floors_sit_a_little_under_the_measured_figures():
    summary = {"answerable": 108, "unanswerable": 18, "hit@1": 0.972, "hit@5": 1.0, "answer_accuracy": 0.787,
               "exact_match": 0.37, "citation_precision": 0.979, "abstention_accuracy": 0.278, "false_abstention": 0.13}
    floor = updated({"set": "s"}, summary)
    assert floor["at_least"] == {"hit@1": 0.95, "hit@5": 0.98, "answer_accuracy": 0.76, "exact_match": 0.35,
                                 "citation_precision": 0.95, "abstention_accuracy": 0.22}
    assert floor["at_most"] == {"false_abstention": 0.15} and floor["measured"]["hit@1"] == 0.972
