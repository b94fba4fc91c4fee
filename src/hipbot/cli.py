"""The command line: ask, chat, serve, index build/info, eval."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .config import Settings, configure_offline
from .corpus import CorpusError
from .embedding import ModelError
from .index import IndexUnavailable, ProgressBar, stale_reason
from .schema import MAX_MESSAGE_CHARS, ChatReply, Turn

F = TypeVar("F", bound=Callable[..., Any])
QUIT_WORDS = {"exit", "quit", "bye", ":q"}


def tqdm_progress(total: int, label: str) -> ProgressBar:
    """A terminal progress bar (on stderr) for long index work."""
    from tqdm import tqdm

    bar: ProgressBar = tqdm(total=total, desc=label, unit="text", file=sys.stderr, leave=False)
    return bar


def settings_options(func: F) -> F:
    """Options shared by every command that reads the corpus or the index."""
    func = click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(path_type=Path),
        envvar="HIPBOT_CORPUS_DIR",
        help="Folder of Markdown articles.  [env: HIPBOT_CORPUS_DIR]",
    )(func)
    func = click.option(
        "--index",
        "index_dir",
        type=click.Path(path_type=Path),
        envvar="HIPBOT_INDEX_DIR",
        help="Folder for the built index.  [env: HIPBOT_INDEX_DIR]",
    )(func)
    func = click.option(
        "--model",
        envvar="HIPBOT_MODEL",
        help="Embedding model: a local folder or a model name.  [env: HIPBOT_MODEL]",
    )(func)
    return func


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options that were given on the command line."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValueError as exc:
        raise click.ClickException(f"invalid setting: {exc}") from None


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn library errors into short messages that say what to do."""
    try:
        yield
    except (CorpusError, IndexUnavailable, ModelError) as exc:
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
    return Hipbot.from_settings(settings, progress=tqdm_progress)


def wrap(text: str, indent: str = "  ") -> str:
    """Wrap a paragraph to the terminal width."""
    width = max(40, min(100, shutil.get_terminal_size((88, 20)).columns) - 2)
    lines = text.splitlines() or [""]
    return "\n".join(
        textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
        for line in lines
        if line.strip()
    )


def render_reply(reply: ChatReply) -> str:
    """A readable terminal rendering: safety first, answer, numbered sources, follow-ups, disclaimer."""
    out: list[str] = []
    if reply.safety.level != "none" and reply.safety.message:
        colour = "red" if reply.safety.level == "urgent" else "yellow"
        out += [
            click.style(f"⚠ {reply.safety.level.upper()}", fg=colour, bold=True),
            wrap(reply.safety.message),
            "",
        ]
    if reply.answer:
        out += [click.style("Answer", bold=True), wrap(reply.answer), ""]
    if reply.passages:
        out.append(click.style("Sources", bold=True))
        for passage in reply.passages:
            where = f"{passage.title} — {passage.section}" if passage.section else passage.title
            out.append(f"  [{passage.n}] " + click.style(where, fg="cyan"))
            out.append(wrap(passage.text, "      "))
            out.append(click.style(f"      {passage.source}", dim=True))
        out.append("")
    if reply.suggestions:
        out.append(click.style("You could also ask", bold=True))
        out += [f"  • {s}" for s in reply.suggestions]
        out.append("")
    out.append(click.style(wrap(reply.disclaimer, ""), dim=True))
    return "\n".join(out)


