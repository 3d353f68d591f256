import pytest

from index import build_index, ensure_index, index_is_current, open_index, read_manifest, update_index


def test_build_indexes_the_seed(settings, fake_embedder):
    report = build_index(settings, fake_embedder, progress=False)
    assert report.documents == 1 and report.chunks > 20 and not report.errors
    manifest = read_manifest(settings)
    assert manifest.embedder == fake_embedder.name and manifest.dim == fake_embedder.dim
    assert manifest.chunk_count == report.chunks == open_index(settings).store.count()
    assert (manifest.chunk_size, manifest.chunk_overlap) == (settings.indexing.chunk_size, settings.indexing.chunk_overlap)
    assert len(manifest.documents["000_4734283b9fcbc3a1.txt"].id) == 64
    assert "faiss-cpu" in manifest.versions and manifest.built_at


def test_bad_files_are_reported_and_the_rest_indexed(settings, fake_embedder):
    (settings.docs_dir / "empty.txt").write_bytes(b"")
    (settings.docs_dir / "binary.txt").write_bytes(b"\x00\x01\x02")
    report = build_index(settings, fake_embedder, progress=False)
    assert sorted(e.path.name for e in report.errors) == ["binary.txt", "empty.txt"]
    manifest = read_manifest(settings)
    assert list(manifest.documents) == ["000_4734283b9fcbc3a1.txt"]
    assert set(manifest.skipped) == {"binary.txt", "empty.txt"}
    assert index_is_current(settings, fake_embedder)


def test_index_goes_stale_when_files_or_model_change(settings, fake_embedder):
    assert not index_is_current(settings, fake_embedder)
    assert ensure_index(settings, fake_embedder, progress=False) is not None
    assert index_is_current(settings, fake_embedder)
    assert ensure_index(settings, fake_embedder, progress=False) is None
    (settings.docs_dir / "new.md").write_text("第二期通讯：新的内容。", "utf-8")
    assert not index_is_current(settings, fake_embedder)
    ensure_index(settings, fake_embedder, progress=False)
    assert "new.md" in read_manifest(settings).documents
    fake_embedder.fingerprint = "another"
    assert not index_is_current(settings, fake_embedder)


def test_failed_build_leaves_the_old_index(settings, fake_embedder, monkeypatch):
    build_index(settings, fake_embedder, progress=False)
    before = read_manifest(settings)
    (settings.docs_dir / "new.md").write_text("新一期的内容。", "utf-8")

    def broken(texts):
        raise RuntimeError("embedder crashed")

    monkeypatch.setattr(fake_embedder, "embed_passages", broken)
    with pytest.raises(RuntimeError):
        build_index(settings, fake_embedder, progress=False)
    assert read_manifest(settings) == before


def test_a_mixed_batch_indexes_what_it_can_and_loses_nothing(settings, fake_embedder):
    from tests.test_formats import make_docx, make_pdf

    build_index(settings, fake_embedder, progress=False)
    before = open_index(settings).store.count()
    docs = settings.docs_dir
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (docs / "gbk 旧稿.txt").write_bytes("南沙支行上半年新增客户8888户。".encode("gbk"))
    (docs / "broken.pdf").write_bytes(make_pdf()[:1500])
    (docs / "good.pdf").write_bytes(make_pdf())
    (docs / "good.docx").write_bytes(make_docx())
    with (docs / "huge.txt").open("wb") as f:
        f.truncate(50 * 2**20)
    report = update_index(settings, fake_embedder, progress=False)
    assert sorted(e.path.name for e in report.errors) == ["binary.txt", "broken.pdf", "empty.txt", "huge.txt"]
    assert all(e.path.name in str(e) and e.reason for e in report.errors)
    assert sorted(report.added) == ["gbk 旧稿.txt", "good.docx", "good.pdf"]
    index = open_index(settings)
    assert index.store.count() > before
    assert any("8888户" in c.text for c in index.store.chunks())
    assert "000_4734283b9fcbc3a1.txt" in index.manifest.documents


def test_a_window_is_told_of_each_batch_embedded(settings, fake_embedder, capsys):
    told = []
    report = build_index(settings, fake_embedder, progress=lambda done, total: told.append((done, total)))
    assert told[0] == (0, report.chunks_embedded) and told[-1] == (report.chunks_embedded, report.chunks_embedded)
    assert [done for done, _ in told] == sorted(done for done, _ in told)
    assert "嵌入段落" not in capsys.readouterr().err  # its own bar, not the terminal's
