"""The stored index in Milvus (pymilvus): a server or cluster, or a milvus-lite file for one process.

A collection holds the chunks, one row each: the chunk row (as a FAISS segment stores it), its
vector and its keyword token ids. Beside it, `<collection>_manifest` holds the manifest, written
in parts under a generation name, and the row `current` that names the committed generation:
upserting that one row is the commit, so the manifest a reader gets is the old one or the new
one, never a mix. New documents' rows are written before the commit, retired documents' rows
deleted after it. A reader keeps its generation's chunk rows in memory and asks Milvus only for
vectors, dropping any row of another generation, so neither half-step shows in its answers.

The keyword side stays beside Milvus: each reader builds the BM25 matrix (qa/keyword.py) from the
token ids stored with the rows, exactly as from FAISS segments. Milvus's own full-text BM25 was
measured and not chosen (README, Milvus).
"""

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict

import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.client.types import Status
from pymilvus.exceptions import MilvusException

from index.config import StoreLocation
from index.errors import REPAIR, IndexCorrupt, IndexMissing, StoreUnavailable
from index.folder import writer_lock
from index.integrity import segment_problems
from index.records import Chunk, DocumentEntry, Manifest, Segment, StoredIndex, chunk_from_row, chunk_row

# milvus-lite logs a failed start with a traceback; the error raised here says it in words.
logging.getLogger("milvus_lite").addHandler(logging.NullHandler())


def _no_session_ts(record: logging.LogRecord) -> bool:
    """milvus-lite (file or server) has no MVCC timestamp to start an iterator at; pymilvus
    warns on every read, and falls back to the client's clock, which is all it needs."""
    return "mvccTs" not in record.getMessage()


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_no_session_ts)

CURRENT = "current"  # the manifest collection's row naming the committed generation
VARCHAR_BYTES = 65_535  # Milvus's largest VARCHAR
PART_CHARS = 60_000  # manifest JSON per row, written as ASCII so characters are bytes
MAX_TOKENS = VARCHAR_BYTES // 4 * 3 // 8  # 8-byte token ids, base64, in one VARCHAR: 6,143
BATCH = 512  # rows per insert or read
MAX_LIMIT = 16_384  # Milvus's largest top-k
CONNECT_TIMEOUT = 10.0
# The milvus-lite server in this process rejects pymilvus's 10-second keep-alive pings
# ("too_many_pings") and drops the connection; a local server needs none.
_LITE_GRPC = {"grpc.keepalive_time_ms": 3_600_000, "grpc.keepalive_permit_without_calls": False}

_clients: dict[tuple, MilvusClient] = {}
_clients_lock = threading.Lock()
# Manifest collections seen to exist and loaded: looked up once, not before every question (asking
# a missing one makes pymilvus log an error, where a store with no index yet is nothing wrong).
_present: set[tuple] = set()


