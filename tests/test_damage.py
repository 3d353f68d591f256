"""A damaged index on disk: segments carry checksums, so `verify` names the damaged file, a fresh
reader refuses it with a message, a running one keeps the index it has, and `update` embeds the
damaged document again from its file instead of linking the damage into the next generation."""

import json
import os

import numpy as np
import pytest

import qa
from index import IndexMissing, build_index, open_index, update_index, verify_index
from index.folder import MANIFEST
from qa import Assistant
from tests.conftest import run_qa
from tests.conftest import NEW_ISSUE, SEED_FILE, CountingEmbedder

QUESTION = "上半年代销工银瑞信基金多少？"


@pytest.fixture
def served(settings, fake_embedder):
    build_index(settings, fake_embedder, progress=False)
    assistant = Assistant(settings, fake_embedder)
    assert assistant.answer(QUESTION).short == "1096亿元"
    return assistant


def _segment(settings, suffix: str):
    (path,) = (settings.index_path / "current" / "segments").glob(f"*{suffix}")
    return path


def _overwrite_in_place(path, data: bytes, at: int = 0) -> None:
    """Bytes written into the file itself, as a disk error or a stray `dd` would: every hard link sees it."""
    with path.open("r+b") as f:
        f.seek(at)
        f.write(data)


def _cli(settings, fake_embedder, monkeypatch, *args) -> int:
    return run_qa([*args, "--docs", str(settings.docs_dir), "--index-dir", str(settings.index_path)])


def test_a_damaged_tokens_file_is_named_refused_and_repaired(settings, fake_embedder, served, monkeypatch, capsys):
    tokens = _segment(settings, ".tokens.npz")
    _overwrite_in_place(tokens, b"\x00garbage" * 64)  # no longer a zip
    problems = verify_index(settings)
    assert len(problems) == 1 and tokens.name in problems[0] and "损坏" in problems[0]
    assert _cli(settings, fake_embedder, monkeypatch, "ask", QUESTION) == 1
    err = capsys.readouterr().err
    assert "已损坏" in err and "qa index update" in err and "Traceback" not in err
    assert served.answer(QUESTION).short == "1096亿元"  # the running reader keeps what it loaded
    report = update_index(settings, fake_embedder, progress=False)
    assert report.repaired == [SEED_FILE.name] and report.changed
    assert verify_index(settings) == []
    assert Assistant(settings, fake_embedder).answer(QUESTION).short == "1096亿元"


def test_random_bytes_over_the_vectors_are_caught(settings, fake_embedder, served):
    vectors = _segment(settings, ".npy")
    size = vectors.stat().st_size
    _overwrite_in_place(vectors, np.random.default_rng(0).bytes(size - 128), at=128)  # the header stays
    (problem,) = verify_index(settings)
    assert vectors.name in problem and "向量" in problem
    with pytest.raises(IndexMissing, match="已损坏"):
        Assistant(settings, fake_embedder).answer(QUESTION)


def test_vectors_that_decode_but_are_not_unit_length_are_caught(settings, fake_embedder, served):
    vectors = _segment(settings, ".npy")
    stored = np.load(vectors)
    stored[0] = np.nan
    np.save(vectors, stored)
    (problem,) = verify_index(settings)
    assert "NaN" in problem and vectors.name in problem


def test_an_edited_figure_in_the_rows_is_caught_and_never_answered(settings, fake_embedder, served, monkeypatch, capsys):
    rows = _segment(settings, ".jsonl")
    _overwrite_in_place(rows, rows.read_bytes().replace("1096亿元".encode(), "9999亿元".encode()))
    (problem,) = verify_index(settings)
    assert "段落行" in problem and rows.name in problem and "校验和不符" in problem
    assert _cli(settings, fake_embedder, monkeypatch, "index", "verify") == 1
    assert rows.name in capsys.readouterr().out
    with pytest.raises(IndexMissing, match="已损坏"):
        Assistant(settings, fake_embedder).answer(QUESTION)
    assert served.answer(QUESTION).short == "1096亿元"
    embedder = CountingEmbedder(fake_embedder)
    report = update_index(settings, embedder, progress=False)
    assert report.repaired == [SEED_FILE.name] and embedder.embedded == report.chunks
    assert "9999" not in Assistant(settings, fake_embedder).answer(QUESTION).text


def test_update_never_links_a_damaged_segment_into_the_next_generation(settings, fake_embedder, served):
    rows = _segment(settings, ".jsonl").resolve()  # in the generation committed now
    _overwrite_in_place(rows, rows.read_bytes().replace("1096亿元".encode(), "9999亿元".encode()))
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    report = update_index(settings, fake_embedder, progress=False)
    assert report.added == ["new.txt"] and report.repaired == [SEED_FILE.name]
    assert not os.path.samefile(rows, _segment_named(settings, rows.name))
    assert verify_index(settings) == []


def _segment_named(settings, name):
    return settings.index_path / "current" / "segments" / name


def test_a_running_reader_keeps_its_index_and_does_not_reload_a_damaged_one(settings, fake_embedder, served, monkeypatch):
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    update_index(settings, fake_embedder, progress=False)
    _overwrite_in_place(_segment_named(settings, open_index(settings).manifest.documents["new.txt"].id + ".tokens.npz"), b"x" * 40)
    loads = []
    real = qa.open_index
    monkeypatch.setattr(qa, "open_index", lambda settings: loads.append(settings) or real(settings))
    for _ in range(3):
        assert served.answer(QUESTION).short == "1096亿元"
    assert len(loads) == 1  # tried once, then left alone until the next commit


def test_an_index_without_checksums_is_rebuilt_whole(settings, fake_embedder, served):
    manifest_file = settings.index_path / "current" / MANIFEST
    raw = json.loads(manifest_file.read_text("utf-8"))
    for entry in raw["documents"].values():
        del entry["checksums"]  # as an index written before this version
    manifest_file.write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    assert any("校验和" in p for p in verify_index(settings))
    embedder = CountingEmbedder(fake_embedder)
    report = update_index(settings, embedder, progress=False)
    assert embedder.embedded == report.chunks > 0
    assert verify_index(settings) == []
