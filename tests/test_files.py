import hashlib
import os

import pytest

from index.files import atomic_write, files_fingerprint, sha256_bytes, sha256_file, write_temp


def test_sha256_of_bytes_and_of_a_file_agree(tmp_path):
    data = os.urandom(3 << 20)  # more than one read block
    (tmp_path / "w.bin").write_bytes(data)
    assert sha256_file(tmp_path / "w.bin") == sha256_bytes(data) == hashlib.sha256(data).hexdigest()


def test_fingerprint_covers_names_and_bytes_in_any_order(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.bin"
    a.write_text("{}")
    b.write_bytes(b"\x00weights")
    first = files_fingerprint([a, b])
    assert len(first) == 16
    assert files_fingerprint([b, a]) == first
    expected = hashlib.sha256(b"a.json{}" + b"b.bin\x00weights").hexdigest()[:16]
    assert first == expected  # the scheme stored model fingerprints were made with
    b.write_bytes(b"\x00weightz")
    assert files_fingerprint([a, b]) != first  # other bytes
    b.write_bytes(b"\x00weights")
    assert files_fingerprint([a, b.rename(tmp_path / "c.bin")]) != first  # the same bytes under another name


def test_atomic_write_replaces_the_file_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "conv.json"
    atomic_write(target, "第一版")
    atomic_write(target, "第二版")
    assert target.read_text("utf-8") == "第二版"
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["conv.json"]


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "floor.json"
    target.write_text("old", "utf-8")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        atomic_write(target, "new")
    assert target.read_text("utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["floor.json"]


def test_write_temp_makes_a_new_hidden_file_and_never_follows_a_link(tmp_path, monkeypatch):
    temp = write_temp(tmp_path, b"data", prefix=".upload-", suffix=".part")
    assert temp.parent == tmp_path and temp.name.startswith(".upload-") and temp.name.endswith(".part")
    assert temp.read_bytes() == b"data"
    # A name already taken (a link planted there, say) is refused, not written through.
    outside = tmp_path / "outside"
    planted = tmp_path / ".upload-0000000000000000.part"
    planted.symlink_to(outside)
    monkeypatch.setattr("index.files.secrets.token_hex", lambda n: "0" * 2 * n)
    with pytest.raises(FileExistsError):
        write_temp(tmp_path, b"x", prefix=".upload-", suffix=".part")
    assert not outside.exists()
