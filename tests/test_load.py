import pytest

from index.load import Limits, LoadError, discover, load_document


def test_utf8_and_bom(tmp_path):
    for data in ("工行通讯。".encode(), "\ufeff工行通讯。".encode()):
        (tmp_path / "a.txt").write_bytes(data)
        assert load_document(tmp_path / "a.txt", tmp_path).text == "工行通讯。"


def test_gbk_falls_back_to_gb18030(tmp_path):
    path = tmp_path / "旧 文件.txt"
    path.write_bytes("上半年代销工银瑞信基金1096亿元。".encode("gbk"))
    doc = load_document(path, tmp_path)
    assert doc.text == "上半年代销工银瑞信基金1096亿元。"
    assert doc.name == "旧 文件.txt"


@pytest.mark.parametrize(
    "data, reason",
    [(b"", "文件为空"), (b"  \n\n ", "文件为空"), (b"\x00\x01PK\x03\x04binary", "二进制"), (b"\xff\xfe\xfa\x80\x81" * 20, "编码")],
)
def test_unreadable_bytes_name_the_file(tmp_path, data, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(LoadError) as error:
        load_document(path, tmp_path)
    assert "bad.txt" in str(error.value) and reason in str(error.value)


def test_unreadable_path_is_a_load_error(tmp_path):
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="folder.txt"):
        load_document(folder, tmp_path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "x.exe"
    path.write_bytes(b"MZ")
    with pytest.raises(LoadError, match="不支持"):
        load_document(path, tmp_path)


def test_same_bytes_same_id(tmp_path):
    (tmp_path / "a.txt").write_text("同样的内容。", "utf-8")
    (tmp_path / "b.md").write_text("同样的内容。", "utf-8")
    a, b = (load_document(tmp_path / n, tmp_path) for n in ("a.txt", "b.md"))
    assert a.id == b.id and a.name != b.name


def test_discover_takes_supported_files_in_order(tmp_path):
    for name in ("b.txt", "a.md", "c.bin", ".hidden.txt", "sub/d.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("内容", "utf-8")
    listing = discover(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in listing.files] == ["a.md", "b.txt", "sub/d.txt"]
    assert listing.refused == []


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="不存在"):
        discover(tmp_path / "nope")


def test_pdf_docx_and_html_become_documents_with_articles(tmp_path):
    from tests.test_formats import make_docx, make_pdf

    (tmp_path / "第2期 通讯.pdf").write_bytes(make_pdf())
    (tmp_path / "issue.docx").write_bytes(make_docx())
    (tmp_path / "issue.html").write_bytes(
        "<html><body><h1>工行南沙支行开业</h1><p>本期要闻：南沙支行上半年新增客户8888户。</p><p>供稿：办公室</p></body></html>".encode()
    )
    for name in ("第2期 通讯.pdf", "issue.docx", "issue.html"):
        doc = load_document(tmp_path / name, tmp_path)
        assert doc.name == name and doc.articles and len(doc.text) > 10
    html = load_document(tmp_path / "issue.html", tmp_path)
    assert html.articles[0].headline == "工行南沙支行开业"
    assert "8888户" in html.text


def test_a_pdf_the_parser_cannot_read_names_the_file(tmp_path):
    from tests.test_formats import make_pdf

    path = tmp_path / "坏的 文件.pdf"
    path.write_bytes(make_pdf()[:2000])
    with pytest.raises(LoadError, match="坏的 文件.pdf"):
        load_document(path, tmp_path)


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(50 * 2**20)  # 50 MB
    with pytest.raises(LoadError, match="文件过大（50.0 MB，上限 20 MB）"):
        load_document(path, tmp_path, Limits(max_bytes=20 * 2**20))
