"""The citation check: what a reader is shown is in the passage it cites, or it is not shown."""

from index.records import Chunk
from qa.check import NOT_FOUND, check_citations, check_generated
from qa.records import Answer, Citation, Hit

TEXTS = [
    "上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元，个人新规理财产品规模达到6150亿元。",
    "个贷资产质量经受住疫情的考验，个贷不良率0.39%，按揭贷款不良率0.29%，好于预期并保持优良水平。",
]
HITS = [
    Hit(Chunk(id=i, doc_id="d", doc_name="issue.txt", position=i, text=t, start=0, end=len(t), headline="标题"), 1.0)
    for i, t in enumerate(TEXTS)
]


def _answer(citations):
    text = "".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(question="问", text=text, citations=tuple(citations), passages=tuple(HITS))


def test_a_quote_that_stands_in_its_passage_is_kept():
    good = Citation(n=2, chunk=HITS[1].chunk, quote="个贷不良率0.39%，按揭贷款不良率0.29%，")
    assert check_citations(_answer([good])).citations == (good,)


def test_a_quote_that_is_not_in_its_passage_is_dropped_with_its_claim():
    good = Citation(n=1, chunk=HITS[0].chunk, quote="工银瑞信基金1096亿元，")
    invented = Citation(n=2, chunk=HITS[1].chunk, quote="个贷不良率0.10%")
    checked = check_citations(_answer([good, invented]))
    assert checked.citations == (good,)
    assert "0.10%" not in checked.text and checked.warnings


def test_a_citation_of_a_passage_not_shown_is_dropped():
    beyond = Citation(n=5, chunk=HITS[0].chunk, quote="工银瑞信基金1096亿元")
    checked = check_citations(_answer([beyond]))
    assert checked.abstained and checked.text == NOT_FOUND


def test_generated_sentences_keep_only_the_citations_that_carry_them():
    text = "1096亿元。上半年代销工银瑞信基金1096亿元 [1][2]。个贷不良率为0.39% [2]。"
    checked = check_generated("代销工银瑞信基金多少？", text, HITS)
    assert [c.n for c in checked.citations] == [1, 2]
    assert "[1]" in checked.text and "[1][2]" not in checked.text.replace(" ", "")
    assert checked.short == "1096亿元"
    for c in checked.citations:
        assert c.quote in c.chunk.full_text


def test_a_generated_claim_without_support_is_dropped():
    text = "上半年代销工银瑞信基金1096亿元 [1]。工行员工总数为45万人，居全球首位 [1]。"
    checked = check_generated("代销多少？", text, HITS)
    assert "45万人" not in checked.text
    assert any("无法在所引段落中核实" in w for w in checked.warnings)


def test_figures_in_no_cited_passage_are_flagged():
    text = "上半年代销工银瑞信基金1096亿元、工银安盛保险195亿元，合计1291亿元 [1]。"
    checked = check_generated("代销多少？", text, HITS)
    assert any("1291" in w for w in checked.warnings)


def test_citations_of_unknown_passages_and_the_not_found_reply():
    assert check_generated("问", "工银瑞信基金1096亿元 [9]。", HITS).abstained
    assert check_generated("问", NOT_FOUND, HITS).abstained


def test_a_marker_after_the_full_stop_cites_the_sentence_before_it():
    checked = check_generated("代销多少？", "上半年代销工银瑞信基金1096亿元。[1] 个贷不良率0.39%。【2】", HITS)
    assert [c.n for c in checked.citations] == [1, 2]
    assert "1096亿元" in checked.citations[0].quote and "0.39%" in checked.citations[1].quote
