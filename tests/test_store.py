import json
import os
from dataclasses import replace

import numpy as np
import pytest

from index.errors import IndexBusy, IndexMissing
from index.faiss_store import FaissStore
from index.folder import CURRENT, write_generation, writer_lock
from index.folder_backend import FolderBackend
from index.records import Chunk, DocumentEntry, Manifest, Segment


def _segment(doc, n, seed=0):
    chunks = [Chunk(id=hash((doc, i)) & (2**63 - 1), doc_id=doc, doc_name="", position=i, text=f"{doc}段落{i}", start=i, end=i + 1) for i in range(n)]
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 4)).astype(np.float32)
    tokens = np.arange(2 * n, dtype=np.uint64)
    counts = np.full(n, 2, dtype=np.int64)
    return Segment(doc, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), tokens, counts)


def _open(path):
    return FolderBackend(path).open()


def _manifest(**docs):
    entries = {f"{doc}.txt": DocumentEntry(id=doc, chunks=n, checksums=_segment(doc, n).checksums()) for doc, n in docs.items()}
    return Manifest(embedder="fake", fingerprint="f", dim=4, pipeline="p", tokenizer="t", chunk_size=300, chunk_overlap=50, documents=entries)


def test_search_returns_the_nearest_chunk_first():
    store, seg = FaissStore(4), _segment("d1", 5)
    store.add(seg.chunks, seg.vectors)
    found = store.search(seg.vectors[3], 2)
    assert found[0][0] == seg.chunks[3] and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert store.count() == 5 and store.info()["vectors"] == 5


def test_add_refuses_mismatched_lengths():
    seg = _segment("a", 2)
    with pytest.raises(ValueError):
        FaissStore(4).add(seg.chunks, seg.vectors[:1])


def test_empty_store_finds_nothing():
    assert FaissStore(4).search(np.ones(4, dtype=np.float32), 5) == []


def test_write_then_open_round_trips_with_names_from_the_manifest(tmp_path):
    seg = _segment("d1", 3)
    write_generation(tmp_path, _manifest(d1=3), [seg])
    opened = _open(tmp_path)
    assert opened.manifest == _manifest(d1=3)
    assert opened.store.count() == 3
    found = opened.store.search(seg.vectors[1], 1)[0][0]
    assert found.text == seg.chunks[1].text and found.doc_name == "d1.txt"
    [(ids, tokens, counts)] = opened.keyword_rows
    assert ids.tolist() == [c.id for c in seg.chunks] and tokens.tolist() == seg.tokens.tolist()
    assert counts.tolist() == [2, 2, 2]


def test_unchanged_segments_are_hard_linked_not_rewritten(tmp_path):
    first = write_generation(tmp_path, _manifest(a=3), [_segment("a", 3)])
    second = write_generation(tmp_path, _manifest(a=3, b=2), [_segment("b", 2)])
    old, new = first / "segments" / "a.npy", second / "segments" / "a.npy"
    assert os.stat(old).st_ino == os.stat(new).st_ino
    assert _open(tmp_path).store.count() == 5


def test_a_segment_from_nowhere_is_refused(tmp_path):
    with pytest.raises(ValueError, match="neither new"):
        write_generation(tmp_path, _manifest(a=3), [])


def test_commits_swap_whole_generations_and_keep_the_previous(tmp_path):
    old = write_generation(tmp_path, _manifest(a=1), [_segment("a", 1)])
    reader = _open(tmp_path)
    middle = write_generation(tmp_path, _manifest(a=1, b=2), [_segment("b", 2)])
    newest = write_generation(tmp_path, _manifest(b=2), [])
    assert (tmp_path / CURRENT).resolve() == newest
    assert middle.exists() and not old.exists()
    assert reader.store.count() == 1  # a reader keeps what it loaded
    assert _open(tmp_path).store.count() == 2


def test_leftovers_of_a_crashed_writer_are_ignored_then_removed(tmp_path):
    write_generation(tmp_path, _manifest(a=2), [_segment("a", 2)])
    crashed = tmp_path / "gen-9999999999999999999.tmp"
    (crashed / "segments").mkdir(parents=True)
    (crashed / "segments" / "a.npy").write_bytes(b"half")
    assert _open(tmp_path).store.count() == 2
    write_generation(tmp_path, _manifest(a=2), [])
    assert not crashed.exists()


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexMissing, match="qa index build"):
        _open(tmp_path)


def test_second_writer_fails_clearly(tmp_path):
    with writer_lock(tmp_path):
        with pytest.raises(IndexBusy, match="另一个进程"):
            with writer_lock(tmp_path, timeout=0.1):
                pass


def test_a_manifest_written_before_the_profile_field_still_loads():
    manifest = _manifest(a=2)
    raw = json.loads(manifest.to_json())
    del raw["profile"]
    assert Manifest.from_json(json.dumps(raw)) == manifest
    assert Manifest.from_json(replace(manifest, profile="p1").to_json()).profile == "p1"
