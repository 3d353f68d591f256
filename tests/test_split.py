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


def test_chunks_respect_size_and_cover_the_text():
    doc, chunks = _seed_chunks(200, 40)
    assert all(len(c.text) <= 200 for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert len(covered) >= len(doc.text.replace("\n", "")) - 5


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


def test_chunks_carry_the_nearest_headline():
    text, paragraphs = clean("齐心协力\n\n" + "这是正文内容，" * 30 + "结束。\n\n成效初显\n\n" + "第二节的正文，" * 30 + "完。")
    doc = Document(id="d", name="n.txt", text=text, paragraphs=paragraphs)
    chunks = split_document(doc, 100, 10)
    assert chunks[0].headline == "齐心协力"
    assert chunks[-1].headline == "成效初显"
