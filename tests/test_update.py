"""Incremental updates: only what changed is embedded; nothing is lost, duplicated or mixed."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from index import IndexBusy, build_index, open_index, read_manifest, update_index, verify_index, watch
from index.folder import SEGMENTS, current_folder, writer_lock
from tests.conftest import NEW_ISSUE, ROOT, CountingEmbedder

@pytest.fixture
def embedder(fake_embedder):
    return CountingEmbedder(fake_embedder)


@pytest.fixture
def built(settings, embedder):
    build_index(settings, embedder, progress=False)
    embedder.embedded = 0
    return settings


def _texts(settings):
    return [c.text for c in open_index(settings).store.chunks()]


def test_unchanged_files_cost_nothing(built, embedder):
    before = current_folder(built.index_path)
    report = update_index(built, embedder, progress=False)
    assert not report.changed and embedder.embedded == 0
    assert current_folder(built.index_path) == before


def test_a_new_file_is_the_only_one_embedded(built, embedder):
    seed_chunks = read_manifest(built).chunk_count
    (built.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    report = update_index(built, embedder, progress=False)
    assert report.added == ["002.txt"] and report.unchanged == ["000_4734283b9fcbc3a1.txt"]
    assert embedder.embedded == report.chunks_embedded == report.chunks - seed_chunks > 0
    assert any("8888户" in t for t in _texts(built))
    assert verify_index(built, embedder) == []


def test_a_changed_file_has_all_its_old_chunks_replaced(built, embedder):
    (built.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    update_index(built, embedder, progress=False)
    (built.docs_dir / "002.txt").write_text("更正：南沙支行上半年新增客户7777户。", "utf-8")
    report = update_index(built, embedder, progress=False)
    assert report.replaced == ["002.txt"]
    texts = _texts(built)
    assert not any("8888户" in t for t in texts) and any("7777户" in t for t in texts)
    assert verify_index(built, embedder) == []


def test_a_deleted_file_leaves_the_index(built, embedder):
    (built.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    update_index(built, embedder, progress=False)
    (built.docs_dir / "002.txt").unlink()
    report = update_index(built, embedder, progress=False)
    assert report.removed == ["002.txt"] and report.chunks_embedded == 0
    assert not any("8888户" in t for t in _texts(built))
    assert list(read_manifest(built).documents) == ["000_4734283b9fcbc3a1.txt"]


def test_a_renamed_file_is_not_embedded_again(built, embedder):
    (built.docs_dir / "000_4734283b9fcbc3a1.txt").rename(built.docs_dir / "2020-第1期.txt")
    report = update_index(built, embedder, progress=False)
    assert report.chunks_embedded == 0 and embedder.embedded == 0
    assert report.removed == ["000_4734283b9fcbc3a1.txt"] and report.unchanged == ["2020-第1期.txt"]
    assert {c.doc_name for c in open_index(built).store.chunks()} == {"2020-第1期.txt"}


def test_the_same_file_twice_is_indexed_once(built, embedder):
    (built.docs_dir / "copy.txt").write_bytes((built.docs_dir / "000_4734283b9fcbc3a1.txt").read_bytes())
    report = update_index(built, embedder, progress=False)
    assert embedder.embedded == 0 and report.documents == 2
    index = open_index(built)
    assert index.store.count() == index.manifest.chunk_count == len({c.id for c in index.store.chunks()})


def test_full_rebuild_and_another_model_embed_everything(built, embedder):
    report = build_index(built, embedder, progress=False)
    assert report.chunks_embedded == report.chunks == embedder.embedded
    embedder.embedded, embedder.fingerprint = 0, "another-model"
    report = update_index(built, embedder, progress=False)
    assert embedder.embedded == report.chunks
    assert read_manifest(built).fingerprint == "another-model"


def test_verify_names_what_is_wrong(built, embedder):
    assert verify_index(built, embedder) == []
    segment = next((current_folder(built.index_path) / SEGMENTS).glob("*.jsonl"))
    lines = segment.read_text("utf-8").splitlines(keepends=True)
    segment.write_text("".join(lines[:-1]), "utf-8")
    (built.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    problems = verify_index(built, embedder)
    assert any("段落行" in p and f"有 {len(lines) - 1} 行，清单记录 {len(lines)}" in p for p in problems)
    assert any("新文件尚未索引：002.txt" in p for p in problems)
    next((current_folder(built.index_path) / SEGMENTS).glob("*.npy")).unlink()
    assert any(".npy" in p and "缺失" in p for p in verify_index(built, embedder))


def test_readers_keep_answering_during_an_update_and_then_see_it(built, embedder):
    from qa import Assistant

    assistant = Assistant(built, embedder)
    errors, answers = [], []
    done = threading.Event()

    def ask():
        while not done.is_set():
            try:
                answers.append(assistant.answer("南沙支行上半年新增客户多少？").short)
            except Exception as e:  # noqa: BLE001 — any failure here is the finding
                errors.append(e)

    reader = threading.Thread(target=ask)
    reader.start()
    for n in range(5):
        (built.docs_dir / f"00{n + 2}.txt").write_text(NEW_ISSUE + f"第{n}次。", "utf-8")
        update_index(built, embedder, progress=False)
    done.set()
    reader.join()
    assert not errors and answers
    assert assistant.answer("南沙支行上半年新增客户多少？").short == "8888户"


def test_a_second_writer_waits_then_fails_clearly(built, embedder):
    slow = built.with_(lock_timeout=0.2)
    with writer_lock(built.index_path):
        with pytest.raises(IndexBusy, match="另一个进程（.+）正在写入索引"):
            update_index(slow, embedder, progress=False)


def test_watch_turns_a_burst_into_one_update_and_skips_bad_files(built, embedder):
    reports, stop = [], threading.Event()
    watcher = threading.Thread(target=watch, args=(built, embedder, reports.append), kwargs={"interval": 0.1, "settle": 0.5, "stop": stop})
    watcher.start()
    try:
        _wait(lambda: len(reports) == 1)
        for n in range(3):
            (built.docs_dir / f"burst-{n}.txt").write_text(NEW_ISSUE + f"第{n}篇。", "utf-8")
            time.sleep(0.05)
        (built.docs_dir / "broken.txt").write_bytes(b"\x00\x01binary")
        _wait(lambda: len(reports) == 2)
    finally:
        stop.set()
        watcher.join()
    update = reports[1]
    assert sorted(update.added) == ["burst-0.txt", "burst-1.txt", "burst-2.txt"]
    assert [e.path.name for e in update.errors] == ["broken.txt"]


def _wait(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# The child updates the index with a fake embedder; at the named step it says so and sleeps,
# and the test kills it there with SIGKILL.
_CHILD = """
import os, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.conftest import FakeEmbedder
import index.build, index.folder
from index import Settings, update_index
step = sys.argv[1]

