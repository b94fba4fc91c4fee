"""Settings: one typed object, read from `HIPBOT_*` environment variables, created on demand.

Every value is checked where it is read, and every problem is reported in one line that names the
variable, what it accepts and an example. A command is only stopped by the settings it uses: the others
fall back to their defaults with a warning.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "HIPBOT_"

REGIONS = ("US", "UK", "EU", "AU", "CA", "IE", "NZ")
REGION_ALIASES = {"GB": "UK", "USA": "US", "UNITED STATES": "US", "UNITED KINGDOM": "UK"}
Region = Literal["US", "UK", "EU", "AU", "CA", "IE", "NZ"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# What each setting accepts, with an example, for error messages that say what to do.
ACCEPTS = {
    "allowed_origins": "origins (scheme://host[:port], no path), comma-separated or a JSON list, "
    "e.g. https://shop.example,https://www.shop.example",
    "trusted_proxies": "proxy addresses or networks, comma-separated or a JSON list, "
    "e.g. 10.0.0.1,10.1.0.0/16",
    "region": f"one of {', '.join(REGIONS)} (any case), e.g. UK",
    "port": "a port number from 1 to 65535, e.g. 8000",
    "log_level": f"one of {', '.join(LOG_LEVELS)}, e.g. INFO",
    "encoder": "auto, onnx or torch, e.g. auto",
    "encoder_threads": "a whole number of threads, 0 for automatic, e.g. 2",
    "top_k": "a whole number from 1 to 10, e.g. 5",
    "rate_limit": "requests per second per client, 0 for off, e.g. 1",
    "rate_burst": "a whole number of at least 1, e.g. 10",
    "log_questions": "true or false, e.g. true",
    "query_cache_size": "a whole number of at least 0, e.g. 1024",
    "min_relevance": "a number, e.g. 0.30",
    "watch_seconds": "seconds between checks of the corpus, 0 for off, e.g. 2",
}


def _project_dir(name: str) -> Path:
    """A project folder: the one in the working directory if there is one, else the repository's."""
    here = Path.cwd() / name
    return here if here.exists() else REPO_ROOT / name


def split_list(value: Any) -> list[str]:
    """A list setting from a JSON list or comma-separated text ("a,b", '["a", "b"]', "a")."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ValueError("starts with '[' but is not a JSON list") from None
        if not isinstance(parsed, list):
            raise ValueError("is not a list")
        return [str(v).strip() for v in parsed if str(v).strip()]
    return [part.strip() for part in text.split(",") if part.strip()]


def normalise_origin(origin: str) -> str:
    """An origin as browsers send it: lowercase scheme and host, no default port, no trailing slash."""
    candidate = origin.strip()
    parts = urlsplit(candidate)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{origin}' has no http(s) scheme and host (use https://{candidate.split('/')[0]})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"'{origin}' has a path; an origin is only scheme://host[:port], e.g. "
            f"{parts.scheme}://{parts.netloc}"
        )
    if parts.username or parts.password:
        raise ValueError(f"'{origin}' has a user name; an origin is only scheme://host[:port]")
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


class Settings(BaseModel):
    """Everything hipbot can be told; `make_settings` fills each field from `HIPBOT_<NAME>`."""

    model_config = ConfigDict(extra="ignore")

    corpus_dir: Path = Field(default_factory=lambda: _project_dir("corpus"))
    index_dir: Path = Field(default_factory=lambda: _project_dir("index"))
    model: str = Field(DEFAULT_MODEL, description="Embedding model: a local path or a model name.")
    encoder: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="Query encoder: ONNX Runtime when the index has an export (auto), or always torch.",
    )

    encoder_threads: int = Field(
        0, ge=0, le=64, description="Threads the ONNX encoder uses for one reply; 0 picks up to two."
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
    watch_seconds: float = Field(
        2.0, ge=0, description="Seconds between checks for a changed corpus or a new build; 0 is off."
    )

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
    triage_model: Path | None = Field(
        None,
        description="A trained triage model folder to answer with instead of the packaged one (to measure "
        "a retrained candidate before shipping it).",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def origins(cls, value: Any) -> list[str]:
        """Comma-separated or JSON origins, normalised; invalid ones refused."""
        return list(dict.fromkeys(normalise_origin(o) for o in split_list(value)))

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def proxies(cls, value: Any) -> list[str]:
        """Comma-separated or JSON addresses or networks, each checked."""
        out = split_list(value)
        for item in out:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not an IP address or network") from None
        return out

    @field_validator("region", mode="before")
    @classmethod
    def region_code(cls, value: Any) -> str:
        """Any case; a few common aliases (GB, USA)."""
        text = str(value).strip().upper()
        return REGION_ALIASES.get(text, text)

    @field_validator("log_level", mode="before")
    @classmethod
    def level_name(cls, value: Any) -> str:
        """A logging level name, any case."""
        text = str(value).strip().upper()
        if text not in LOG_LEVELS:
            raise ValueError(f"'{value}' is not a log level")
        return text


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each variable, the value and what it accepts."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """(field, one line naming the variable, its value, the problem and what it accepts)."""
    name = str(error["loc"][0]) if error.get("loc") else "?"
    variable = PREFIX + name.upper()
    value = os.environ.get(variable, error.get("input"))
    problem = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if error.get("type") == "literal_error":
        problem = "not one of the accepted values"
    accepts = ACCEPTS.get(name)
    line = f"{variable}={value!r} is not valid: {problem}"
    return name, line + (f" (expected {accepts})" if accepts else "")


def environment_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `HIPBOT_<NAME>` variables (any case) that name a setting, keyed by the setting."""
    environ = os.environ if environ is None else environ
    fields = Settings.model_fields
    found = {
        key[len(PREFIX) :].lower(): value for key, value in environ.items() if key.upper().startswith(PREFIX)
    }
    return {name: value for name, value in found.items() if name in fields}


def make_settings(uses: Iterable[str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and explicit overrides. A bad value of a setting in `uses` (all of
    them when None) raises SettingsError; a bad value of another setting falls back to its default."""
    given = {key: value for key, value in overrides.items() if value is not None}
    environment = environment_values()
    try:
        return Settings(**{**environment, **given})
    except ValidationError as exc:
        described = [_describe(dict(error)) for error in exc.errors()]
    wanted = None if uses is None else set(uses)
    fatal = [line for name, line in described if wanted is None or name in wanted or name in given]
    if fatal:
        raise SettingsError(fatal) from None
    for _, line in described:
        logger.warning("%s; ignored here, the default is used", line)
    ignored = {name for name, _ in described}
    kept = {name: value for name, value in environment.items() if name not in ignored}
    return Settings(**{**kept, **given})


@lru_cache(maxsize=1)
def _cached_settings() -> Settings:
    return make_settings()


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


def encoder_threads(setting: int, workers: int = 1) -> int:
    """Threads for the query encoder: the setting, or up to two of the cores each of `workers` processes
    gets. One short question is too small to share out well over more; two brought the encoder from about
    11 to 7.5 ms here."""
    return setting or min(2, max(1, (os.cpu_count() or 1) // workers))


def limit_blas_threads() -> None:
    """One BLAS thread for this process. A reply multiplies small matrices (the triage head, the query
    adapter, similarities); two BLAS threads spend more time handing them over than multiplying, and
    under concurrent requests they fight the encoder's own thread: measured here, the triage head took
    1.2 ms with one thread against 12 ms with two while another process kept both cores busy."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