def setup_logging(verbose: bool, level: str | None = None) -> None:
    """Log to stderr: warnings by default, progress detail with --verbose, or the server's level."""
    chosen = level.upper() if level else ("INFO" if verbose else "WARNING")
    logging.basicConfig(level=chosen, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hipbot")
@click.option("-v", "--verbose", is_flag=True, envvar="HIPBOT_VERBOSE", help="Show what hipbot is doing.")
def main(verbose: bool) -> None:
    """hipbot answers hip-pain questions from the store's articles, quoting its sources."""
    configure_offline()
    setup_logging(verbose)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the API's reply object as JSON.")
@settings_options
def ask(question: str, as_json: bool, **options: Any) -> None:
    """Answer one QUESTION and show the passages it comes from."""
    if not question.strip():
        raise click.UsageError("QUESTION is empty: type a question in quotes")
    if len(question) > MAX_MESSAGE_CHARS:
        raise click.UsageError(f"QUESTION is {len(question)} characters; the limit is {MAX_MESSAGE_CHARS}")
    with friendly_errors():
        bot = load_bot(make_settings(**options))
        reply = bot.reply(question)
    click.echo(reply.model_dump_json(indent=2) if as_json else render_reply(reply))


@main.command()
@settings_options
def chat(**options: Any) -> None:
    """Talk with hipbot in the terminal; follow-up questions use the conversation so far."""
    with friendly_errors():
        bot = load_bot(make_settings(**options))
    click.echo(
        click.style("hipbot", bold=True) + " — ask about hip, back or leg pain. Empty line or 'exit' quits.\n"
    )
    history: list[Turn] = []
    while True:
        try:
            message = click.prompt(click.style("you", fg="green", bold=True), default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            break
        if not message.strip() or message.strip().lower() in QUIT_WORDS:
            break
        message = message[:MAX_MESSAGE_CHARS]
        reply = bot.reply(message, history[-20:])
        click.echo("\n" + render_reply(reply) + "\n")
        history += [Turn(role="user", content=message), Turn(role="assistant", content=reply.answer)]


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="HIPBOT_HOST", help="Address to listen on."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="HIPBOT_PORT",
    help="Port to listen on.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="HIPBOT_WORKERS",
    help="Worker processes, each with its own copy of the index.",
)
@click.option(
    "--build/--no-build",
    default=True,
    show_default=True,
    envvar="HIPBOT_BUILD_ON_START",
    help="Build the index at start-up when it is missing or stale; --no-build refuses to start instead.",
)
@settings_options
def serve(host: str, port: int, workers: int, build: bool, **options: Any) -> None:
    """Run the chat API (and its docs at /docs) with uvicorn."""
    import os
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .api import create_app

    settings = make_settings(host=host, port=port, **options)
    setup_logging(False, settings.log_level)
    with friendly_errors():
        bot = load_bot(settings, build)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(
        f"hipbot is answering at http://{shown}:{port}/ (demo store page with the chat widget; "
        f"API docs: http://{shown}:{port}/docs)",
        err=True,
    )
    if workers == 1:
        uvicorn.run(
            create_app(settings, bot=bot),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            access_log=False,
            log_config=None,
        )
        return
    del bot  # each worker loads the (now built) index itself
    for name, value in options.items():
        if value is not None:
            os.environ[f"HIPBOT_{name.upper()}"] = str(value)
    config = uvicorn.Config(
        "hipbot.cli:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    # uvicorn binds its shared socket with protocol 0, and asyncio only sets TCP_NODELAY on sockets that
    # say TCP: replies then wait ~40 ms on delayed ACKs. Binding the socket ourselves avoids that.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()


def worker_app() -> Any:
    """The app of one uvicorn worker process (its entry point, so it sets up logging)."""
    from .api import create_app
    from .config import get_settings

    configure_offline()
    setup_logging(False, get_settings().log_level)
    return create_app()


@main.command()
@click.option(
    "--requests",
    default=400,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="HTTP requests per concurrency level (bounded by --seconds too).",
)
@click.option(
    "--seconds",
    default=20.0,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="Time bound per concurrency level.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16), help="uvicorn workers.")
@click.option(
    "--encoder",
    type=click.Choice(["auto", "onnx", "torch"]),
    envvar="HIPBOT_ENCODER",
    help="Query encoder to measure.  [env: HIPBOT_ENCODER]",
)
@click.option("--build/--no-build", default=True, show_default=True, help="Also time a full index build.")
@click.option(
    "--scale",
    default=0,
    type=click.IntRange(0, 1000),
    help="Instead: build a synthetic corpus this many times larger and time build and queries.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@settings_options
def bench(
    requests: int,
    seconds: float,
    workers: int,
    encoder: str | None,
    build: bool,
    scale: int,
    as_json: bool,
    **options: Any,
) -> None:
    """Measure build time, latency, throughput, cold start and memory on this machine."""
    from . import bench as benchmark

    settings = make_settings(encoder=encoder, **options)
    with friendly_errors():
        load_bot(settings)  # the index must exist before timing anything
        if scale:
            result = benchmark.run_scale(settings, scale)
        else:
            result = benchmark.run_benchmark(settings, requests, seconds, workers, build)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(benchmark.render_scale(result) if scale else benchmark.render_table(result))


@main.group()
def index() -> None:
    """Build or inspect the search index."""


@index.command("build")
@settings_options
def index_build(**options: Any) -> None:
    """Build the index from the corpus (always rebuilds)."""
    from .embedding import SentenceTransformerEncoder
    from .index import build_index

    settings = make_settings(**options)
    with friendly_errors():
        encoder = SentenceTransformerEncoder(settings.model)
        manifest = build_index(settings, encoder, progress=tqdm_progress)
    click.echo(
        f"Built {settings.index_dir}: {manifest['articles']} articles, {manifest['chunks']} passages, "
        f"{manifest['model']} ({manifest['model_dimension']} dims) in {manifest['build_seconds']}s"
    )


@index.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@settings_options
def index_info(as_json: bool, **options: Any) -> None:
    """Show the index manifest and whether it matches the corpus."""
    from .index import read_manifest

    settings = make_settings(**options)
    with friendly_errors():
        manifest = read_manifest(settings.index_dir)
        reason = stale_reason(settings)
    if as_json:
        click.echo(json.dumps({**manifest, "stale": reason}, indent=2))
        return
    for key, value in manifest.items():
        click.echo(f"{key:>16}: {value}")
    click.echo(
        f"{'status':>16}: " + (f"stale ({reason}): run `hipbot index build`" if reason else "up to date")
    )


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@settings_options
def eval_command(file: Path, as_json: bool, **options: Any) -> None:
    """Retrieval figures (hit@1, hit@5, MRR@10, words per passage) for a question FILE."""
    from .evaluation import EvalFileError, evaluate, read_questions

    try:
        records = read_questions(file)
    except EvalFileError as exc:
        raise click.ClickException(str(exc)) from None
    if not records:
        raise click.ClickException(f"{file} holds no questions with gold phrases")
    with friendly_errors():
        bot = load_bot(make_settings(**options))
        figures = evaluate(records, bot.reply)
    result = figures.as_dict()
    if as_json:
        click.echo(json.dumps({**result, "misses": [m[0] for m in figures.misses]}))
        return
    for key, value in result.items():
        click.echo(f"{key:>18}: {value}")
    for record_id, rank in figures.misses:
        click.echo(
            f"  miss {record_id}: " + ("not in the passages" if rank is None else f"first at rank {rank + 1}")
        )
