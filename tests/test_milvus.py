"""The index on Milvus (index/milvus.py) against milvus-lite started here: the same build, update,
verify and answers as on FAISS; migration both ways; the manifest in the collection."""

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest
from pymilvus import MilvusClient

from eval import evaluate_config, load_set
from index import (
    Settings,
    StoreUnavailable,
    build_index,
    current_generation,
    migrate_index,
    open_index,
    read_manifest,
    update_index,
    verify_index,
)
from index.config import parse_store
from index.milvus import release
from qa import Assistant
from tests.conftest import run_qa
from tests.conftest import NEW_ISSUE, ROOT, SEED_EVAL, CountingEmbedder

QUESTIONS = ["上半年代销工银瑞信基金多少？", "个贷不良率是多少？", "工行位列世界500强第几位？", "厦门分行"]


@pytest.fixture
def lite(tmp_path):
    """A milvus-lite file in this test's folder; its server (in this process) stops afterwards."""
    uri = f"milvus://{tmp_path}/qa.db/chunks"
    yield uri
    release(parse_store(uri))


@pytest.fixture
def milvus(settings, lite) -> Settings:
    return settings.with_(store=lite)


@pytest.fixture
def embedder(fake_embedder):
    return CountingEmbedder(fake_embedder)


def _collection(settings: Settings) -> tuple[MilvusClient, str]:
    location = settings.store_location
    return MilvusClient(uri=str(location.path)), location.collection


def _texts(settings: Settings) -> list[str]:
    return [c.text for c in open_index(settings).store.chunks()]


def test_store_uris_parse_or_say_what_is_accepted():
    assert Settings(store="", index_dir=None).store_location.path == Settings().home / "index"
    assert parse_store("faiss://var/x").path.as_posix() == "var/x"
    lite = parse_store("var/qa.db")
    assert (lite.engine, lite.path.as_posix(), lite.collection) == ("milvus", "var/qa.db", "newsletter_qa")
    assert parse_store("milvus:///srv/qa.db/issues").collection == "issues"
    server = parse_store("milvus://milvus.internal:19530/prod/issues")
    assert (server.server, server.database, server.collection) == ("http://milvus.internal:19530", "prod", "issues")
    assert parse_store("milvus+https://in01.example.com/issues").server == "https://in01.example.com:19530"
    assert parse_store(server.uri) == server
    for bad in ("redis://host/x", "milvus://", "milvus://host:19530/bad-name", "faiss://"):
        with pytest.raises(ValueError, match="存储地址"):
            parse_store(bad)


def test_build_gives_the_same_index_as_faiss(settings, milvus, fake_embedder):
    report = build_index(milvus, fake_embedder, progress=False)
    build_index(settings, fake_embedder, progress=False)
    on_milvus, on_faiss = open_index(milvus), open_index(settings)
    assert report.chunks == read_manifest(milvus).chunk_count == on_milvus.store.count() == on_faiss.store.count()
    assert on_milvus.store.chunks() == on_faiss.store.chunks()  # same rows, same order
    for mine, theirs in zip(on_milvus.keyword_rows, on_faiss.keyword_rows):
        assert all(np.array_equal(a, b) for a, b in zip(mine, theirs))
    for question in QUESTIONS:
        query = fake_embedder.embed_query(question)
        dense_milvus, dense_faiss = on_milvus.store.search(query, 5), on_faiss.store.search(query, 5)
        assert [c.id for c, _ in dense_milvus] == [c.id for c, _ in dense_faiss]
        assert np.allclose([s for _, s in dense_milvus], [s for _, s in dense_faiss], atol=1e-5)
    assert verify_index(milvus, fake_embedder) == []
    assert on_milvus.store.info()["engine"] == "milvus"
    assert on_milvus.store.info()["kind"] == on_faiss.store.info()["kind"] == "flat"  # both exact


