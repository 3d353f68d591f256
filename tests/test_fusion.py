"""Fusion of ranked lists: RRF and normalised-score combination, ties, missing items, weights."""

import pytest

from qa.fusion import DEFAULT_METHOD, DEFAULT_WEIGHTS, Fused, Method, combine, fuse, minmax, rrf, zscore

DENSE = [(1, 0.90), (2, 0.85), (3, 0.80)]
KEYWORD = [(3, 12.0), (4, 6.0), (1, 3.0)]


def ids(fused: list[Fused]) -> list[int]:
    return [f.id for f in fused]


def test_rrf_sums_weighted_reciprocal_ranks():
    fused = {f.id: f.score for f in rrf({"dense": DENSE, "keyword": KEYWORD}, {"dense": 0.4, "keyword": 0.6}, k=10)}
    assert fused[1] == pytest.approx(0.4 / 11 + 0.6 / 13)
    assert fused[3] == pytest.approx(0.4 / 13 + 0.6 / 11)
    assert fused[2] == pytest.approx(0.4 / 12)  # missing from keyword: nothing from it
    assert fused[4] == pytest.approx(0.6 / 12)


def test_runs_without_a_weight_count_one():
    assert rrf({"a": [(1, 1.0)]}, k=1)[0].score == pytest.approx(0.5)


def test_minmax_combination_with_missing_items():
    fused = {f.id: f.score for f in combine({"dense": DENSE, "keyword": KEYWORD}, {"dense": 0.2, "keyword": 0.8})}
    # dense 0.90/0.85/0.80 → 1, .5, 0; keyword 12/6/3 → 1, 1/3, 0; a missing item gets the run's minimum, 0
    assert fused[1] == pytest.approx(0.2 * 1 + 0.8 * 0)
    assert fused[2] == pytest.approx(0.2 * 0.5)
    assert fused[3] == pytest.approx(0.2 * 0 + 0.8 * 1)
    assert fused[4] == pytest.approx(0.8 / 3)


def test_weights_decide_which_retriever_wins():
    runs = {"dense": DENSE, "keyword": KEYWORD}
    assert ids(fuse(runs, "minmax", {"dense": 0.9, "keyword": 0.1}))[0] == 1
    assert ids(fuse(runs, "minmax", {"dense": 0.1, "keyword": 0.9}))[0] == 3
    assert ids(fuse(runs, "rrf", {"dense": 0.9, "keyword": 0.1}))[0] == 1
    assert ids(fuse(runs, "rrf", {"dense": 0.1, "keyword": 0.9}))[0] == 3


def test_each_result_names_the_retrievers_that_found_it():
    found = {f.id: f.retrievers for f in fuse({"dense": DENSE, "keyword": KEYWORD})}
    assert found == {1: ("dense", "keyword"), 2: ("dense",), 3: ("dense", "keyword"), 4: ("keyword",)}


def test_ties_go_to_the_better_rank_then_the_earlier_run():
    # equal weights, mirrored ranks: every fused score ties
    fused = rrf({"dense": [(1, 0.9), (2, 0.8)], "keyword": [(2, 5.0), (1, 4.0)]})
    assert fused[0].score == fused[1].score
    assert ids(fused) == [1, 2]  # both best at rank 1: the dense run was given first
    fused = rrf({"keyword": [(2, 5.0), (1, 4.0)], "dense": [(1, 0.9), (2, 0.8)]})
    assert ids(fused) == [2, 1]
    fused = rrf({"a": [(7, 1.0)], "b": [(8, 1.0)]})
    assert ids(fused) == [7, 8]


def test_order_is_stable_over_repeated_calls():
    runs = {"dense": [(i, 1.0) for i in range(20)], "keyword": [(i, 2.0) for i in reversed(range(20))]}
    first = fuse(runs, "minmax")
    assert all(fuse(runs, "minmax") == first for _ in range(5))


def test_a_chunk_listed_twice_in_a_run_counts_once_at_its_best_place():
    fused = rrf({"dense": [(1, 0.9), (1, 0.5), (2, 0.4)]}, k=0)
    assert [(f.id, f.score) for f in fused] == [(1, 1.0), (2, pytest.approx(1 / 3))]


def test_empty_runs():
    assert fuse({}) == []
    assert fuse({"dense": [], "keyword": []}) == []
    assert ids(fuse({"dense": [], "keyword": KEYWORD})) == [3, 4, 1]


def test_k_keeps_the_best():
    assert ids(fuse({"dense": DENSE, "keyword": KEYWORD}, k=2)) == ids(fuse({"dense": DENSE, "keyword": KEYWORD}))[:2]


def test_normalisers():
    assert minmax([3.0, 2.0, 1.0]) == [1.0, 0.5, 0.0]
    assert minmax([5.0]) == [1.0]
    assert minmax([2.0, 2.0]) == [1.0, 1.0]
    assert minmax([]) == []
    assert zscore([1.0, 3.0]) == [-1.0, 1.0]
    assert zscore([4.0, 4.0]) == [0.0, 0.0]


def test_zscore_combination_gives_missing_items_the_runs_lowest():
    fused = {
        f.id: f.score for f in combine({"a": [(1, 3.0), (2, 1.0)], "b": [(3, 2.0), (1, 0.0)]}, {"a": 1, "b": 1}, zscore)
    }
    assert fused == {1: pytest.approx(0.0), 2: pytest.approx(-2.0), 3: pytest.approx(0.0)}


def test_methods_by_name():
    assert Method.from_str("zscore") is Method.ZSCORE
    with pytest.raises(ValueError, match="rrf, minmax, zscore"):
        Method.from_str("borda")
    assert DEFAULT_METHOD is Method.MINMAX and set(DEFAULT_WEIGHTS) == {"dense", "keyword"}
