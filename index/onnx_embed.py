"""The converted multilingual-e5-small on ONNX Runtime, without sentence-transformers or torch.

The model is exported once, with torch.onnx, from the converted sentence-transformers folder
(index/e5_convert.py) into the model cache: the encoder with its mean pooling and normalisation,
so that a vector is one `session.run`. Questions and passages are tokenised by the folder's own
`tokenizers` file with the same prompts (`query: ` / `passage: `) and length limit as
sentence-transformers. A query then needs neither torch nor transformers loaded, which is most of a
cold `qa ask`.

- `onnx` (float32): the same vectors as torch (cosine ≥ 0.99999, tests/test_runtime.py), so it shares
  torch's fingerprint: an index built by either is queried by either.
- `onnx-int8`: the float32 graph with its weights quantised to int8 (onnxruntime's dynamic
  quantisation, a scale per output channel, no calibration data); other vectors, so its own
  fingerprint.

Exporting needs torch and `onnx` (both installed with the project), once; answering needs only
onnxruntime. Where ONNX Runtime cannot load or the export fails, float32 falls back to torch with a
message saying why; int8 has no such fallback (its index's vectors are not torch's) and says so.
"""

import json
import logging
import os
import threading
import warnings
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from index.e5_convert import build_model_folder
from index.files import model_fingerprint

_log = logging.getLogger(__name__)
GRAPH = "model.onnx"
# int8 weights with a scale per output channel, not one per matrix: cosine to torch's vectors
# 0.9978 median (0.9959 at worst) on CMRC chunks, against 0.9874 (0.9829) per matrix, for the same
# size and speed. The name changes with the scheme, so a cache of the other is not reused.
INT8_SUFFIX = "-int8-channel"
# Copied beside the graph: the tokenizer, the prompts and the length limit it is run with.
_BESIDE = ("tokenizer.json", "config_sentence_transformers.json", "sentence_bert_config.json", "modules.json")


class RuntimeUnavailable(RuntimeError):
    """ONNX Runtime, or the exported model, cannot be loaded; the message says why."""


class OnnxEmbedder:
    """A sentence-transformers folder (mean pooling, normalised) run by ONNX Runtime."""

    def __init__(self, folder: Path, name: str, cache_dir: Path, int8: bool = False, fallback=None):
        self.folder, self.name, self.int8 = Path(folder), name, int8
        self._cache_dir = Path(cache_dir)
        self._fallback = fallback  # makes the torch embedder of the same folder, for float32
        self._loading, self._loaded = threading.Lock(), None
        self.dim = json.loads((self.folder / "config.json").read_text("utf-8"))["hidden_size"]

    @cached_property
    def fingerprint(self) -> str:
        if self.int8:  # the quantised weights themselves
            return model_fingerprint(self._exported, [GRAPH])
        return model_fingerprint(self.folder)  # float32: torch's own vectors, so torch's fingerprint

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._runtime.encode(list(texts), "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self._runtime.encode([text], "query")[0]

    @cached_property
    def _exported(self) -> Path:
        return export_onnx(self.folder, self._cache_dir, self.int8)

    def preload(self) -> None:
        """Load the session in the background: it takes a second, which a cold `qa ask` spends
        meanwhile on the index and jieba's dictionary (ONNX Runtime lets go of the GIL while loading).
        Not a daemon: a process that ends (say, on an error) while a session is half-made aborted."""
        threading.Thread(target=self._quietly_loaded, name="onnx-preload").start()

    def _quietly_loaded(self) -> None:
        try:
            self._runtime
        except Exception:
            pass  # raised again, or said, when a query needs the session

    @property
    def _runtime(self):
        with self._loading:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self):
        try:
            return _Session(self._exported)
        except (ImportError, OSError, RuntimeError, ValueError) as e:
            if self.int8 or self._fallback is None:
                raise RuntimeUnavailable(f"ONNX Runtime 无法加载 {self.name}（{_why(e)}）") from e
            _log.warning("ONNX Runtime 无法加载（%s），改用 torch 计算向量（向量相同，速度较慢）", _why(e))
            return _Torch(self._fallback())


