"""The one place for configuration: defaults, overridden by environment variables and CLI flags."""

import os
import re
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

from index.files import sha256_bytes
from index.profile import DEFAULT_PATH as DEFAULT_PROFILE
from index.profile import Profile, load_profile


def _env_path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name) or default).expanduser()


def _optional_env_path(name: str) -> Path | None:
    return Path(os.environ[name]).expanduser() if os.environ.get(name) else None


DEFAULT_COLLECTION = "newsletter_qa"
DEFAULT_DOCS = Path("seeds")
_COLLECTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
_STORE_FORMS = (
    "faiss://PATH, milvus://HOST:PORT/[DATABASE/]COLLECTION, milvus+https://…, or a milvus-lite file FILE.db[/COLLECTION]"
)


@dataclass(frozen=True)
class StoreLocation:
    """Where the stored index lives: `Settings.store` parsed (`parse_store`)."""

    engine: str  # "faiss" or "milvus"
    path: Path | None = None  # the FAISS folder, or a milvus-lite data file (….db)
    server: str = ""  # http(s)://HOST:PORT of a Milvus server (standalone, cluster, Zilliz)
    database: str = ""  # the server's database; "" is its default
    collection: str = ""

    @property
    def uri(self) -> str:
        """The location written the way `Settings.store` takes it."""
        if self.engine == "faiss":
            return f"faiss://{self.path}"
        if self.path is not None:
            return f"milvus://{self.path}/{self.collection}"
        scheme, address = self.server.split("://", 1)
        database = f"{self.database}/" if self.database else ""
        return f"{'milvus+https' if scheme == 'https' else 'milvus'}://{address}/{database}{self.collection}"

    def __str__(self) -> str:
        return str(self.path) if self.engine == "faiss" else self.uri

    def with_collection(self, collection: str) -> "StoreLocation":
        return replace(self, collection=_collection(collection, self.uri))


