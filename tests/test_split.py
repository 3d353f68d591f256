from index.clean import clean
from index.load import load_document
from index.records import Document
from index.split import chunk_id, split_document
from tests.conftest import SEED_FILE, SEEDS


def _seed_chunks(size=300, overlap=50):
    doc = load_document(SEED_FILE, SEEDS)
    return doc, split_document(doc, size, overlap)


def test_spans_map_back_to_the_document():
    doc, chunks = _seed_chunks()
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == doc.id and chunk.doc_name == doc.name


def test_chunks_respect_size_and_cover_the_running_text():
    doc, chunks = _seed_chunks(200, 40)
    assert all(len(c.text) <= 200 for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    body = {i for a in doc.articles for s, e in a.body for i in range(s, e) if doc.text[i] != "\n"}
    assert body - covered == set()
    assert {doc.text[i] for i in covered - body} <= {"\n"}  # nothing outside the running text


def test_chunks_never_cross_an_article_and_carry_its_fields():
    doc, chunks = _seed_chunks(200, 40)
    for c in chunks:
        (article,) = [a for a in doc.articles if any(s <= c.start and c.end <= e for s, e in a.body)]
        assert (c.headline, c.byline, c.kind, c.page) == (article.headline, article.byline, article.kind, article.page)
    lead = [c for c in chunks if c.headline == "扬帆起航正当时 战略引领谱华章"]
    assert [c.section for c in lead][0] == ""  # the introduction comes before the first section
    assert {c.section for c in lead} == {"", "齐心协力 战略落地稳扎稳打", "成效初显 个金业务再创佳绩", "坚定不移 战略实施向纵深推进"}
    assert all(c.byline == "供稿：个人金融业务部" for c in lead)
    assert {c.kind for c in chunks} == {"article", "contents", "caption"}
    for c in chunks:  # section titles, bylines and page furniture are not passage text
        assert "供稿：" not in c.text and "公众号" not in c.text and "齐心协力" not in c.text
        assert c.kind == "contents" or "◀" not in c.text


def test_search_text_and_citation_label():
    _, chunks = _seed_chunks()
    fortune = next(c for c in chunks if "沃尔玛" in c.text)
    assert fortune.search_text.startswith("工行位列“世界500强”第24位\n")
    assert fortune.citation_label == "《工行位列“世界500强”第24位》· 工行通讯 000_4734283b9fcbc3a1"
    sectioned = next(c for c in chunks if c.section.startswith("成效初显"))
    assert sectioned.search_text == f"{sectioned.headline}\n{sectioned.section}\n{sectioned.text}"
    caption = next(c for c in chunks if c.kind == "caption")
    assert "图片说明" in caption.citation_label


def test_chunks_end_with_their_sentence_punctuation():
    _, chunks = _seed_chunks(120, 20)
    ends = [c.text[-1] for c in chunks]
    assert sum(e in "。！？；，、”" for e in ends) / len(ends) > 0.8


def test_chunk_ids_are_stable_and_unique():
    _, first = _seed_chunks()
    _, second = _seed_chunks()
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
    assert all(0 <= c.id < 2**63 for c in first)
    assert chunk_id("a", 0, "x") != chunk_id("a", 1, "x")


def test_chunks_carry_the_headline_and_their_section():
    text, paragraphs = clean("齐心协力\n\n" + "这是正文内容，" * 30 + "结束。\n\n成效初显\n\n" + "第二节的正文，" * 30 + "完。")
    doc = Document(id="d", name="n.txt", text=text, paragraphs=paragraphs)  # no articles: split reads them
    chunks = split_document(doc, 100, 10)
    assert {c.headline for c in chunks} == {"齐心协力"}
    assert chunks[0].section == "" and chunks[-1].section == "成效初显"
    assert all("成效初显" not in c.text for c in chunks)
