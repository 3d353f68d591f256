import re

from index.clean import clean, line_width, squeeze_spaces
from tests.conftest import SEED_FILE


def _seed():
    return clean(SEED_FILE.read_text("utf-8"))


def test_no_character_is_lost_or_reordered():
    raw = SEED_FILE.read_text("utf-8")
    text, _ = _seed()
    assert re.sub(r"\s", "", text) == re.sub(r"\s", "", raw)


def test_paragraph_offsets_point_into_the_text():
    text, paragraphs = _seed()
    for p in paragraphs:
        assert text[p.start : p.start + len(p.text)] == p.text


def test_seed_paragraphs_are_pinned():
    text, paragraphs = _seed()
    assert len(paragraphs) == 52
    assert "上半年累计代销工银安盛保险195亿元、工银瑞信基金1096亿元，个人新规理财产品规模达到6150亿元。" in text
    assert "个贷资产质量经受住疫情的考验，个贷不良率0.39%，按揭贷款不良率0.29%" in text
    body = [p.text for p in paragraphs if not p.is_heading]
    assert body[0].startswith("2019年年中，总行党委高屋建瓴") and body[0].endswith("领先地位的基础。")
    assert any(p.startswith("坚持风控强基") for p in body)


def test_seed_headings_are_found():
    _, paragraphs = _seed()
    headings = [p.text for p in paragraphs if p.is_heading]
    for expected in ["齐心协力", "战略落地稳扎稳打", "成效初显", "个金业务再创佳绩", "坚定不移", "战略实施向纵深推进"]:
        assert expected in headings
    assert "扬帆起航正当时 战略引领谱华章" in headings
    assert all(len(h) <= 30 for h in headings)


def test_page_markers_stand_alone():
    _, paragraphs = _seed()
    markers = [p.text for p in paragraphs if "版" in p.text and p.text.startswith("◀")]
    assert markers == ["◀ 第三版 ▶", "◀ 第二版 ▶", "◀ 第四版 ▶"]


def test_stray_spaces_between_chinese_and_digits_go():
    assert squeeze_spaces("工银安盛保险 195亿元") == "工银安盛保险195亿元"
    assert squeeze_spaces("截至 2020年 6月末") == "截至2020年6月末"
    assert squeeze_spaces("美国 《财富》 杂志") == "美国《财富》杂志"
    assert squeeze_spaces("同比提升 371%，挽回") == "同比提升371%，挽回"


def test_meaningful_spaces_stay():
    assert squeeze_spaces("扬帆起航正当时 战略引领谱华章") == "扬帆起航正当时 战略引领谱华章"
    assert squeeze_spaces("Fortune Global 500") == "Fortune Global 500"


def test_hard_wrapped_lines_join_and_short_lines_end_paragraphs():
    raw = "\n\n".join(
        ["  第一段开头缩进两个字符的", "正文内容一直写到这一行的", "末尾。", "  第二段同样缩进了两个字", "符并且结束。"]
    )
    text, paragraphs = clean(raw)
    assert [p.text for p in paragraphs] == ["第一段开头缩进两个字符的正文内容一直写到这一行的末尾。", "第二段同样缩进了两个字符并且结束。"]
    assert text == "\n".join(p.text for p in paragraphs)


def test_digits_count_narrower_than_han():
    assert line_width("一二三") == 3
    assert line_width("12") < 2


def test_empty_text_has_no_paragraphs():
    assert clean(" \n\n \n") == ("", ())
