"""CI's quality gate: the seed set and CMRC trial, with the real model and the default composer,
must stay above their floors (eval/floor.json, eval/floor-cmrc.json)."""

import pytest

from eval import evaluate_config, load_set
from eval.floor import FLOOR_FILES, check, load_floor, updated
from index import Settings, build_index
from qa import Assistant
from tests.conftest import ROOT, SEED_EVAL

FLOORS = {path.name: load_floor(path) for path in FLOOR_FILES}


@pytest.fixture(scope="session")
def corpus_assistant(real_assistant, tmp_path_factory):
    """An assistant over another documents folder, indexed with the same real model."""
    assistants = {}

    def over(docs: str) -> Assistant:
        if docs not in assistants:
            home = tmp_path_factory.mktemp(docs.replace("/", "-"))
            settings = Settings(docs_dir=ROOT / docs, home=home, index_dir=home / "index")
            build_index(settings, real_assistant.embedder, progress=False)
            assistants[docs] = Assistant(settings, real_assistant.embedder)
        return assistants[docs]

    return over


@pytest.mark.parametrize("name", FLOORS)
def test_evaluations_stay_above_their_floors(name, real_assistant, corpus_assistant, request):
    floor = FLOORS[name]
    if real_assistant.settings.indexing.embedder != floor["embedder"]:
        pytest.skip(f"the floors were measured with {floor['embedder']}, not {real_assistant.settings.indexing.embedder}")
    measured_as = (floor["set"], floor["k"], floor["mode"], floor["composer"])
    if measured_as == SEED_EVAL and floor["docs"] == "seeds":  # conftest's run, shared with test_milvus.py
        result = request.getfixturevalue("seed_evaluation")
    else:
        assistant = real_assistant if floor["docs"] == "seeds" else corpus_assistant(floor["docs"])
        result = evaluate_config(assistant, load_set(ROOT / floor["set"]), *measured_as[1:])
    problems = check(result.summary, floor)
    assert not problems, f"{floor['set']} fell below eval/{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", FLOORS)
def test_the_floor_files_bound_every_headline_metric(name):
    floor = FLOORS[name]
    assert set(floor["at_least"]) == {
        "hit@1", "hit@5", "answer_accuracy", "exact_match", "citation_precision", "citation_recall", "abstention_accuracy"
    } - ({"abstention_accuracy"} if floor["measured"].get("abstention_accuracy") is None else set())
    assert set(floor["at_most"]) == {"false_abstention"}
    assert all(floor["at_least"][m] <= floor["measured"][m] for m in floor["at_least"])
    assert all(floor["at_most"][m] >= floor["measured"][m] for m in floor["at_most"])


def test_one_floor_is_on_a_set_nobody_here_tuned_on():
    floor = FLOORS["floor-cmrc.json"]
    assert "cmrc" in floor["set"] and floor["docs"] == "eval/corpora/cmrc-trial"


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