def parse_store(text: str) -> StoreLocation:
    """`faiss://PATH`; `milvus://HOST[:PORT]/[DATABASE/]COLLECTION` (`milvus+https://` for TLS);
    a milvus-lite data file `FILE.db`, `milvus://FILE.db[/COLLECTION]`. "" is FAISS at the
    index folder (path None). A malformed value is refused with the forms it may take."""
    text = text.strip()
    if not text:
        return StoreLocation("faiss")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    if scheme == "faiss" and rest:
        return StoreLocation("faiss", path=Path(rest).expanduser())
    parts = rest.split("/")
    lite = next((n for n, part in enumerate(parts) if part.endswith(".db")), None)
    if scheme in ("", "milvus") and lite is not None and len(parts) - lite <= 2:
        collection = parts[lite + 1] if len(parts) - lite == 2 else ""
        path = Path("/".join(parts[: lite + 1]) or "/").expanduser()
        return StoreLocation("milvus", path=path, collection=_collection(collection or DEFAULT_COLLECTION, text))
    host = re.fullmatch(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?", parts[0])
    if scheme in ("milvus", "milvus+https") and host and len(parts) <= 3:
        address = parts[0] if ":" in parts[0] else f"{parts[0]}:19530"
        database = parts[1] if len(parts) == 3 else ""
        collection = parts[-1] if len(parts) > 1 else ""
        if database and not _COLLECTION_NAME.fullmatch(database):
            raise ValueError(f"存储地址 {text!r} 的数据库名 {database!r} 不合法")
        server = f"{'https' if scheme == 'milvus+https' else 'http'}://{address}"
        collection = _collection(collection or DEFAULT_COLLECTION, text)
        return StoreLocation("milvus", server=server, database=database, collection=collection)
    raise ValueError(f"无法识别的索引存储地址 {text!r}：可用 {_STORE_FORMS}")


def _collection(name: str, text: str) -> str:
    if not _COLLECTION_NAME.fullmatch(name):
        raise ValueError(f"存储地址 {text!r} 的集合名 {name!r} 不合法：字母或下划线开头，只含字母、数字、下划线")
    return name


@dataclass(frozen=True)
class IndexSettings:
    """How documents become the index (index/)."""

    # e5-small on ONNX Runtime with int8 weights (index/onnx_embed.py): within 0.005 of torch on the
    # seed and CMRC sets, 3× its indexing rate, loaded in a quarter second without torch (README,
    # Speed). `e5-small-onnx` gives torch's own vectors; `e5-small` is sentence-transformers on torch.
    embedder: str = field(default_factory=lambda: os.environ.get("QA_EMBEDDER", "e5-small-onnx-int8"))
    chunk_size: int = 300
    chunk_overlap: int = 50
    lock_timeout: float = 600.0  # seconds a second writer waits for the first
    # What one file may cost to read (index/load.py); over any of them it is refused with the figure
    # and the limit, and the rest of the batch goes in. A 100-page issue is ~300–500k characters
    # (the 4-page seed: 7k), so 600k fits one comfortably and bounds embedding at ~2,800 chunks.
    max_file_mb: float = 20.0  # bytes on disk, checked with stat before anything is read
    max_file_chars: int = 600_000  # characters extracted, counted while extracting
    max_read_seconds: float = 120.0  # extracting, cleaning and reading the articles of one file


@dataclass(frozen=True)
class AnsweringSettings:
    """How a question is answered (qa/)."""

    top_k: int = 5
    # dense, keyword or hybrid (qa/retrieve.py); hybrid measured best (README, Retrieval).
    retrieval: str = field(default_factory=lambda: os.environ.get("QA_RETRIEVAL", "hybrid"))
    max_question_chars: int = 500
    # Below this share of the question's key terms found in a passage, the composer abstains.
    min_support: float = 0.3
    # rules (default: the hand-written extractive composer, once called "extractive"), reader (the
    # trained reader, qa/reader.py: not yet the default, README *The reader* has the figures) or
    # generative (an OpenAI-compatible endpoint).
    composer: str = field(default_factory=lambda: os.environ.get("QA_COMPOSER", "rules"))
    # The trained reader's runtime (qa/reader.py): torch, onnx or onnx-int8 (README, Speed).
    reader_runtime: str = field(default_factory=lambda: os.environ.get("QA_READER_RUNTIME", "onnx"))
    llm_base_url: str = field(default_factory=lambda: os.environ.get("QA_LLM_BASE_URL", ""))
    llm_model: str = field(default_factory=lambda: os.environ.get("QA_LLM_MODEL", ""))
    llm_key_env: str = "QA_LLM_API_KEY"  # the variable holding the key; the key itself is never stored
    llm_timeout: float = 60.0

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


@dataclass(frozen=True)
class ChatSettings:
    """The chat server (ui/)."""

    # Read-only users may not upload or reindex; "user:password" turns on a login.
    allow_upload: bool = field(default_factory=lambda: os.environ.get("QA_READ_ONLY", "") == "")
    auth: str = field(default_factory=lambda: os.environ.get("QA_AUTH", ""))
    # Gradio's temp folder (home/uploads) keeps an upload this many seconds; the chat has read
    # it long before, and the sweeper (ui/guard.py) then removes it.
    upload_max_age: float = 3600.0
    # After this many wrong passwords from one address its next login waits login_base_delay
    # seconds, doubled by each further failure up to login_max_delay; an address's failures are
    # forgotten login_window seconds after its last one, or at once when it logs in.
    login_max_failures: int = 3
    login_base_delay: float = 10.0
    login_max_delay: float = 300.0
    login_window: float = 900.0


@dataclass(frozen=True)
class Settings:
    """Everything a stage may need to know, one object for every stage: where things are, and a
    group of settings for each stage (`indexing`, `answering`, `chat`). Built once by the entry
    point (or a test); `with_` changes any field by name, whichever group holds it."""

    docs_dir: Path = field(default_factory=lambda: _env_path("QA_DOCS_DIR", DEFAULT_DOCS))
    home: Path = field(default_factory=lambda: _env_path("QA_HOME", Path("var")))
    index_dir: Path | None = field(default_factory=lambda: _optional_env_path("QA_INDEX_DIR"))
    # Where vectors live: faiss://PATH (default: the index folder) or a Milvus URI (index/milvus.py).
    store: str = field(default_factory=lambda: os.environ.get("QA_STORE", ""))
    milvus_token_env: str = "QA_MILVUS_TOKEN"  # the variable holding "user:password" or an API key
    # The newsletter's conventions (index/newsletter.toml, read by index/profile.py): page markers,
    # bylines, furniture, glossary. Its fingerprint is in the manifest: a changed file rebuilds.
    profile_path: Path = field(default_factory=lambda: _env_path("QA_PROFILE", DEFAULT_PROFILE))
    indexing: IndexSettings = field(default_factory=IndexSettings)
    answering: AnsweringSettings = field(default_factory=AnsweringSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)

    # Cached: the fields are frozen, and these are asked for on every question. (A cached value
    # goes into the instance's __dict__, past the frozen __setattr__; eq, hash and repr use the fields.)
    @cached_property
    def index_path(self) -> Path:
        """The FAISS index folder; with a Milvus store, where this machine's writers take their lock.
        Each documents folder gets its own index (`folder_key`), so evaluating another corpus
        leaves the main one alone; the CLI, the chat, migrate and ensure_index all ask here."""
        faiss_path = parse_store(self.store).path if self.store.startswith("faiss://") else None
        key = self.folder_key
        return self.index_dir or faiss_path or (self.home / "indexes" / key if key else self.home / "index")

    @cached_property
    def folder_key(self) -> str:
        """"" for the default documents folder ($QA_DOCS_DIR or seeds/); for any other, its name
        and a hash of its path, which names its index folder and its Milvus collection."""
        folder = self.docs_dir.resolve()
        if folder == _env_path("QA_DOCS_DIR", DEFAULT_DOCS).resolve():
            return ""
        return f"{folder.name}-{sha256_bytes(str(folder).encode())[:8]}"

    @cached_property
    def store_location(self) -> StoreLocation:
        """`store` parsed; FAISS always lives at `index_path` (--index-dir wins over faiss://PATH).
        A Milvus store of another documents folder gets a collection of its own, unless the index
        folder was named outright."""
        location = parse_store(self.store)
        if location.engine == "faiss":
            return replace(location, path=self.index_path)
        if self.folder_key and self.index_dir is None:
            return location.with_collection(f"{location.collection}_{self.folder_key.rsplit('-', 1)[-1]}")
        return location

    @property
    def feedback_path(self) -> Path:
        return self.home / "feedback.jsonl"

    @property
    def history_dir(self) -> Path:
        return self.home / "history"

    @cached_property
    def profile(self) -> Profile:
        """The newsletter profile, read and checked once (a bad file raises ProfileError naming the key)."""
        return load_profile(self.profile_path)

    @property
    def model_cache(self) -> Path:
        return _env_path("QA_MODEL_CACHE", self.home / "models")

    def with_(self, **changes) -> "Settings":
        """A copy with the given fields changed, each in the group that holds it; None values are
        ignored (unset CLI flags). An unknown name is refused."""
        changes = {k: v for k, v in changes.items() if v is not None}
        groups = {name: {} for name in _GROUPS}
        own = {}
        for key, value in changes.items():
            group = next((name for name, kind in _GROUPS.items() if key in _fields(kind)), None)
            if group is None and key not in _fields(Settings):
                raise TypeError(f"Settings has no field {key!r}")
            (groups[group] if group else own)[key] = value
        grouped = {name: replace(getattr(self, name), **values) for name, values in groups.items() if values}
        return replace(self, **own, **grouped)


_GROUPS = {"indexing": IndexSettings, "answering": AnsweringSettings, "chat": ChatSettings}


def _fields(kind: type) -> set[str]:
    return {f.name for f in fields(kind)}
