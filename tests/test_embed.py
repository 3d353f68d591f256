"""Embedders: choosing one by name, the sentence-transformers embedder on the converted e5, and the
OpenVINO export (cached, atomic, one fingerprint per backend) — faked where OpenVINO is not needed."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from index import Settings, make_embedder
from index.e5_convert import ensure_e5_model
from index.embed import BACKENDS, EMBEDDERS, SentenceTransformerEmbedder
from index.files import files_fingerprint

TEXTS = ["上半年累计代销工银瑞信基金1096亿元。", "工行位列“世界500强”第24位。", "厦门分行比出自身特色。"]


# ---------------------------------------------------------------- choosing an embedder


def test_an_unknown_name_lists_the_choices():
    with pytest.raises(ValueError) as error:
        make_embedder(Settings().with_(embedder="no-such-model"))
    assert all(name in str(error.value) for name in EMBEDDERS)
    assert "e5-small-openvino-int8" in EMBEDDERS


def test_a_folder_without_config_json_is_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(FileNotFoundError, match="config.json"):
        make_embedder(Settings().with_(embedder=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="config.json"):
        SentenceTransformerEmbedder(tmp_path)


def test_an_unknown_backend_lists_the_choices(model_folder):
    with pytest.raises(ValueError) as error:
        SentenceTransformerEmbedder(model_folder, backend="tensorrt")
    assert all(backend in str(error.value) for backend in BACKENDS)


def test_openvino_without_optimum_intel_says_what_to_install(model_folder, monkeypatch):
    monkeypatch.setattr("index.embed._installed", lambda module: False)
    with pytest.raises(ImportError, match="optimum-intel"):
        SentenceTransformerEmbedder(model_folder, backend="openvino")


def test_names_pick_the_backend_and_export_nothing_yet(e5_settings, e5_folder, fake_export):
    plain = make_embedder(e5_settings.with_(embedder="e5-small"))
    assert (plain.backend, plain.name, plain.folder) == ("torch", "intfloat/multilingual-e5-small", e5_folder)
    for backend in ("openvino", "openvino-int8"):
        embedder = make_embedder(e5_settings.with_(embedder=f"e5-small-{backend}"))
        assert (embedder.backend, embedder.folder) == (backend, e5_folder)
        assert embedder.name == f"intfloat/multilingual-e5-small+{backend}"
    assert fake_export.calls == []  # exporting waits for the first vector or fingerprint


# ---------------------------------------------------------------- the converted e5 on torch


def test_e5_vectors_are_unit_length_and_384_wide(e5):
    passages = e5.embed_passages(TEXTS)
    query = e5.embed_query("代销基金多少？")
    assert e5.dim == 384
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert query.shape == (384,) and query.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    assert np.isclose(np.linalg.norm(query), 1, atol=1e-5)
    assert e5.embed_passages([]).shape == (0, 384)


def test_e5_queries_and_passages_get_their_own_prompts(e5, e5_folder):
    from sentence_transformers import SentenceTransformer

    text = TEXTS[0]
    query, passage = e5.embed_query(text), e5.embed_passages([text])[0]
    assert float(query @ passage) < 0.999  # the same text, embedded differently
    model = SentenceTransformer(str(e5_folder), device="cpu", local_files_only=True)  # the same folder, as anyone loads it
    as_query = model.encode(["query: " + text], normalize_embeddings=True)[0]
    as_passage = model.encode(["passage: " + text], normalize_embeddings=True)[0]
    assert np.allclose(query, as_query, atol=1e-5)
    assert np.allclose(passage, as_passage, atol=1e-5)


def test_e5_fingerprint_is_stable_and_hashes_the_files(e5, e5_folder):
    again = SentenceTransformerEmbedder(e5_folder)
    assert again.fingerprint == e5.fingerprint
    weights = [p for p in e5_folder.rglob("*") if p.suffix in (".safetensors", ".bin", ".json")]
    assert e5.fingerprint == files_fingerprint(weights)


# ---------------------------------------------------------------- OpenVINO export, faked


def test_export_goes_into_the_cache_once(model_folder, tmp_path, fake_export):
    cache = tmp_path / "cache"
    first = SentenceTransformerEmbedder(model_folder, backend="openvino", cache_dir=cache)
    fingerprint = first.fingerprint
    second = SentenceTransformerEmbedder(model_folder, backend="openvino", cache_dir=cache)
    assert second.fingerprint == fingerprint
    assert len(fake_export.calls) == 1
    (exported,) = (cache / "exported").iterdir()  # nothing else: no staging folder left behind
    assert exported.name.startswith(f"{model_folder.name}-") and exported.name.endswith("-openvino")
    assert (exported / "modules.json").exists()
    assert fake_export.calls[0]["backend"] == "openvino" and fake_export.calls[0]["device"] == "cpu"


def test_each_backend_has_its_own_fingerprint(model_folder, tmp_path, fake_export):
    cache = tmp_path / "cache"
    fingerprints = {
        backend: SentenceTransformerEmbedder(model_folder, backend=backend, cache_dir=cache).fingerprint
        for backend in BACKENDS
    }
    assert len(set(fingerprints.values())) == len(BACKENDS)
    int8 = [c for c in fake_export.calls if c["model_kwargs"].get("quantization_config")]
    assert len(int8) == 1 and int8[0]["model_kwargs"]["quantization_config"].bits == 8


def test_torch_fingerprint_is_unchanged_by_exports(model_folder, tmp_path, fake_export):
    before = SentenceTransformerEmbedder(model_folder).fingerprint
    _ = SentenceTransformerEmbedder(model_folder, backend="openvino", cache_dir=tmp_path / "cache").fingerprint
    assert SentenceTransformerEmbedder(model_folder).fingerprint == before
    assert before == files_fingerprint([model_folder / "config.json", model_folder / "model.safetensors"])


@pytest.mark.parametrize("error", [OSError("disk full"), RuntimeError("export failed")])
def test_a_failed_export_leaves_no_folder(model_folder, tmp_path, fake_export, error):
    fake_export.fail_with = error
    embedder = SentenceTransformerEmbedder(model_folder, backend="openvino", cache_dir=tmp_path / "cache")
    with pytest.raises(type(error)):
        _ = embedder.fingerprint
    assert list((tmp_path / "cache" / "exported").iterdir()) == []
    fake_export.fail_with = None
    fingerprint = embedder.fingerprint  # the next try exports afresh ...
    assert len(list((tmp_path / "cache" / "exported").iterdir())) == 1
    fresh = SentenceTransformerEmbedder(model_folder, backend="openvino", cache_dir=tmp_path / "fresh")
    assert fingerprint == fresh.fingerprint  # ... the same export as one that never failed


# ---------------------------------------------------------------- OpenVINO for real


def test_openvino_int8_keeps_e5s_vectors(e5, e5_folder, tmp_path):
    pytest.importorskip("optimum.intel", reason="optimum-intel[openvino] is not installed")
    int8 = SentenceTransformerEmbedder(e5_folder, backend="openvino-int8", cache_dir=tmp_path / "cache")
    passages, query = int8.embed_passages(TEXTS), int8.embed_query("代销基金多少？")
    assert int8.dim == 384
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-4)
    assert (passages * e5.embed_passages(TEXTS)).sum(axis=1).min() > 0.999
    assert float(query @ e5.embed_query("代销基金多少？")) > 0.999
    again = SentenceTransformerEmbedder(e5_folder, backend="openvino-int8", cache_dir=tmp_path / "cache")
    assert again.fingerprint == int8.fingerprint != e5.fingerprint


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def e5_settings(tmp_path_factory) -> Settings:
    """Settings whose model cache holds the converted e5 ($QA_MODEL_CACHE if set: converting takes ~30 s)."""
    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home, docs_dir=home / "docs", index_dir=home / "index")
    ensure_e5_model(settings.model_cache, progress=False)
    return settings


@pytest.fixture(scope="session")
def e5_folder(e5_settings) -> Path:
    return ensure_e5_model(e5_settings.model_cache, progress=False)


@pytest.fixture(scope="session")
def e5(e5_settings):
    return make_embedder(e5_settings.with_(embedder="e5-small"), device="cpu")


@pytest.fixture
def model_folder(tmp_path) -> Path:
    """A stand-in model folder: enough for the constructor and the torch fingerprint."""
    folder = tmp_path / "tiny-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


@pytest.fixture
def fake_export(monkeypatch):
    """SentenceTransformer(..., backend="openvino") without OpenVINO: save() writes what an export
    writes, int8 weights different from float ones; each construction is recorded."""

    class FakeSentenceTransformer:
        calls: list[dict] = []
        fail_with: Exception | None = None

        def __init__(self, folder, device=None, backend="torch", local_files_only=False, model_kwargs=None):
            self.model_kwargs = model_kwargs or {}
            FakeSentenceTransformer.calls.append(
                {"folder": folder, "device": device, "backend": backend, "model_kwargs": self.model_kwargs}
            )

        def save(self, path):
            folder = Path(path) / "openvino"
            folder.mkdir(parents=True)
            (Path(path) / "modules.json").write_text("[]")
            if self.fail_with:
                raise self.fail_with
            int8 = self.model_kwargs.get("quantization_config") is not None
            (folder / "openvino_model.bin").write_bytes(b"int8 weights" if int8 else b"float weights")
            (folder / "openvino_model.xml").write_text("<net/>")

    optimum_intel = types.ModuleType("optimum.intel")
    optimum_intel.OVWeightQuantizationConfig = lambda bits: types.SimpleNamespace(bits=bits)
    monkeypatch.setitem(sys.modules, "optimum.intel", optimum_intel)
    monkeypatch.setitem(sys.modules, "optimum", sys.modules.get("optimum") or types.ModuleType("optimum"))
    monkeypatch.setattr("sentence_transformers.SentenceTransformer", FakeSentenceTransformer)
    monkeypatch.setattr("index.embed._installed", lambda module: True)
    FakeSentenceTransformer.calls = []
    return FakeSentenceTransformer
