import json

import numpy as np

from index import bench
from index import ann
from tests.conftest import run_qa
from tests.conftest import SEEDS


def test_bench_at_tiny_sizes(fake_embedder):
    report = bench.run(fake_embedder, SEEDS, files=1, sizes=(300, 1200), queries=20, hnsw_max=300, rounds=1)
    i = report.indexing
    assert i.files == 1 and i.chunks > 10 and i.encode_s > 0 and i.build_s > 0 and i.pipeline_s > 0
    assert i.overhead == i.pipeline_s / i.encode_s
    assert [(r.chunks, r.kind) for r in report.search] == [(300, "flat"), (300, "ivf"), (300, "hnsw"), (1200, "flat"), (1200, "ivf")]
    assert all(r.recall == 1.0 for r in report.search if r.kind == "flat")
    assert all(0 <= r.recall <= 1 and r.p95_ms >= r.p50_ms > 0 for r in report.search)
    assert [r.chosen for r in report.search if r.kind == "flat"] == [True, True]  # both sizes are under FLAT_MAX
    assert report.skipped and "1,200" in report.skipped[0]
    text = bench.report_markdown(report)
    assert "| chunks | index | build s | p50 ms | p95 ms | recall@10 vs flat |" in text
    assert "| 1,200 | **flat** |" in text and "Not measured: HNSW at 1,200" in text
    json.dumps(report.to_json())


def test_synthetic_vectors_are_unit_vectors_shaped_like_the_real_ones():
    real = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32) + 3
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    x, q = bench.SyntheticVectors(real).corpus_and_queries(500, 10)
    assert x.shape == (500, 8) and q.shape == (10, 8)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    assert float(x.mean(axis=0) @ real.mean(axis=0)) > 0.5  # the same region of the sphere
    again, _ = bench.SyntheticVectors(real).corpus_and_queries(500, 10)
    assert np.array_equal(x, again)  # reproducible


def test_qa_bench_prints_the_tables(fake_embedder, monkeypatch, capsys):
    args = ["bench", "search", "--sizes", "400", "--queries", "10", "--corpus", str(SEEDS), "--files", "1", "--rounds", "1"]
    assert run_qa(args) == 0
    out = capsys.readouterr().out
    assert "chunks/s" in out and "| 400 | **flat** |" in out and "HNSW32" in out
    assert run_qa([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flat_max"] == ann.FLAT_MAX
