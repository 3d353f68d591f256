"""Shared fixtures: a fake deterministic embedder for fast tests, the seed, temporary settings."""

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from index import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "000_4734283b9fcbc3a1.txt"
# How CI evaluates the seed set (eval/floor.json's configuration): set, k, retrieval mode, composer.
SEED_EVAL = ("eval/sets/seed.jsonl", 5, "hybrid", "rules")


def pytest_configure(config):
    """One model cache for the whole run, inherited by the servers tests start: the e5 model
    is converted once (~10 s, ~1 GB), not once per test module."""
    os.environ.setdefault("QA_MODEL_CACHE", tempfile.mkdtemp(prefix="qa-models-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """Until `qa serve` answers at url; its log in the error if it exits or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"qa serve exited: {log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"qa serve did not answer at {url}: {log.read_text()}")


class FakeEmbedder:
    """Hashes character bigrams into a unit vector: deterministic, instant, and texts that share
    words land near each other, so retrieval in unit tests behaves like a crude real one."""

    name = "fake/bigram-hash"
    dim = 64
    fingerprint = "fake0001"

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(-1, self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for i in range(max(len(text) - 1, 1)):
            digest = hashlib.md5(text[i : i + 2].encode()).digest()
            vector[digest[0] % self.dim] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector


def run_qa(argv: list[str]) -> int:
    """`qa` as the command line runs it, with the fake embedder in place of the model."""
    from cli import main
    from index.commands import Wiring

    return main(argv, Wiring(make_embedder=lambda settings: FakeEmbedder()))


NEW_ISSUE = "本期要闻：工行南沙支行上半年新增客户8888户。\n\n南沙支行积极拓展跨境金融服务，成效显著。"


class CountingEmbedder:
    """Wraps the fake embedder and counts what it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.embedded = inner, 0
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint

    def embed_passages(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path, docs_dir: Path) -> Settings:
    """With the fake embedder, the rules composer: these tests are about the index, not reading."""
    return Settings(docs_dir=docs_dir, home=tmp_path / "var", index_dir=tmp_path / "index").with_(composer="rules")


@pytest.fixture
def assistant(settings, fake_embedder):
    """The seed indexed with the fake embedder, answered by the rules composer."""
    from index import build_index
    from qa import Assistant

    build_index(settings, fake_embedder, progress=False)
    return Assistant(settings, fake_embedder)


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory):
    """The seed indexed with the real default embedder, once for every end-to-end test module."""
    from index import build_index, make_embedder
    from qa import Assistant

    home = tmp_path_factory.mktemp("e2e")
    settings = Settings(docs_dir=SEEDS, home=home, index_dir=home / "index")
    embedder = make_embedder(settings)
    build_index(settings, embedder, progress=False)
    return Assistant(settings, embedder)


@pytest.fixture(scope="session")
def seed_evaluation(real_assistant):
    """The seed set evaluated on the real model as SEED_EVAL says, once for the floor and the Milvus tests."""
    from eval import evaluate_config, load_set

    path, k, mode, composer = SEED_EVAL
    return evaluate_config(real_assistant, load_set(ROOT / path), k, mode, composer)
