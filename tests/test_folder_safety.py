"""What gets into the index from a documents folder: only its regular files, each within limits
that bound the work, every refusal named with its reason, and the rest of the batch indexed."""

import logging
import os
import threading
import tracemalloc

import pytest

from index import IndexBusy, Limits, build_index, discover, open_index, update_index, verify_index
from index.load import read_file
from index.folder import writer_lock
from qa import Assistant
from tests.conftest import NEW_ISSUE, SEED_FILE, CountingEmbedder
from tests.test_format_limits import docx_bomb  # noqa: F401  (the fixture)

SECRET = "root:x:0:0:root:/root:/bin/bash\n机密文件：工行内部口令表，严禁外传。\n"


def _refused(report) -> dict[str, str]:
    return {error.path.name: error.reason for error in report.errors}


def _keyword_hits(settings, fake_embedder, question):
    return [h.chunk.text for h in Assistant(settings, fake_embedder).answer(question, mode="keyword").passages]


def _lock_is_free(settings) -> bool:
    with writer_lock(settings.index_path, timeout=0):
        return True


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd.txt").write_text(SECRET, "utf-8")
    return folder


def test_a_link_to_a_file_outside_the_folder_is_named_and_never_read(settings, fake_embedder, outside):
    (settings.docs_dir / "x.txt").symlink_to(outside / "passwd.txt")
    report = build_index(settings, fake_embedder, progress=False)
    assert "符号链接" in _refused(report)["x.txt"]
    assert report.added == [SEED_FILE.name]
    assert not any("机密" in text or "root:x" in text for text in _keyword_hits(settings, fake_embedder, "机密文件 口令表 root bash"))
    assert verify_index(settings) == []  # the link is recorded as skipped, not as a document
    assert open_index(settings).manifest.skipped == {"x.txt": ""}
    assert _lock_is_free(settings)


def test_a_link_to_a_folder_and_a_link_inside_the_folder_are_not_followed(settings, fake_embedder, outside):
    (settings.docs_dir / "more").symlink_to(outside, target_is_directory=True)
    (settings.docs_dir / "copy.txt").symlink_to(settings.docs_dir / SEED_FILE.name)
    report = build_index(settings, fake_embedder, progress=False)
    assert set(_refused(report)) == {"more", "copy.txt"}
    assert all("符号链接" in reason for reason in _refused(report).values())
    assert list(open_index(settings).manifest.documents) == [SEED_FILE.name]


