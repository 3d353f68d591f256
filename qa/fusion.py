"""Fusion of ranked lists from several retrievers (dense, keyword) into one: pure functions.

Each retriever's run is a list of (chunk id, score), best first. Every method returns `Fused`
records, best first, naming the retrievers that found each chunk. Ties are broken by the best
rank a chunk had in any run, then by the order the runs were given, so the result is
deterministic. The default (method and weights) is the one bench/retrieval.py measured best.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

Run = Sequence[tuple[int, float]]


@dataclass(frozen=True)
class Fused:
    id: int
    score: float
    retrievers: tuple[str, ...]  # in the order the runs were given: ("dense", "keyword")


class Method(StrEnum):
    RRF = "rrf"  # weighted reciprocal rank: Σ w / (k + rank)
    MINMAX = "minmax"  # Σ w · (s − min) / (max − min) per run
    ZSCORE = "zscore"  # Σ w · (s − mean) / std per run

    @classmethod
    def from_str(cls, value: str) -> "Method":
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"unknown fusion method {value!r}: choose one of {', '.join(m.value for m in cls)}"
            ) from None


# Measured with bench/retrieval.py (chunks of 300/50): min-max over each retriever's best
# CANDIDATES, dense 0.2 / keyword 0.8, had the best hit@1 on CMRC, tied the best on the seed set
# and was picked in every fold of a 5-fold cross-validation over both. Plain RRF (k=60, equal
# weights) fell below keyword alone: the dense ranks are much worse, and RRF counts them as much.
DEFAULT_METHOD = Method.MINMAX
DEFAULT_WEIGHTS = {"dense": 0.2, "keyword": 0.8}
CANDIDATES = 50  # how many chunks each retriever hands to fusion: min-max's floor depends on it
RRF_K = 60


def fuse(
    runs: Mapping[str, Run],
    method: Method | str = DEFAULT_METHOD,
    weights: Mapping[str, float] | None = None,
    k: int | None = None,
    rrf_k: float = RRF_K,
) -> list[Fused]:
    """Fuse the runs with the named method; `k` keeps the best k (all when None)."""
    method = Method.from_str(method) if isinstance(method, str) else method
    weights = DEFAULT_WEIGHTS if weights is None else weights
    if method is Method.RRF:
        fused = rrf(runs, weights, rrf_k)
    elif method is Method.MINMAX:
        fused = combine(runs, weights, minmax)
    else:
        fused = combine(runs, weights, zscore)
    return fused if k is None else fused[:k]


def rrf(runs: Mapping[str, Run], weights: Mapping[str, float] | None = None, k: float = RRF_K) -> list[Fused]:
    """Weighted reciprocal-rank fusion: a chunk gets w / (k + rank) from each run that has it
    (rank from 1); runs without a weight count 1. Scores are ignored, only ranks matter."""
    return _fuse(
        {name: [1.0 / (k + rank) for rank in range(1, len(run) + 1)] for name, run in runs.items()},
        runs,
        weights,
        missing={name: 0.0 for name in runs},
    )


def combine(runs: Mapping[str, Run], weights: Mapping[str, float] | None = None, normalize=None) -> list[Fused]:
    """Weighted sum of each run's normalised scores (min-max unless another `normalize` is given);
    a chunk a run did not return gets that run's lowest normalised score (it ranked below all
    the run kept), 0 for min-max."""
    normalize = normalize or minmax
    normalized = {name: normalize([score for _, score in run]) for name, run in runs.items()}
    return _fuse(normalized, runs, weights, missing={n: min(v, default=0.0) for n, v in normalized.items()})


def minmax(scores: Sequence[float]) -> list[float]:
    """Scores mapped to [0, 1]; all equal (or just one) → all 1: each is the run's best."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high - low <= 1e-12 * max(1.0, abs(high)):
        return [1.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def zscore(scores: Sequence[float]) -> list[float]:
    """Scores as standard deviations from the run's mean; all equal (or just one) → all 0."""
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    if std <= 1e-12 * max(1.0, abs(mean)):
        return [0.0] * len(scores)
    return [(s - mean) / std for s in scores]


def _fuse(
    values: Mapping[str, list[float]],
    runs: Mapping[str, Run],
    weights: Mapping[str, float] | None,
    missing: Mapping[str, float],
) -> list[Fused]:
    weights = weights or {}
    names = list(runs)
    order: dict[int, tuple[int, int]] = {}  # chunk id → (best rank, index of the run that gave it)
    found: dict[int, list[str]] = {}
    per_run: dict[str, dict[int, float]] = {}
    for run_index, name in enumerate(names):
        seen = per_run.setdefault(name, {})
        for rank, ((chunk_id, _), value) in enumerate(zip(runs[name], values[name], strict=True)):
            if chunk_id in seen:  # a run listing a chunk twice: its best place counts
                continue
            seen[chunk_id] = value
            found.setdefault(chunk_id, []).append(name)
            order[chunk_id] = min(order.get(chunk_id, (rank, run_index)), (rank, run_index))
    fused = []
    for chunk_id, sources in found.items():
        score = sum(weights.get(name, 1.0) * per_run[name].get(chunk_id, missing[name]) for name in names)
        fused.append(Fused(id=chunk_id, score=score, retrievers=tuple(sources)))
    fused.sort(key=lambda f: (-f.score, *order[f.id]))
    return fused
