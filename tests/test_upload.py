"""Uploads: whatever the name or the bytes, a file lands in the documents folder or is refused."""

import os
from pathlib import Path

import pytest

from index import Settings
from tests.conftest import SEED_FILE
from ui.upload import MAX_NAME_BYTES, UploadRefused, safe_name, store_upload, store_uploads

ISSUE = "青松计划\n\n2031年，某支行推出“青松计划”，首批签约客户328户。\n".encode()


@pytest.fixture
def upload(tmp_path):
    """Write bytes to a temporary file outside the documents folder, as the web server does."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()

    def write(data: bytes = ISSUE, name: str = "upload.bin") -> Path:
        path = incoming / name
        path.write_bytes(data)
        return path

    return write


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _everything_outside(root: Path, docs: Path) -> set[Path]:
    return {p for p in root.rglob("*") if docs not in p.parents and p != docs}


@pytest.mark.parametrize(
    "original, expected",
    [
        ("第42期.txt", "第42期.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/etc/cron.d/evil.md", "evil.md"),
        ("C:\\Users\\x\\..\\issue.docx", "issue.docx"),
        ("bad\x00name\x1b[31m.txt", "badname[31m.txt"),
        ("\u202eexe.txt", "exe.txt"),  # a right-to-left override, the classic spoofed name
        (".hidden.txt", "hidden.txt"),  # the index skips dot files
        ('a<b>:c|d?.PDF', "a_b__c_d_.PDF"),
        ("  spaced\tname\n .txt", "spaced name.txt"),
    ],
)
def test_safe_name(original, expected):
    assert safe_name(original) == expected


def test_a_long_name_is_cut_and_keeps_its_type():
    name = safe_name("长" * 300 + ".txt")
    assert name.endswith(".txt") and len(name.encode()) <= MAX_NAME_BYTES and name.startswith("长长")


@pytest.mark.parametrize("original", ["", "..", "../", ".txt", "   .txt", "\x00\x01.txt", "/"])
def test_names_with_nothing_left_are_refused(original):
    with pytest.raises(UploadRefused):
        safe_name(original)


@pytest.mark.parametrize("original", ["run.exe", "issue.txt.sh", "noext", "page.html.exe", "x.json"])
def test_unsupported_types_are_refused_in_chinese(original):
    with pytest.raises(UploadRefused, match="不支持的文件类型"):
        safe_name(original)


def test_stored_in_the_documents_folder_and_nowhere_else(settings, upload, tmp_path):
    source = upload()
    before = _everything_outside(tmp_path, settings.docs_dir)
    stored = store_upload(source, "../../../outside.txt", settings)
    assert stored.name == "outside.txt" and "已改为" in stored.note
    assert (settings.docs_dir / "outside.txt").read_bytes() == ISSUE
    assert _everything_outside(tmp_path, settings.docs_dir) == before
    assert not [p for p in settings.docs_dir.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_duplicate_of_an_existing_issue_is_refused(settings, upload):
    with pytest.raises(UploadRefused, match=f"与已有的文件 {SEED_FILE.name} 内容相同"):
        store_upload(upload(SEED_FILE.read_bytes()), "copy.txt", settings)
    assert _files(settings.docs_dir) == {SEED_FILE.name}


def test_a_taken_name_is_never_overwritten(settings, upload):
    stored = store_upload(upload(), SEED_FILE.name, settings)
    assert stored.name == f"{SEED_FILE.stem} (2).txt" and "另存为" in stored.note
    assert (settings.docs_dir / SEED_FILE.name).read_bytes() == SEED_FILE.read_bytes()


def test_a_link_planted_at_the_name_is_not_followed(settings, upload, tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("keep")
    (settings.docs_dir / "issue.txt").symlink_to(target)
    stored = store_upload(upload(), "issue.txt", settings)
    assert stored.name == "issue (2).txt" and target.read_text() == "keep"


def test_too_large_is_refused_before_reading(tmp_path, docs_dir, upload):
    settings = Settings(docs_dir=docs_dir, home=tmp_path / "var").with_(max_file_mb=0.001)
    with pytest.raises(UploadRefused, match=r"文件过大.*上限 0.001 MB"):
        store_upload(upload(b"x" * 2000), "big.txt", settings)


@pytest.mark.parametrize(
    "data, reason", [(b"", "文件为空"), (b"\x00\x01PK\x03\x04binary", "二进制"), (b"%PDF-1.4 broken", "PDF")]
)
def test_unreadable_content_is_refused_and_not_stored(settings, upload, data, reason):
    name = "bad.pdf" if reason == "PDF" else "bad.txt"
    with pytest.raises(UploadRefused, match=reason):
        store_upload(upload(data), name, settings)
    assert _files(settings.docs_dir) == {SEED_FILE.name}


def test_a_batch_stores_the_good_and_reports_each_bad_one(settings, upload):
    files = [
        (upload(ISSUE, "a"), "good.txt"),
        (upload(b"", "b"), "empty.txt"),
        (upload(ISSUE, "c"), "same-again.txt"),  # the same bytes twice in one batch
        (upload(b"MZ", "d"), "tool.exe"),
        (upload("另一期\n\n内容。".encode(), "e"), "x" * 300 + ".md"),
    ]
    stored, refused = store_uploads(files, settings)
    assert [s.name for s in stored][0] == "good.txt" and len(stored) == 2
    assert [e.name for e in refused] == ["empty.txt", "same-again.txt", "tool.exe"]
    assert "内容相同" in str(refused[1]) and "good.txt" in str(refused[1])
    assert all(len(p.name.encode()) <= 255 for p in settings.docs_dir.iterdir())


def test_refused_messages_show_hostile_names_harmlessly(settings, upload):
    with pytest.raises(UploadRefused) as refused:
        store_upload(upload(b""), "\x1b[2J" + "y" * 300 + ".txt", settings)
    assert "\x1b" not in str(refused.value) and len(refused.value.name) <= 61


def test_files_are_readable_by_others_not_executable(settings, upload):
    stored = store_upload(upload(), "issue.txt", settings)
    mode = os.stat(settings.docs_dir / stored.name).st_mode & 0o777
    assert mode & 0o111 == 0 and mode & 0o004
