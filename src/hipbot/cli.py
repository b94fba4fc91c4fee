"""The command line: ask, chat, serve, triage, index build/check/info, eval, bench."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import click

from . import __version__
from .cli_common import (
    INDEX_SETTINGS,
    env_option,
    friendly_errors,
    load_bot,
    make_settings,
    settings_options,
)
from .cli_triage import triage
from .config import configure_offline, encoder_threads, limit_blas_threads
from .index import stale_reason
from .schema import MAX_MESSAGE_CHARS, Turn
from .terminal import render_reply, setup_logging, step_progress, tqdm_progress

QUIT_WORDS = {"exit", "quit", "bye", ":q"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hipbot")
@env_option("-v", "--verbose", is_flag=True, help="Show what hipbot is doing.", env="VERBOSE")
def main(verbose: bool) -> None:
    """hipbot answers hip-pain questions from the store's articles, quoting its sources."""
    configure_offline()
    limit_blas_threads()
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
        click.style("hipbot", bold=True)
        + " — ask about hip, back or leg pain. Type 'exit' or press Ctrl-D to quit.\n"
    )
    history: list[Turn] = []
    while True:
        try:
            message = click.prompt(click.style("you", fg="green", bold=True), default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            break
        if not message.strip():
            continue  # an empty Enter asks nothing; 'exit' or Ctrl-D quits
        if message.strip().lower() in QUIT_WORDS:
            break
        message = message[:MAX_MESSAGE_CHARS]
        reply = bot.reply(message, history[-20:])
        click.echo("\n" + render_reply(reply) + "\n")
        history += [Turn(role="user", content=message), Turn(role="assistant", content=reply.answer)]


@main.command()
@env_option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.", env="HOST")
@env_option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
    env="PORT",
)
@env_option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes, each with its own copy of the index.",
    env="WORKERS",
)
@env_option(
    "--build/--no-build",
    default=True,
    show_default=True,
    help="Build the index at start-up when it is missing or stale; --no-build refuses to start instead.",
    env="BUILD_ON_START",
)
@settings_options
def serve(host: str, port: int, workers: int, build: bool, **options: Any) -> None:
    """Run the chat API (and its docs at /docs) with uvicorn; it follows changes to the articles."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .api import create_app

    settings = make_settings(None, host=host, port=port, **options)
    setup_logging(False, settings.log_level)
    listener = listen(host, port)  # before anything is loaded: a busy port fails at once
    with friendly_errors():
        bot = load_bot(settings, build)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(
        f"hipbot is answering at http://{shown}:{port}/ (demo store page with the chat widget; "
        f"API docs: http://{shown}:{port}/docs)",
        err=True,
    )
    if workers == 1:
        config = uvicorn.Config(
            create_app(settings, bot=bot, build=build),
            log_level=settings.log_level.lower(),
            access_log=False,
            log_config=None,
        )
        uvicorn.Server(config).run(sockets=[listener])
        return
    del bot  # each worker loads the (now built) index itself
    for name, value in options.items():
        if value is not None:
            os.environ[f"HIPBOT_{name.upper()}"] = str(value)
    os.environ["HIPBOT_BUILD_ON_START"] = "true" if build else "false"
    if not settings.encoder_threads:  # the workers share the cores rather than each taking two
        os.environ["HIPBOT_ENCODER_THREADS"] = str(encoder_threads(0, workers))
    config = uvicorn.Config(
        "hipbot.cli:worker_app",
        factory=True,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    Multiprocess(config, sockets=[listener]).run()


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a busy port is reported before anything starts.

    uvicorn binds its own sockets with protocol 0, and asyncio only sets TCP_NODELAY on sockets that say
    TCP: replies would then wait ~40 ms on delayed ACKs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; stop what is using it or choose another "
            "port with --port or HIPBOT_PORT"
        ) from None
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def worker_app() -> Any:
    """The app of one uvicorn worker process (its entry point, so it sets up logging)."""
    import os

    from .api import create_app
    from .config import get_settings

    configure_offline()
    setup_logging(False, get_settings().log_level)
    return create_app(build=os.environ.get("HIPBOT_BUILD_ON_START", "true") == "true")


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
@env_option(
    "--encoder", type=click.Choice(["auto", "onnx", "torch"]), help="Query encoder to measure.", env="ENCODER"
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

    settings = make_settings(None, encoder=encoder, **options)
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
@click.option(
    "--if-stale", is_flag=True, help="Only build when the index does not match the corpus and settings."
)
@settings_options
def index_build(if_stale: bool, **options: Any) -> None:
    """Build the index from the corpus. Articles with problems are left out and reported (all of them,
    with file and line); the command then exits with status 1."""
    from .embedding import SentenceTransformerEncoder
    from .index import StepBars, build_index, writable_index_dir
    from .live import build_lock
    from .triage.artifact import ensure_model

    settings = make_settings(INDEX_SETTINGS, **options)
    with friendly_errors():
        writable_index_dir(settings.index_dir)
        with build_lock(settings.index_dir):
            if if_stale and stale_reason(settings) is None:
                click.echo(f"{settings.index_dir} is up to date")
                return
            encoder = SentenceTransformerEncoder(settings.model)
            manifest = build_index(settings, encoder, progress=tqdm_progress)
            # The learned triage is retrained here too when its labelled examples changed.
            with StepBars(step_progress) as step:
                ensure_model(settings.index_dir, encoder, step=step)
    click.echo(
        f"Built {settings.index_dir}: {manifest['articles']} articles, {manifest['chunks']} passages, "
        f"{manifest['model']} ({manifest['model_dimension']} dims) in {manifest['build_seconds']}s"
        + _reused_note(manifest)
    )
    report_problems(manifest.get("problems") or [])


def _reused_note(manifest: dict[str, Any]) -> str:
    """How many texts the build took from the previous build instead of embedding them."""
    reused, total = manifest.get("reused_vectors") or 0, manifest.get("embedded_texts") or 0
    return f" ({total - reused} of {total} texts embedded, the rest reused)" if reused else ""


def report_problems(problems: list[dict[str, Any]]) -> None:
    """Print every corpus problem and exit with status 1 when there is any."""
    if not problems:
        return
    click.echo(click.style(f"{len(problems)} file(s) left out:", fg="red", bold=True), err=True)
    for problem in problems:
        where = f"{problem['file']}:{problem['line']}" if problem.get("line") else problem["file"]
        click.echo(f"  {where}: {problem['problem']}", err=True)
    raise SystemExit(1)


@index.command("check")
@settings_options
def index_check(**options: Any) -> None:
    """Check every article and questions file of the corpus without building (exit 1 on problems)."""
    from .corpus import read_corpus, read_questions

    settings = make_settings(INDEX_SETTINGS, **options)
    with friendly_errors():
        articles, problems = read_corpus(settings.corpus_dir)
        questions, question_problems = read_questions(settings.corpus_dir, articles)
    click.echo(
        f"{settings.corpus_dir}: {len(articles)} articles and {len(questions)} visitor questions usable"
    )
    report_problems([p.as_dict() for p in [*problems, *question_problems]])
    click.echo("no problems found")


@index.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@settings_options
def index_info(as_json: bool, **options: Any) -> None:
    """Show the index manifest and whether it matches the corpus."""
    from .index import read_manifest

    settings = make_settings(INDEX_SETTINGS, **options)
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


main.add_command(triage)
