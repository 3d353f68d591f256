"""The e5 model on ONNX Runtime (index/onnx_embed.py): torch's vectors and fingerprint in float32,
its own in int8, exported once; a cold `qa ask` without torch; torch, said so, when the runtime
cannot load."""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from index import Settings, make_embedder
from index.files import model_fingerprint
from index.onnx_embed import RuntimeUnavailable
from tests.conftest import ROOT, SEEDS

TEXTS = ["上半年累计代销工银瑞信基金1096亿元。", "工行位列“世界500强”第24位。", "厦门分行比出自身特色。", "短"]
QUESTION = "上半年代销工银瑞信基金多少？"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()  # the run's model cache ($QA_MODEL_CACHE, tests/conftest.py)


@pytest.fixture(scope="module")
def torch_e5(settings):
    return make_embedder(settings.with_(embedder="e5-small"), device="cpu")


def test_float32_gives_torch_s_vectors_so_it_shares_torch_s_fingerprint(settings, torch_e5):
    onnx = make_embedder(settings.with_(embedder="e5-small-onnx"))
    passages, query = onnx.embed_passages(TEXTS), onnx.embed_query(QUESTION)
    assert passages.shape == (4, 384) and passages.dtype == np.float32 and onnx.dim == 384
    assert (passages * torch_e5.embed_passages(TEXTS)).sum(axis=1).min() > 0.99999
    assert float(query @ torch_e5.embed_query(QUESTION)) > 0.99999
    assert onnx.fingerprint == torch_e5.fingerprint
    assert onnx.embed_passages([]).shape == (0, 384)


def test_int8_is_close_but_its_own_model(settings, torch_e5):
    int8 = make_embedder(settings.with_(embedder="e5-small-onnx-int8"))
    assert (int8.embed_passages(TEXTS) * torch_e5.embed_passages(TEXTS)).sum(axis=1).min() > 0.98
    assert int8.fingerprint != torch_e5.fingerprint


def test_the_graph_is_exported_once(settings, monkeypatch):
    make_embedder(settings.with_(embedder="e5-small-onnx")).embed_query(QUESTION)  # exported by now
    monkeypatch.setattr("index.onnx_embed._export", lambda *a: pytest.fail("exported again"))
    assert make_embedder(settings.with_(embedder="e5-small-onnx")).embed_query(QUESTION).shape == (384,)


def test_a_runtime_that_cannot_load_falls_back_to_torch_and_says_why(settings, torch_e5, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails
    onnx = make_embedder(settings.with_(embedder="e5-small-onnx"))
    with caplog.at_level(logging.WARNING):
        query = onnx.embed_query(QUESTION)
    assert "ONNX Runtime 无法加载" in caplog.text and "改用 torch" in caplog.text
    assert float(query @ torch_e5.embed_query(QUESTION)) > 0.99999
    with pytest.raises(RuntimeUnavailable, match="ONNX Runtime 无法加载"):  # int8's vectors are not torch's
        make_embedder(settings.with_(embedder="e5-small-onnx-int8")).embed_query(QUESTION)


def test_a_cold_ask_loads_neither_torch_nor_what_only_indexing_needs(real_assistant):
    """`qa ask` in a fresh process answers from the index without importing what only indexing
    or torch needs (pandas: only for a vocabulary of millions of tokens; httpx: only to generate):
    most of a cold start was importing them."""
    probe = (
        "import sys, cli; code = cli.main(sys.argv[1:]); "
        "print([m for m in ('torch', 'sentence_transformers', 'transformers', 'langchain_text_splitters', 'pandas', 'httpx') "
        "if m in sys.modules]); "
        "sys.exit(code)"
    )
    settings = real_assistant.settings
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", probe, "ask", QUESTION, "--docs", str(SEEDS), "--index-dir", str(settings.index_dir), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    answer, _, loaded = done.stdout.rstrip("\n").rpartition("\n")  # the answer's JSON, then the modules
    assert "1096亿元" in json.loads(answer)["text"]
    assert loaded == "[]"


def test_a_model_s_fingerprint_is_kept_until_a_file_changes(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    first = model_fingerprint(tmp_path)
    assert json.loads((tmp_path / ".fingerprint").read_text())["fingerprint"] == first
    assert model_fingerprint(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert model_fingerprint(tmp_path) != first


def test_int8_made_first_leaves_a_whole_float32_folder_beside_it(tmp_path, monkeypatch):
    """int8 is quantised from the float32 export, which it makes first when there is none: that
    one must be whole too (its tokenizer beside it), not just its graph."""
    import onnx
    from onnx import TensorProto, helper

    from index.onnx_embed import GRAPH, exported_graph

    def tiny_graph(module, outputs, path):  # one MatMul: enough for the quantiser, no torch
        weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.eye(4, dtype=np.float32).ravel().tolist())
        node = helper.make_node("MatMul", ["x", "w"], [outputs[0]])
        graph = helper.make_graph([node], "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                  [helper.make_tensor_value_info(outputs[0], TensorProto.FLOAT, [1, 4])], [weight])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))

    monkeypatch.setattr("index.onnx_embed._export", tiny_graph)
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text("{}")
    int8 = exported_graph(tmp_path / "cache", "tiny-onnx", lambda: None, ("y",), int8=True, beside=[tokenizer])
    float32 = tmp_path / "cache" / "exported" / "tiny-onnx"
    for folder in (int8, float32):
        assert (folder / GRAPH).exists() and (folder / "tokenizer.json").read_text() == "{}"
