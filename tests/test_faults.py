"""Bad days: a full disk during an update, the index deleted or corrupted under a running
server. Each ends in a clear message, the previous index intact, and answers going on."""

import errno
import shutil

import pytest

import index.folder
from index import IndexMissing, IndexWriteError, build_index, open_index, update_index, verify_index
from qa import Assistant
from tests.conftest import run_qa

NEW_ISSUE = "工行举办首届数字金融创新大赛，共有126支队伍参赛，最终评出金奖3项。\n"


@pytest.fixture
def served(settings, fake_embedder):
    build_index(settings, fake_embedder, progress=False)
    assistant = Assistant(settings, fake_embedder)
    assert assistant.answer("个贷不良率是多少？").short == "0.39%"
    return assistant


def _full_disk(monkeypatch):
    write = index.folder.write_segment

    def half_then_full(folder, segment):
        write(folder, segment)  # the data is half there when the disk runs out
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(index.folder, "write_segment", half_then_full)


def test_a_full_disk_during_an_update_leaves_the_old_index(settings, fake_embedder, served, monkeypatch):
    before = open_index(settings).manifest
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    _full_disk(monkeypatch)
    with pytest.raises(IndexWriteError, match="No space left on device.*原索引未改动"):
        update_index(settings, fake_embedder, progress=False)
    assert open_index(settings).manifest == before
    assert not list(settings.index_path.glob("*.tmp"))  # the half-written generation is gone
    assert served.answer("个贷不良率是多少？").short == "0.39%"
    monkeypatch.undo()  # space again: the next update goes through
    update_index(settings, fake_embedder, progress=False)
    assert "126支" in served.answer("数字金融创新大赛共有多少支队伍参赛？").text


def test_the_cli_says_the_disk_is_full(settings, fake_embedder, served, monkeypatch, capsys):
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    _full_disk(monkeypatch)
    code = run_qa(["index", "update", "--docs", str(settings.docs_dir), "--index-dir", str(settings.index_path)])
    assert code == 1
    assert "写入索引失败" in capsys.readouterr().err


def test_the_index_deleted_under_a_running_server(settings, fake_embedder, served):
    shutil.rmtree(settings.index_path)
    assert served.answer("个贷不良率是多少？").short == "0.39%"  # from the index already loaded
    with pytest.raises(IndexMissing, match="qa index build"):
        Assistant(settings, fake_embedder).answer("个贷不良率是多少？")  # a new server is told what to do
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    build_index(settings, fake_embedder, progress=False)
    assert "126支" in served.answer("数字金融创新大赛共有多少支队伍参赛？").text  # no restart


def test_a_corrupt_vector_file_keeps_the_previous_index_answering(settings, fake_embedder, served):
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    update_index(settings, fake_embedder, progress=False)
    vectors = sorted((settings.index_path / "current" / "segments").glob("*.npy"))
    for path in vectors:
        path.write_bytes(path.read_bytes()[:100])  # truncated, as a crashed copy would leave it
    assert served.answer("个贷不良率是多少？").short == "0.39%"
    problems = verify_index(settings)
    assert problems and any("损坏" in p or "build --full" in p for p in problems)
    with pytest.raises(IndexMissing, match="已损坏.*build --full"):
        Assistant(settings, fake_embedder).answer("个贷不良率是多少？")
    build_index(settings, fake_embedder, progress=False)  # the repair it names
    assert verify_index(settings) == []
    assert "126支" in served.answer("数字金融创新大赛共有多少支队伍参赛？").text