def pause(fn):
    def wrapped(*args, **kwargs):
        print(step, flush=True)
        time.sleep(60)
    return wrapped

def pause_after(fn):
    def wrapped(*args, **kwargs):
        result = fn(*args, **kwargs)
        print(step, flush=True)
        time.sleep(60)
        return result
    return wrapped

targets = {{
    "embedding": (index.build, "embed_chunks", pause),
    "segments": (index.folder, "write_segment", pause_after),
    "fsync": (index.folder, "fsync", pause_after),
    "swap": (index.folder.os, "replace", pause),
    "cleanup": (index.folder, "remove_stale", pause),
}}
module, name, wrap = targets[step]
setattr(module, name, wrap(getattr(module, name)))
settings = Settings(docs_dir=Path(sys.argv[2]), home=Path(sys.argv[3]), index_dir=Path(sys.argv[3]) / "index")
update_index(settings, FakeEmbedder(), progress=False)
"""


@pytest.mark.parametrize("step", ["embedding", "segments", "fsync", "swap", "cleanup"])
def test_sigkill_mid_update_leaves_the_old_or_the_new_index(built, embedder, step, tmp_path):
    old = read_manifest(built).documents
    (built.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT)), step, str(built.docs_dir), str(built.home)],
        stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline().strip() == step
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    documents = read_manifest(built).documents
    assert set(documents) in ({"000_4734283b9fcbc3a1.txt"}, {"000_4734283b9fcbc3a1.txt", "002.txt"})
    problems = verify_index(built, embedder)
    assert all(p.startswith("新文件尚未索引") for p in problems)  # consistent, maybe behind the files
    assert (documents == old) == bool(problems)
    update_index(built, embedder, progress=False)
    assert verify_index(built, embedder) == []
    assert any("8888户" in t for t in _texts(built))


def test_an_unreadable_manifest_means_rebuild(built, embedder):
    (current_folder(built.index_path) / "manifest.json").write_text("{not json", "utf-8")
    assert any("无法读取" in p for p in verify_index(built, embedder))
    report = update_index(built, embedder, progress=False)
    assert report.chunks_embedded == report.chunks > 0
    assert verify_index(built, embedder) == []