class _Session:
    """One ONNX Runtime session and the tokenizer it is fed by."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        self.session = open_session(folder)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(_config(folder, "sentence_bert_config.json").get("max_seq_length", 512))
        self.prompts = _config(folder, "config_sentence_transformers.json").get("prompts", {})

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """One text a run. int8's dynamic quantisation scales activations over a whole batch, so in
        one a passage's vector depended on its batch-mates (CMRC hit@1 0.932 in batches of 32, 0.929
        of 4; torch 0.935); alone it is what it is, as a question is. Small batches are also faster
        here than torch's 32 (CMRC chunks, int8, 2 cores, passages/s by batch size 1: 31.9, 2: 36.5,
        4: 35.5, 8: 31.8, 16: 28.6, 32: 22.4)."""
        encoded = self.tokenizer.encode_batch([self.prompts.get(prompt, "") + t for t in texts])
        vectors = np.zeros((len(texts), self.session.get_outputs()[0].shape[-1]), dtype=np.float32)
        for n, encoding in enumerate(encoded):
            ids = np.array([encoding.ids], dtype=np.int64)
            vectors[n] = self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        return vectors


def open_session(folder: Path):
    """An ONNX Runtime session on `folder/model.onnx` as the runtime optimises it (fused attention,
    layer norm, GELU),
    optimised once per runtime version and kept beside the graph: optimising on every load was
    two thirds of loading it (1.8 s of 2.5 s in a cold `qa ask`, by cProfile)."""
    import onnxruntime

    optimized = folder / f"model.ort-{onnxruntime.__version__}.onnx"
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its own warnings are about the graph, not for the user
    # Threads that spin while waiting for work take the cores a busy neighbour needs, and then wait
    # for them. A seed question, int8, median of 40 with one busy loop per core beside it: 9.7 ms
    # spinning, 5.7 without; quiet, 3.6 and 6.4. The reader's batches: the same either way.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized.exists():
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        return onnxruntime.InferenceSession(str(optimized), options, providers=["CPUExecutionProvider"])
    # Extended, not all: the layout changes of "all" are made for the machine at hand at each load.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    staging = folder / f".{optimized.name}.{os.getpid()}.tmp"
    options.optimized_model_filepath = str(staging)
    session = onnxruntime.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])
    try:
        os.replace(staging, optimized)  # whole or not at all: the next load reads it
    except OSError:
        pass  # a read-only model cache: optimised again next time
    return session


class _Torch:
    """The torch embedder standing in for a session that could not load."""

    def __init__(self, embedder):
        self.embedder = embedder

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        return self.embedder.embed_query(texts[0])[None] if prompt == "query" else self.embedder.embed_passages(texts)


def export_onnx(folder: Path, cache_dir: Path, int8: bool = False) -> Path:
    """The folder's model as an ONNX graph in `cache_dir/exported` (float32, or int8 made from
    it), exported on first use and written whole or not at all."""
    name = f"{folder.name}-{model_fingerprint(folder)}-onnx"
    return exported_graph(cache_dir, name, lambda: _encoder(folder), ("embedding",), int8, [folder / n for n in _BESIDE])


def exported_graph(cache_dir: Path, name: str, module, outputs: tuple[str, ...], int8: bool = False,
                   beside: list[Path] = ()) -> Path:
    """`cache_dir/exported/NAME[INT8_SUFFIX]/model.onnx`: the torch module `module()` makes, taking
    input_ids and attention_mask, exported once with torch.onnx (int8: its float32 graph with
    int8 weights), with the files `beside` copied next to it; written whole or not at all."""
    target = Path(cache_dir) / "exported" / (name + (INT8_SUFFIX if int8 else ""))

    def write(staging: Path) -> None:
        with _quiet():  # the exporter's and the quantiser's notes are for the graph's authors
            if int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                source = exported_graph(cache_dir, name, module, outputs, beside=beside)
                quantize_dynamic(source / GRAPH, staging / GRAPH, weight_type=QuantType.QInt8, per_channel=True)
            else:
                _export(module(), outputs, staging / GRAPH)
        for path in beside:
            if path.exists():
                (staging / path.name).write_bytes(path.read_bytes())

    return build_model_folder(target, write, marker=GRAPH)


@contextmanager
def _quiet():
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _encoder(folder: Path):
    """The transformer, mean pooling over the attended tokens and normalisation: one vector a text."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a bar per model load

    class Encoder(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Encoder(AutoModel.from_pretrained(str(folder), local_files_only=True))


def _export(module, outputs: tuple[str, ...], path: Path) -> None:
    import torch

    example = (torch.tensor([[0, 6, 5, 2], [0, 7, 2, 1]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    dynamic |= {name: {0: "batch"} for name in outputs}
    with torch.no_grad():
        # The TorchScript exporter: the dynamo one needs onnxscript, and gives no faster graph here.
        torch.onnx.export(module.eval(), example, str(path), input_names=["input_ids", "attention_mask"],
                          output_names=list(outputs), dynamic_axes=dynamic, opset_version=17, dynamo=False)


def _config(folder: Path, name: str) -> dict:
    path = folder / name
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def _why(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