class MilvusBackend:
    """An `IndexBackend` (index/backend.py) on one Milvus collection and its manifest collection."""

    def __init__(self, where: StoreLocation, token: str = "", lock_dir=None):
        self.where, self.location = where, where.uri
        self._token, self._lock_dir = token, lock_dir
        self.chunks_name, self.manifest_name = where.collection, f"{where.collection}_manifest"

    @property
    def client(self) -> MilvusClient:
        with _clients_lock:
            if self._key not in _clients:
                _clients[self._key] = self._connect()
            return _clients[self._key]

    @property
    def _key(self) -> tuple:
        return (self.where.path, self.where.server, self.where.database, self._token)

    def _connect(self) -> MilvusClient:
        try:
            if self.where.path is not None:
                self.where.path.parent.mkdir(parents=True, exist_ok=True)
                return MilvusClient(uri=str(self.where.path), grpc_options=_LITE_GRPC)
            server, database = self.where.server, self.where.database
            return MilvusClient(uri=server, token=self._token, db_name=database, timeout=CONNECT_TIMEOUT)
        except MilvusException as e:
            if self.where.path is not None:
                raise StoreUnavailable(
                    f"无法打开 milvus-lite 文件 {self.where.path}（{e.message}）：它只能由一个进程打开；"
                    f"多个进程共用时，请运行 `milvus-lite server --data-dir {self.where.path} --host 127.0.0.1 --port 19530`，"
                    f"并把 QA_STORE 设为 milvus://127.0.0.1:19530/{self.where.collection}"
                ) from e
            raise self._unreachable(e) from e

    def _unreachable(self, e: MilvusException) -> StoreUnavailable:
        return StoreUnavailable(f"无法连接 Milvus {self.where.server}（{e.message}）；请检查 QA_STORE 的地址和服务状态")

    @contextmanager
    def _calls(self) -> Iterator[None]:
        """Milvus's errors as this package's: the store cannot be used, and why. pymilvus may
        connect on the first call rather than in the client's constructor: no server is then
        said the same way whenever it shows."""
        try:
            yield
        except MilvusException as e:
            if e.code == Status.CONNECT_FAILED and self.where.server:
                raise self._unreachable(e) from e
            raise StoreUnavailable(f"Milvus 存储 {self.location} 出错：{e.message}") from e

    # -- reading ------------------------------------------------------------------------------

    def generation(self) -> str:
        return f"{self.location}#{self._pointer()['generation']}"

    def read_manifest(self) -> Manifest:
        return self._manifest(self._pointer())

    def open(self) -> StoredIndex:
        for _ in range(3):  # a writer replaced a document between the manifest and its rows: read again
            manifest = self.read_manifest()
            documents = manifest.unique_documents()
            rows = self._rows_by_document(set(documents), ["id", "doc_id", "row", "tokens"])
            if all(len(rows.get(doc_id, ())) == entry.chunks for doc_id, (_, entry) in documents.items()):
                break
        segments = [_segment(doc_id, name, rows.get(doc_id, [])) for doc_id, (name, _) in documents.items()]
        for segment, (name, entry) in zip(segments, documents.values()):
            # The vectors stay in Milvus; the rows and tokens this reader keeps are checked.
            problems = segment_problems(segment, name, entry, manifest.dim, parts=("rows", "tokens"))
            if problems:
                raise IndexCorrupt(f"索引已损坏：{problems[0]}；{REPAIR}")
        store = MilvusStore(self, manifest.dim, [c for s in segments for c in s.chunks])
        keyword_rows = [s.keyword_rows() for s in segments]
        return StoredIndex(manifest=manifest, store=store, keyword_rows=keyword_rows)

    def read_segment(self, doc_id: str, doc_name: str) -> Segment:
        with self._calls():
            rows = list(self._query(f'doc_id == "{doc_id}"', ["id", "doc_id", "row", "tokens", "vector"]))
        return _segment(doc_id, doc_name, rows)

    def check_segment(self, doc_id: str, doc_name: str, entry: DocumentEntry, dim: int) -> list[str]:
        try:
            segment = self.read_segment(doc_id, doc_name)
        except (ValueError, KeyError, TypeError) as e:  # rows that do not decode
            return [f"{doc_name}：存储的段落无法解码（{type(e).__name__}: {e}）"]
        return segment_problems(segment, doc_name, entry, dim)

    def _pointer(self) -> dict:
        with self._calls():
            if (self._key, self.manifest_name) in _present or self._loaded():
                found = self.client.get(self.manifest_name, ids=[CURRENT], output_fields=["value"])
            else:
                found = []
        if not found:
            raise IndexMissing(
                f"在 {self.location} 没有找到索引；请先运行 `qa index build` 或 `qa index migrate --to {self.location}`"
            )
        return json.loads(found[0]["value"])

    def _loaded(self) -> bool:
        """Whether the index's collections are there; if so, loaded (a server keeps them loaded,
        milvus-lite loads them again in each process)."""
        if not self.client.has_collection(self.manifest_name):
            return False
        for name in (self.manifest_name, self.chunks_name):
            if self.client.has_collection(name):
                self.client.load_collection(name)
        _present.add((self._key, self.manifest_name))
        return True

    def _manifest(self, pointer: dict) -> Manifest:
        keys = [_part_key(pointer["generation"], n) for n in range(pointer["parts"])]
        with self._calls():
            rows = self.client.get(self.manifest_name, ids=keys, output_fields=["value"])
        found = {row["key"]: row["value"] for row in rows}
        try:
            return Manifest.from_json("".join(found[key] for key in keys))
        except (KeyError, ValueError, TypeError) as e:
            raise IndexMissing(f"{self.location} 的索引清单无法读取（{e}）；请运行 `qa index build --full`") from e

    def _query(self, expression: str, fields: list[str]) -> Iterator[dict]:
        iterator = self.client.query_iterator(
            self.chunks_name, batch_size=BATCH, filter=expression, output_fields=fields
        )
        try:
            while batch := iterator.next():
                yield from batch
        finally:
            iterator.close()

    def _rows_by_document(self, doc_ids: set[str], fields: list[str]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        with self._calls():
            for row in self._query("", fields):
                if row["doc_id"] in doc_ids:
                    found.setdefault(row["doc_id"], []).append(row)
        return found

    def strays(self) -> int:
        documents = set(self.read_manifest().unique_documents())
        with self._calls():
            return sum(row["doc_id"] not in documents for row in self._query("", ["doc_id"]))

    def rows_stored(self) -> int:
        """Rows in the chunks collection, of whatever generation."""
        with self._calls():
            found = self.client.query(self.chunks_name, filter="", output_fields=["count(*)"])
        return int(found[0]["count(*)"])

    def ids(self) -> list[int]:
        with self._calls():
            return [int(row["id"]) for row in self._query("", ["id"])]

    def search(self, vector: list[float], limit: int) -> list[tuple[int, float]]:
        with self._calls():
            found = self.client.search(
                self.chunks_name,
                data=[vector],
                anns_field="vector",
                limit=limit,
                search_params={"metric_type": "IP"},
                output_fields=[],
            )
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]

    # -- writing ------------------------------------------------------------------------------

    def lock(self, timeout: float) -> AbstractContextManager:
        """Writers on this machine take turns (a file lock in the index folder); Milvus has no lock,
        so an archive is updated from one machine while any number read it."""
        return writer_lock(self._lock_dir, timeout)

    def commit(self, manifest: Manifest, new_segments: list[Segment]) -> str:
        with self._calls():
            self._create(manifest.dim)
            try:
                previous = self.read_manifest()
            except IndexMissing:
                previous = None
            fresh = {s.doc_id: s for s in new_segments}
            kept = set(previous.unique_documents()) if previous else set()
            documents = manifest.unique_documents()
            for doc_id in documents:
                if doc_id not in fresh and doc_id not in kept:
                    raise ValueError(f"segment {doc_id} is neither new nor in the committed index")
            for doc_id in documents:
                if doc_id in fresh:
                    self._write_segment(fresh[doc_id])
            generation = f"gen-{time.time_ns()}"
            text = json.dumps(asdict(manifest), ensure_ascii=True)
            parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)]
            self.client.upsert(self.manifest_name, [_meta(_part_key(generation, n), p) for n, p in enumerate(parts)])
            pointer = json.dumps({"generation": generation, "parts": len(parts)})
            self.client.upsert(self.manifest_name, [_meta(CURRENT, pointer)])  # the commit
            self._tidy(generation, manifest, kept - documents.keys())
        try:  # sealed segments search faster (milvus-lite: 7 ms instead of 32 at 630 chunks, bench/milvus.py)
            self.client.flush(self.chunks_name)
        except MilvusException:  # a server may limit how often; it seals them itself in time
            pass
        return f"{self.location}#{generation}"

    def _write_segment(self, segment: Segment) -> None:
        # Rows of this document a crashed writer left are replaced, not doubled.
        self.client.delete(self.chunks_name, filter=f'doc_id == "{segment.doc_id}"')
        ends = np.cumsum(segment.token_counts)
        rows = []
        for chunk, vector, end, count in zip(segment.chunks, segment.vectors, ends, segment.token_counts):
            if count > MAX_TOKENS:
                raise ValueError(
                    f"段落 {chunk.id} 有 {count} 个关键词，Milvus 每段最多存 {MAX_TOKENS} 个；请减小 chunk_size"
                )
            tokens = np.ascontiguousarray(segment.tokens[end - count : end], dtype="<u8")
            rows.append(
                {
                    "id": chunk.id,
                    "doc_id": chunk.doc_id,
                    "row": chunk_row(chunk),
                    "tokens": base64.b64encode(tokens.tobytes()).decode("ascii"),
                    "vector": np.asarray(vector, dtype=np.float32).tolist(),
                }
            )
        for start in range(0, len(rows), BATCH):
            self.client.insert(self.chunks_name, rows[start : start + BATCH])

    def _tidy(self, generation: str, manifest: Manifest, retired: set[str]) -> None:
        """After a commit: retired documents' rows, older manifests, and what crashed writers left."""
        for doc_ids in _batches(sorted(retired)):
            self.client.delete(self.chunks_name, filter=f"doc_id in {json.dumps(doc_ids)}")
        self.client.delete(self.manifest_name, filter=f'key != "{CURRENT}" and not (key like "{generation}/%")')
        if self.rows_stored() != manifest.chunk_count:  # rows of documents a crashed writer never committed
            kept = set(manifest.unique_documents())
            strays = {row["doc_id"] for row in self._query("", ["doc_id"])} - kept
            for doc_ids in _batches(sorted(strays)):
                self.client.delete(self.chunks_name, filter=f"doc_id in {json.dumps(doc_ids)}")

    def _create(self, dim: int) -> None:
        """The two collections, if missing; the chunks' again if the model's dimension changed
        (a full rebuild: readers of the old model refuse it anyway)."""
        client = self.client
        if client.has_collection(self.chunks_name):
            fields = client.describe_collection(self.chunks_name)["fields"]
            if next(f["params"].get("dim") for f in fields if f["name"] == "vector") != dim:
                client.drop_collection(self.chunks_name)
        if not client.has_collection(self.chunks_name):
            schema = MilvusClient.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
            schema.add_field("row", DataType.VARCHAR, max_length=VARCHAR_BYTES)
            schema.add_field("tokens", DataType.VARCHAR, max_length=VARCHAR_BYTES)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            indexes = client.prepare_index_params()
            # Exact inner product, as FAISS's flat index: the same passages, the same scores.
            indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
            indexes.add_index(field_name="doc_id", index_type="INVERTED")
            _create(client, self.chunks_name, schema, indexes)
        if not client.has_collection(self.manifest_name):
            schema = MilvusClient.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
            schema.add_field("value", DataType.VARCHAR, max_length=VARCHAR_BYTES)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
            indexes = client.prepare_index_params()
            indexes.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
            _create(client, self.manifest_name, schema, indexes)


