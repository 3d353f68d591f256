import numpy as np
import pytest

from index.records import Chunk
from index.store import (
    CURRENT,
    DocumentEntry,
    FaissStore,
    IndexBusy,
    IndexMissing,
    Manifest,
    open_index,
    write_index,
    writer_lock,
)


def _chunks(n, doc="d1"):
    return [Chunk(id=100 + i, doc_id=doc, doc_name=f"{doc}.txt", position=i, text=f"段落{i}", start=i, end=i + 1) for i in range(n)]


def _vectors(n, dim=4):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _manifest(n):
    return Manifest(embedder="fake", fingerprint="f", dim=4, chunk_size=300, chunk_overlap=50, documents={"d1.txt": DocumentEntry(id="d1", chunks=n)})


def test_search_returns_the_nearest_chunk_first():
    store = FaissStore.create(4)
    chunks, vectors = _chunks(5), _vectors(5)
    store.add(chunks, vectors)
    found = store.search(vectors[3], 2)
    assert found[0][0] == chunks[3] and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert store.count() == 5


def test_add_refuses_mismatched_lengths():
    with pytest.raises(ValueError):
        FaissStore.create(4).add(_chunks(2), _vectors(3))


def test_empty_store_finds_nothing():
    assert FaissStore.create(4).search(_vectors(1)[0], 5) == []


def test_write_then_open_round_trips(tmp_path):
    store = FaissStore.create(4)
    store.add(_chunks(3), _vectors(3))
    write_index(tmp_path, store, _manifest(3))
    opened = open_index(tmp_path)
    assert opened.manifest == _manifest(3)
    assert opened.store.count() == 3
    assert opened.store.search(_vectors(3)[1], 1)[0][0] == _chunks(3)[1]


def test_commit_swaps_whole_generations_and_keeps_the_previous(tmp_path):
    first, second, third = FaissStore.create(4), FaissStore.create(4), FaissStore.create(4)
    first.add(_chunks(1), _vectors(1))
    second.add(_chunks(2), _vectors(2))
    third.add(_chunks(3), _vectors(3))
    old = write_index(tmp_path, first, _manifest(1))
    reader = open_index(tmp_path)
    middle = write_index(tmp_path, second, _manifest(2))
    newest = write_index(tmp_path, third, _manifest(3))
    assert (tmp_path / CURRENT).resolve() == newest
    assert middle.exists() and not old.exists()
    assert reader.store.count() == 1  # a reader keeps the generation it opened
    assert open_index(tmp_path).store.count() == 3


def test_leftovers_of_a_crashed_writer_are_ignored_then_removed(tmp_path):
    store = FaissStore.create(4)
    store.add(_chunks(2), _vectors(2))
    write_index(tmp_path, store, _manifest(2))
    crashed = tmp_path / "gen-9999999999999999999.tmp"
    crashed.mkdir()
    (crashed / "vectors.faiss").write_bytes(b"half")
    assert open_index(tmp_path).store.count() == 2
    write_index(tmp_path, store, _manifest(2))
    assert not crashed.exists()


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexMissing, match="qa index build"):
        open_index(tmp_path)


def test_second_writer_fails_clearly(tmp_path):
    with writer_lock(tmp_path):
        with pytest.raises(IndexBusy, match="另一个进程"):
            with writer_lock(tmp_path):
                pass
