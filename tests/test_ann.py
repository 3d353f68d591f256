import faiss
import numpy as np
import pytest

from index import ann
from index.records import Chunk
from index.faiss_store import FaissStore
from index.folder import write_generation
from index.folder_backend import FolderBackend
from index.records import DocumentEntry, Manifest, Segment


def _unit(n, dim=16, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_up_to_the_threshold_then_ivf_with_about_sqrt_n_lists():
    assert ann.choose(0).kind == ann.choose(ann.FLAT_MAX).kind == "flat"
    assert ann.choose(ann.FLAT_MAX + 1).kind == "ivf"
    assert str(ann.ivf_spec(1_000_000)) == "IVF1024,nprobe=128"  # 4·√nlist, to a power of two
    assert str(ann.ivf_spec(300_000)) == "IVF512,nprobe=128"
    assert str(ann.ivf_spec(100_000)) == "IVF256,nprobe=64"
    assert str(ann.ivf_spec(1_000)) == "IVF32,nprobe=32"  # never more than there are lists
    assert ann.ivf_spec(1_000_000, nprobe=16).nprobe == 16


def test_ivf_keeps_the_callers_ids():
    x, ids = _unit(2000), np.arange(2000, dtype=np.int64) * 7 + 3
    index = ann.make_index(16, spec=ann.ivf_spec(2000))
    assert not index.is_trained
    ann.train(index, x)
    index.add_with_ids(x, ids)
    assert sorted(ann.stored_ids(index)) == sorted(ids)
    assert index.search(x[5:6], 1)[1][0][0] == ids[5]


def test_training_needs_a_vector_per_list():
    with pytest.raises(ValueError, match="needs at least 64"):
        ann.train(ann.make_index(16, spec=ann.ivf_spec(4000)), _unit(10))


def _chunks(doc, n):
    return [Chunk(id=hash((doc, i)) & (2**63 - 1), doc_id=doc, doc_name="", position=i, text=f"{doc}{i}", start=i, end=i + 1) for i in range(n)]


def test_store_above_the_threshold_is_ivf_and_finds_what_exact_search_finds(monkeypatch):
    monkeypatch.setattr(ann, "FLAT_MAX", 100)
    chunks, vectors = _chunks("a", 600), _unit(600)
    exact, store = FaissStore(16), FaissStore(16, size=600)  # no size given: flat, as before
    for s in (exact, store):
        s.add(chunks, vectors)
    assert (exact.info()["kind"], store.info()["kind"]) == ("flat", "ivf")
    assert store.count() == 600 and sorted(store.vector_ids()) == sorted(c.id for c in chunks)
    assert store.search(vectors[7], 1)[0][0] == chunks[7]
    queries = _unit(50, seed=2)
    found = [{c.id for c, _ in store.search(q, 10)} for q in queries]
    truth = [{c.id for c, _ in exact.search(q, 10)} for q in queries]
    assert np.mean([len(f & t) / 10 for f, t in zip(found, truth)]) >= 0.9  # recall@10 against exact search


def test_a_large_generation_opens_as_ivf(tmp_path, monkeypatch):
    monkeypatch.setattr(ann, "FLAT_MAX", 100)
    segments = []
    for n, doc in enumerate(("a", "b", "c")):
        chunks = _chunks(doc, 150)
        segments.append(Segment(doc, chunks, _unit(150, seed=n), np.zeros(0, dtype=np.uint64), np.zeros(150, dtype=np.int64)))
    docs = {f"{s.doc_id}.txt": DocumentEntry(id=s.doc_id, chunks=150, checksums=s.checksums()) for s in segments}
    manifest = Manifest(embedder="fake", fingerprint="f", dim=16, pipeline="p", tokenizer="t", chunk_size=300, chunk_overlap=50, documents=docs)
    write_generation(tmp_path, manifest, segments)
    opened = FolderBackend(tmp_path).open()
    assert opened.store.info()["kind"] == "ivf" and opened.store.count() == 450
    assert set(opened.store.vector_ids()) == {c.id for s in segments for c in s.chunks}
    assert opened.store.search(segments[2].vectors[3], 1)[0][0].id == segments[2].chunks[3].id


def test_search_runs_on_one_thread_and_gives_the_threads_back():
    x = _unit(500)
    index = ann.make_index(16)
    index.add_with_ids(x, np.arange(500, dtype=np.int64))
    threads = faiss.omp_get_max_threads()
    scores, ids = ann.search(index, x[:3], 2)
    assert ids[:, 0].tolist() == [0, 1, 2] and scores.shape == (3, 2)
    assert faiss.omp_get_max_threads() == threads