def test_updates_embed_only_what_changed_and_leave_no_rows_behind(milvus, embedder):
    build_index(milvus, embedder, progress=False)
    seed = read_manifest(milvus).chunk_count
    embedder.embedded = 0
    assert not update_index(milvus, embedder, progress=False).changed and embedder.embedded == 0

    (milvus.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    report = update_index(milvus, embedder, progress=False)
    assert report.added == ["002.txt"] and embedder.embedded == report.chunks - seed
    assert any("8888户" in t for t in _texts(milvus))

    (milvus.docs_dir / "002.txt").write_text("更正：南沙支行上半年新增客户7777户。", "utf-8")
    assert update_index(milvus, embedder, progress=False).replaced == ["002.txt"]
    texts = _texts(milvus)
    assert not any("8888户" in t for t in texts) and any("7777户" in t for t in texts)
    assert verify_index(milvus, embedder) == []

    (milvus.docs_dir / "002.txt").unlink()
    assert update_index(milvus, embedder, progress=False).removed == ["002.txt"]
    assert open_index(milvus).store.count() == read_manifest(milvus).chunk_count == seed  # the old rows are gone
    assert verify_index(milvus, embedder) == []


def test_the_manifest_lives_with_the_collection(milvus, embedder):
    build_index(milvus, embedder, progress=False)
    client, name = _collection(milvus)
    pointer = json.loads(client.get(f"{name}_manifest", ids=["current"])[0]["value"])
    assert current_generation(milvus).endswith(pointer["generation"])
    # Nothing on this machine is needed to read or update it: the lock folder can go.
    assert not any(milvus.index_path.glob("gen-*"))
    shutil.rmtree(milvus.index_path)
    embedder.embedded = 0
    manifest = read_manifest(milvus)
    assert "000_4734283b9fcbc3a1.txt" in manifest.documents and manifest.embedder == embedder.name
    assert not update_index(milvus, embedder, progress=False).changed and embedder.embedded == 0
    # Another model is refused on the Milvus store as on FAISS.
    embedder.fingerprint = "another"
    assert any("当前模型" in p for p in verify_index(milvus, embedder))
    # Another process opens the file once this one lets it go: the index is all in it.
    release(milvus.store_location)
    env = {**os.environ, "QA_STORE": milvus.store, "QA_INDEX_DIR": str(milvus.index_path)}
    status = subprocess.run(
        [sys.executable, "-m", "cli", "index", "status", "--json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert json.loads(status.stdout)["documents"] == {name: asdict(e) for name, e in manifest.documents.items()}


def test_verify_names_what_is_wrong_and_an_update_repairs_strays(milvus, embedder):
    build_index(milvus, embedder, progress=False)
    client, name = _collection(milvus)
    victim = open_index(milvus).store.chunks()[-1]
    client.delete(name, ids=[victim.id])
    assert any("段落行" in p and "清单记录" in p for p in verify_index(milvus, embedder))
    update_index(milvus, embedder, progress=False, full=True)
    assert verify_index(milvus, embedder) == []
    stray = {"id": 7, "doc_id": "f" * 64, "row": "{}", "tokens": "", "vector": [0.0] * embedder.dim}
    client.insert(name, [stray])  # a row no manifest knows, as a writer that crashed leaves it
    assert any("清单记录" in p for p in verify_index(milvus, embedder))
    (milvus.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")
    update_index(milvus, embedder, progress=False)
    assert verify_index(milvus, embedder) == []


def test_a_writer_that_dies_before_the_commit_leaves_the_old_index(milvus, embedder, monkeypatch):
    build_index(milvus, embedder, progress=False)
    before, generation = read_manifest(milvus), current_generation(milvus)
    assistant = Assistant(milvus, embedder)
    assistant.answer("上半年代销工银瑞信基金多少？")
    (milvus.docs_dir / "002.txt").write_text(NEW_ISSUE, "utf-8")

    import index.milvus

    meta = index.milvus._meta

    def die_at_commit(key, value):
        if key == index.milvus.CURRENT:
            raise RuntimeError("killed")
        return meta(key, value)

    monkeypatch.setattr(index.milvus, "_meta", die_at_commit)
    with pytest.raises(RuntimeError):
        update_index(milvus, embedder, progress=False)
    monkeypatch.undo()
    # The new document's rows are in the collection, but no reader sees them.
    assert read_manifest(milvus) == before and current_generation(milvus) == generation
    assert open_index(milvus).store.count() == before.chunk_count  # the index's vectors, as on FAISS
    answer = assistant.answer("南沙支行新增客户多少户？", mode="dense")
    assert all("8888户" not in hit.chunk.text for hit in answer.passages)
    assert any("清单记录" in p for p in verify_index(milvus, embedder))
    update_index(milvus, embedder, progress=False)
    assert verify_index(milvus, embedder) == []
    answer = assistant.answer("南沙支行新增客户多少户？")  # the reader picks up the new generation
    assert "8888户" in answer.text


def test_migrate_faiss_to_milvus_and_back_without_embedding(settings, lite, tmp_path, fake_embedder, capsys, monkeypatch):
    build_index(settings, fake_embedder, progress=False)
    report = migrate_index(settings, lite)
    assert (report.documents, report.chunks) == (1, read_manifest(settings).chunk_count)
    milvus = settings.with_(store=lite)
    assert read_manifest(milvus) == read_manifest(settings)
    assert verify_index(milvus, fake_embedder) == []

    monkeypatch.setenv("QA_STORE", lite)
    assert run_qa(["index", "migrate", "--to", f"faiss://{tmp_path / 'back'}"]) == 0
    assert "未重新嵌入" in capsys.readouterr().out
    back = Settings(docs_dir=settings.docs_dir, home=settings.home, store=f"faiss://{tmp_path / 'back'}", index_dir=None)
    assert back.index_path == tmp_path / "back"
    assert read_manifest(back) == read_manifest(settings) and verify_index(back, fake_embedder) == []
    original, copied = open_index(settings), open_index(back)
    assert copied.store.chunks() == original.store.chunks()
    query = fake_embedder.embed_query(QUESTIONS[0])
    assert copied.store.search(query, 5) == original.store.search(query, 5)
    with pytest.raises(ValueError, match="同一个"):
        migrate_index(milvus, lite)


def test_cli_on_milvus_and_a_folder_of_its_own_collection(settings, lite, fake_embedder, capsys, monkeypatch):
    monkeypatch.setenv("QA_STORE", lite)
    monkeypatch.setenv("QA_HOME", str(settings.home))
    assert run_qa(["index", "build", "--docs", str(settings.docs_dir)]) == 0
    assert "milvus://" in capsys.readouterr().out
    assert run_qa(["index", "status", "--json", "--docs", str(settings.docs_dir)]) == 0
    store = json.loads(capsys.readouterr().out)["store"]
    assert store.startswith(lite + "_")  # another documents folder, another collection
    assert run_qa(["index", "verify", "--docs", str(settings.docs_dir)]) == 0
    assert "索引完整" in capsys.readouterr().out
    assert run_qa(["ask", "个贷不良率是多少？", "--json", "--docs", str(settings.docs_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["short"] == "0.39%"


def test_a_milvus_server_by_address(settings, tmp_path, fake_embedder):
    """The code path a cluster takes: gRPC to HOST:PORT (here milvus-lite's server on this machine)."""
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(data_dir=str(tmp_path / "server"), host="127.0.0.1", port=0)
    uri = f"milvus://127.0.0.1:{port}/issues"
    try:
        on_server = settings.with_(store=uri)
        build_index(on_server, fake_embedder, progress=False)
        assert verify_index(on_server, fake_embedder) == []
        answer = Assistant(on_server, fake_embedder).answer("个贷不良率是多少？")
        assert answer.short == "0.39%"
    finally:
        release(parse_store(uri))
        server.stop(grace=0)
        db.close()


def test_a_bad_or_unreachable_store_is_a_message(settings, tmp_path, fake_embedder, capsys, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = settings.with_(store=f"milvus://127.0.0.1:{closed}/issues")
    with pytest.raises(StoreUnavailable, match="无法连接 Milvus"):
        read_manifest(unreachable)
    assert any("无法连接" in p for p in verify_index(unreachable, fake_embedder))
    for store, message in [(f"milvus://127.0.0.1:{closed}/issues", "无法连接"), ("redis://cache/x", "无法识别的索引存储地址")]:
        monkeypatch.setenv("QA_STORE", store)
        assert run_qa(["index", "status"]) == 1
        assert message in capsys.readouterr().err


def test_a_milvus_lite_file_in_use_by_another_process_is_named(settings, tmp_path, fake_embedder):
    path = tmp_path / "busy.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from pymilvus import MilvusClient; MilvusClient({str(path)!r}); print('ready', flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        busy = settings.with_(store=f"milvus://{path}/chunks")
        with pytest.raises(StoreUnavailable, match="只能由一个进程打开"):
            build_index(busy, fake_embedder, progress=False)
    finally:
        holder.communicate("\n", timeout=30)
        release(parse_store(f"milvus://{path}/chunks"))


def _parity_questions() -> list:
    """Every sixth seed question, and the first of each kind it would miss: every kind of
    question (unanswerable ones too) at a sixth of the full set's time on either engine."""
    questions = load_set(ROOT / SEED_EVAL[0])
    picked = questions[::6]
    kinds = {q.kind for q in picked}
    for q in questions:
        if q.kind not in kinds:
            picked.append(q)
            kinds.add(q.kind)
    return picked


def test_the_seed_eval_gives_the_same_figures_on_faiss_and_milvus(real_assistant, tmp_path):
    """Real embedder and real questions; the seed index copied into milvus-lite, not embedded again."""
    uri = f"milvus://{tmp_path}/e2e.db/seed"
    questions = _parity_questions()
    try:
        migrate_index(real_assistant.settings, uri)
        on_milvus = Assistant(real_assistant.settings.with_(store=uri), real_assistant.embedder)
        # Hybrid: Milvus's dense search and the keyword index beside it, fused, against FAISS's.
        faiss_run = evaluate_config(real_assistant, questions, *SEED_EVAL[1:])
        faiss_summary, faiss_outcomes = faiss_run.summary, faiss_run.outcomes
        on_milvus_run = evaluate_config(on_milvus, questions, *SEED_EVAL[1:])
        milvus_summary, milvus_outcomes = on_milvus_run.summary, on_milvus_run.outcomes
        scores = [k for k in faiss_summary if not k.startswith("latency")]
        assert {k: round(faiss_summary[k], 3) for k in scores} == {k: round(milvus_summary[k], 3) for k in scores}
        assert [(o.rank, o.got) for o in faiss_outcomes] == [(o.rank, o.got) for o in milvus_outcomes]
    finally:
        release(parse_store(uri))
