"""What every command shares: the settings options, reading the settings, loading the bot, and turning
library errors into short messages that say what to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from .config import Settings
from .corpus import CorpusError
from .embedding import ModelError
from .index import IndexUnavailable, stale_reason
from .terminal import tqdm_progress
from .triage.model import ModelFileError

F = TypeVar("F", bound=Callable[..., Any])


class EnvOption(click.Option):
    """An option whose errors name its environment variable too, wherever the value came from."""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        hint = super().get_error_hint(ctx)
        return f"{hint} / {self.envvar}" if isinstance(self.envvar, str) else hint


def env_option(*decls: str, env: str, **attrs: Any) -> Callable[[F], F]:
    """A click option that can also be set by the environment variable HIPBOT_<env>, which its help
    shows and its errors name."""
    return click.option(*decls, envvar=f"HIPBOT_{env}", show_envvar=True, cls=EnvOption, **attrs)


def settings_options(func: F) -> F:
    """Options shared by every command that reads the corpus or the index."""
    func = env_option(
        "--corpus",
        "corpus_dir",
        env="CORPUS_DIR",
        type=click.Path(path_type=Path),
        help="Folder of Markdown articles.",
    )(func)
    func = env_option(
        "--index",
        "index_dir",
        env="INDEX_DIR",
        type=click.Path(path_type=Path),
        help="Folder for the built index.",
    )(func)
    func = env_option("--model", env="MODEL", help="Embedding model: a local folder or a model name.")(func)
    return func


# The settings a command reads: a bad value of any other setting does not stop it.
INDEX_SETTINGS = (
    "corpus_dir",
    "index_dir",
    "model",
    "encoder",
    "chunk_target_words",
    "chunk_max_words",
    "chunk_min_words",
    "dense_weight",
)
ANSWER_SETTINGS = (*INDEX_SETTINGS, "top_k", "min_relevance", "query_cache_size", "region")


def make_settings(uses: tuple[str, ...] | None = ANSWER_SETTINGS, **overrides: Any) -> Settings:
    """Settings from the environment, with the options that were given on the command line."""
    from .config import SettingsError
    from .config import make_settings as read_settings

    try:
        return read_settings(uses, **overrides)
    except SettingsError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn library errors into short messages that say what to do."""
    try:
        yield
    except (CorpusError, IndexUnavailable, ModelError, ModelFileError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None


def load_bot(settings: Settings, build: bool = True) -> Any:
    """The application object, building the index with a progress bar when it is missing or stale
    (or refusing, with the fix, when building is not allowed)."""
    from .assistant import Hipbot

    reason = stale_reason(settings)
    if reason and not build:
        raise click.ClickException(
            f"the index at {settings.index_dir} is not usable ({reason}): run `hipbot index build`"
        )
    if reason:
        click.echo(f"Building the index ({reason})…", err=True)
    return Hipbot.from_settings(settings, progress=tqdm_progress, build=build)