class MilvusStore:
    """A reader's `VectorStore`: chunk rows of its generation in memory, vectors searched in Milvus."""

    def __init__(self, backend: MilvusBackend, dim: int, chunks: list[Chunk]):
        self.dim, self._backend = dim, backend
        self._chunks = {c.id: c for c in chunks}

    def search(self, query: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        if k <= 0 or not self._chunks:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        limit = min(k, len(self._chunks), MAX_LIMIT)
        while True:
            found = self._backend.search(vector, limit)
            # Rows of another generation (written for the next commit, or not yet deleted) are not ours.
            hits = [(self._chunks[i], score) for i, score in found if i in self._chunks]
            if len(hits) >= k or len(found) < limit or limit == MAX_LIMIT:
                return hits[:k]
            limit = min(limit * 4, MAX_LIMIT)

    def chunks(self, ids: list[int] | None = None) -> list[Chunk]:
        """All chunks, or those with these ids in that order."""
        return list(self._chunks.values()) if ids is None else [self._chunks[i] for i in ids]

    def count(self) -> int:
        """This generation's chunks with a vector in the collection; rows of another generation
        (a writer between steps, or one that crashed) are the backend's `strays`, not counted."""
        return len(self.vector_ids())

    def vector_ids(self) -> list[int]:
        return [i for i in self._backend.ids() if i in self._chunks]

    def info(self) -> dict:
        where = self._backend.location
        return {
            "engine": "milvus",
            "location": where,
            "index": "FLAT (IP)",
            "kind": "flat",
            "dim": self.dim,
            "vectors": self.count(),
        }


def release(where: StoreLocation) -> None:
    """Close the connections to a store; a milvus-lite file is then free for another process."""
    with _clients_lock:
        for key in [k for k in _clients if k[:3] == (where.path, where.server, where.database)]:
            _clients.pop(key).close()
            _present.difference_update({p for p in _present if p[0] == key})
    if where.path is not None:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(where.path))


