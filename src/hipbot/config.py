"""Settings: one typed object, read from `HIPBOT_*` environment variables, created on demand."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"
REPO_ROOT = Path(__file__).resolve().parents[2]

Region = Literal["US", "UK", "EU", "AU", "CA", "IE", "NZ"]


def _project_dir(name: str) -> Path:
    """A project folder: the one in the working directory if there is one, else the repository's."""
    here = Path.cwd() / name
    return here if here.exists() else REPO_ROOT / name


class Settings(BaseSettings):
    """Everything hipbot can be told; each field reads `HIPBOT_<NAME>` from the environment."""

    model_config = SettingsConfigDict(env_prefix="HIPBOT_", extra="ignore")

    corpus_dir: Path = Field(default_factory=lambda: _project_dir("corpus"))
    index_dir: Path = Field(default_factory=lambda: _project_dir("index"))
    model: str = Field(DEFAULT_MODEL, description="Embedding model: a local path or a model name.")
    encoder: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="Query encoder: ONNX Runtime when the index has an export (auto), or always torch.",
    )

    chunk_target_words: int = Field(110, ge=20, le=250)
    chunk_max_words: int = Field(200, ge=40, le=250)
    chunk_min_words: int = Field(40, ge=0, le=150)

    top_k: int = Field(5, ge=1, le=10)
    dense_weight: float = Field(0.8, ge=0.0, le=1.0)
    min_relevance: float = Field(0.30, description="Fused score a passage needs to count as relevant.")

    query_cache_size: int = Field(1024, ge=0, description="Query vectors kept for repeated questions.")

    region: Region = "US"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    allowed_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"

    rate_limit: float = Field(
        0.0, ge=0, description="Chat requests per second per client; 0 (default) is off."
    )
    rate_burst: int = Field(
        20, ge=1, description="Requests a client may send at once before the rate applies."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxy addresses or networks whose X-Forwarded-For is believed."
    )
    log_questions: bool = Field(
        False, description="Keep scrubbed questions in question_log (off by default)."
    )
    question_log: Path = Field(default_factory=lambda: _project_dir("index") / "questions.jsonl")


@lru_cache(maxsize=1)
def _cached_settings() -> Settings:
    return Settings()


def get_settings() -> Settings:
    """Return the settings read from the environment (read once, then reused)."""
    return _cached_settings()


def configure_offline() -> None:
    """Forbid model downloads: every model comes from a local path or an installed package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