def test_a_pipe_is_refused_without_hanging_the_update(settings, fake_embedder):
    os.mkfifo(settings.docs_dir / "pipe.txt")
    done = []
    worker = threading.Thread(target=lambda: done.append(build_index(settings, fake_embedder, progress=False)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done, "the update hung on a named pipe"
    assert "不是普通文件" in _refused(done[0])["pipe.txt"]


def test_a_folder_swapped_for_a_link_after_listing_is_refused_when_read(tmp_path, outside):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "a.txt").write_text("正文。", "utf-8")
    listed = discover(docs).files
    (docs / "sub" / "a.txt").unlink()
    (docs / "sub").rmdir()
    (docs / "sub").symlink_to(outside, target_is_directory=True)
    (outside / "a.txt").write_text(SECRET, "utf-8")
    with pytest.raises(Exception, match="符号链接"):
        read_file(listed[0], docs)


def test_a_name_with_a_newline_is_refused_and_shown_on_one_line(settings, fake_embedder):
    (settings.docs_dir / "第1期\n工行通讯.txt").write_text(NEW_ISSUE, "utf-8")
    report = build_index(settings, fake_embedder, progress=False)
    (error,) = report.errors
    assert "控制字符" in error.reason and "\n" not in str(error) and "第1期\\n工行通讯.txt" in str(error)
    assert report.added == [SEED_FILE.name]


def test_a_file_with_headings_only_is_refused_not_added_with_no_passages(settings, fake_embedder):
    (settings.docs_dir / "y.txt").mkdir()  # a folder whose name looks like a file
    (settings.docs_dir / "y.txt" / "标题.md").write_text("# 工行通讯\n\n# 第二版\n", "utf-8")
    report = build_index(settings, fake_embedder, progress=False)
    assert "只有标题" in _refused(report)["标题.md"]
    assert report.added == [SEED_FILE.name]


def test_a_huge_sparse_file_is_refused_by_its_size_before_it_is_read(settings, fake_embedder):
    with (settings.docs_dir / "huge.txt").open("wb") as f:
        f.truncate(2 * 2**30)  # 2 GB that take no disk
    tracemalloc.start()
    try:
        report = build_index(settings, fake_embedder, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "文件过大（2048.0 MB，上限 20 MB）" in _refused(report)["huge.txt"]
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MB: the file was read"
    assert report.added == [SEED_FILE.name]


def test_too_many_characters_are_refused_with_the_figure_and_the_rest_goes_in(settings, fake_embedder):
    lines = "\n".join(f"第{n}行：工行积极推进数字化转型，服务实体经济。" for n in range(2000))  # ~50k characters
    (settings.docs_dir / "long.md").write_text(lines, "utf-8")
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    embedder = CountingEmbedder(fake_embedder)
    report = build_index(settings.with_(max_file_chars=20_000), embedder, progress=False)
    reason = _refused(report)["long.md"]
    assert "20,000" in reason or "20000" in reason
    assert sorted(report.added) == sorted([SEED_FILE.name, "new.txt"])
    assert embedder.embedded == report.chunks  # nothing of the refused file was embedded


def test_a_real_issue_of_a_hundred_pages_fits_the_default_limits(tmp_path, settings):
    issue = (SEED_FILE.read_text("utf-8") + "\n\n") * 60  # ~420k characters: 100 pages of ~4,000
    (tmp_path / "docs" / "big.txt").write_text(issue, "utf-8")
    from index.load import load_document

    assert load_document(tmp_path / "docs" / "big.txt", tmp_path / "docs", Limits.of(settings)).articles


def test_a_file_over_its_time_budget_is_refused(settings, fake_embedder):
    report = build_index(settings.with_(max_read_seconds=0.0), fake_embedder, progress=False)
    assert "超时" in _refused(report)[SEED_FILE.name]


def test_a_file_gone_between_listing_and_reading_is_not_recorded(settings, fake_embedder, monkeypatch):
    import index.build

    real = index.build.discover

    def listing_with_a_ghost(folder):
        found = real(folder)
        return type(found)(found.files + [folder / "gone.txt"], found.refused)

    monkeypatch.setattr(index.build, "discover", listing_with_a_ghost)
    report = build_index(settings, fake_embedder, progress=False)
    monkeypatch.undo()
    assert report.errors == [] and "gone.txt" not in open_index(settings).manifest.skipped
    assert verify_index(settings) == []


def test_a_second_writer_says_that_it_waits_and_for_whom(settings, fake_embedder, caplog):
    build_index(settings, fake_embedder, progress=False)
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    held, release = threading.Event(), threading.Event()

    def hold():
        with writer_lock(settings.index_path, timeout=0):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    held.wait(10)
    try:
        with caplog.at_level(logging.WARNING, logger="index.folder"):
            with pytest.raises(IndexBusy, match=f"进程 {os.getpid()}"):
                update_index(settings.with_(lock_timeout=0.5), fake_embedder, progress=False)
    finally:
        release.set()
        holder.join(10)
    assert any("等待" in r.getMessage() and f"进程 {os.getpid()}" in r.getMessage() for r in caplog.records)
    assert update_index(settings, fake_embedder, progress=False).added == ["new.txt"]



def test_a_docx_bomb_is_refused_with_its_figure_the_index_intact_and_the_lock_free(
    settings, fake_embedder, docx_bomb, monkeypatch, capsys  # noqa: F811
):
    from tests.conftest import run_qa

    build_index(settings, fake_embedder, progress=False)
    (settings.docs_dir / "第2期.docx").write_bytes(docx_bomb)  # 815 KB that inflate to 200 MB
    (settings.docs_dir / "new.txt").write_text(NEW_ISSUE, "utf-8")
    code = run_qa(["index", "update", "--docs", str(settings.docs_dir), "--index-dir", str(settings.index_path)])
    printed = capsys.readouterr()
    assert code == 0 and "新增 new.txt" in printed.out
    assert "跳过 第2期.docx：Word 文件压缩比异常" in printed.err and "上限 100 倍" in printed.err
    assert Assistant(settings, fake_embedder).answer("个贷不良率是多少？").short == "0.39%"
    assert _lock_is_free(settings)