def _segment(doc_id: str, doc_name: str, rows: list[dict]) -> Segment:
    """A document's rows as a segment, in reading order; without vectors unless they were read
    (a reader leaves them in Milvus)."""
    chunks = [chunk_from_row(doc_name, row["row"]) for row in rows]
    order = sorted(range(len(rows)), key=lambda n: chunks[n].position)
    chunks = [chunks[n] for n in order]
    tokens = [np.frombuffer(base64.b64decode(rows[n]["tokens"]), dtype="<u8") for n in order]
    vectors = np.array([rows[n].get("vector", ()) for n in order], dtype=np.float32)
    return Segment(
        doc_id=doc_id,
        chunks=chunks,
        vectors=vectors.reshape(len(rows), -1) if rows else np.zeros((0, 0), dtype=np.float32),
        tokens=np.concatenate(tokens).astype(np.uint64) if tokens else np.zeros(0, dtype=np.uint64),
        token_counts=np.array([len(t) for t in tokens], dtype=np.int64),
    )


def _create(client: MilvusClient, name: str, schema, indexes) -> None:
    # Not create_collection(index_params=…): pymilvus then polls the index state through an RPC
    # milvus-lite lacks (AllocTimestamp), half a second a try; loading waits for the index anyway.
    client.create_collection(name, schema=schema, consistency_level="Strong")
    client.create_index(name, indexes, sync=False)
    client.load_collection(name)


def _part_key(generation: str, n: int) -> str:
    return f"{generation}/{n:06d}"


def _meta(key: str, value: str) -> dict:
    return {"key": key, "value": value, "unused": [0.0, 0.0]}


def _batches(items: list[str], size: int = 256) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
