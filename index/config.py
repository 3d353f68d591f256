"""The one place for configuration: defaults, overridden by environment variables and CLI flags."""

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env_path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name) or default).expanduser()


def _optional_env_path(name: str) -> Path | None:
    return Path(os.environ[name]).expanduser() if os.environ.get(name) else None


@dataclass(frozen=True)
class Settings:
    """Everything a stage may need to know; every stage receives the same object."""

    docs_dir: Path = field(default_factory=lambda: _env_path("QA_DOCS_DIR", Path("seeds")))
    home: Path = field(default_factory=lambda: _env_path("QA_HOME", Path("var")))
    index_dir: Path | None = field(default_factory=lambda: _optional_env_path("QA_INDEX_DIR"))
    # e5-small in sentence-transformers (index/embed.py; chosen in README, Embedders).
    embedder: str = field(default_factory=lambda: os.environ.get("QA_EMBEDDER", "e5-small"))
    chunk_size: int = 300
    chunk_overlap: int = 50
    top_k: int = 5
    # dense, keyword or hybrid (qa/retrieve.py); hybrid measured best (README, Retrieval).
    retrieval: str = field(default_factory=lambda: os.environ.get("QA_RETRIEVAL", "hybrid"))
    max_question_chars: int = 500
    lock_timeout: float = 600.0  # seconds a second writer waits for the first
    max_file_mb: float = 20.0  # larger files are refused with a message, not indexed for hours
    # Below this share of the question's key terms found in a passage, the composer abstains.
    min_support: float = 0.5
    # extractive (default, nothing to download) or generative (an OpenAI-compatible endpoint).
    composer: str = field(default_factory=lambda: os.environ.get("QA_COMPOSER", "extractive"))
    llm_base_url: str = field(default_factory=lambda: os.environ.get("QA_LLM_BASE_URL", ""))
    llm_model: str = field(default_factory=lambda: os.environ.get("QA_LLM_MODEL", ""))
    llm_key_env: str = "QA_LLM_API_KEY"  # the variable holding the key; the key itself is never stored
    llm_timeout: float = 60.0
    # Where vectors live: faiss://PATH (default: the index folder) or a Milvus URI (index/milvus.py).
    store: str = field(default_factory=lambda: os.environ.get("QA_STORE", ""))
    # The chat: read-only users may not upload or reindex; "user:password" turns on a login.
    allow_upload: bool = field(default_factory=lambda: os.environ.get("QA_READ_ONLY", "") == "")
    auth: str = field(default_factory=lambda: os.environ.get("QA_AUTH", ""))

    @property
    def index_path(self) -> Path:
        return self.index_dir or self.home / "index"

    @property
    def feedback_path(self) -> Path:
        return self.home / "feedback.jsonl"

    @property
    def history_dir(self) -> Path:
        return self.home / "history"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def model_cache(self) -> Path:
        return _env_path("QA_MODEL_CACHE", self.home / "models")

    def with_(self, **changes) -> "Settings":
        """A copy with the given fields changed; None values are ignored (unset CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
