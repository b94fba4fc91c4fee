"""`hipbot triage`: check how a message is triaged, measure it on a labelled file, retrain it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import click

from .cli_common import INDEX_SETTINGS, env_option, friendly_errors, load_bot, make_settings, settings_options
from .index import StepBars
from .terminal import step_progress, wrap


class MessageOrCommand(click.Group):
    """A group whose first argument is either one of its commands or a message for its default one."""

    default_command = "check"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(cls=MessageOrCommand)
def triage() -> None:
    """Check how a message is triaged, measure the triage on a labelled file, or retrain it.

    \b
      hipbot triage "my mum fell and can't get up"
      hipbot triage --file messages.jsonl
      hipbot triage train
    """


@triage.command("check", hidden=True)
@click.argument("message", required=False)
@click.option(
    "--file",
    "labelled",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON-lines file of labelled messages: print a confusion table per category.",
)
@click.option(
    "--examples", default=5, show_default=True, type=click.IntRange(0, 20), help="Nearest labelled examples."
)
@env_option(
    "--triage-model",
    env="TRIAGE_MODEL",
    type=click.Path(file_okay=False, path_type=Path),
    help="A model folder written by `hipbot triage train --output` to use instead of the packaged one.",
)
@settings_options
def triage_check(message: str | None, labelled: Path | None, examples: int, **options: Any) -> None:
    """Triage MESSAGE and explain the decision, or measure the triage on a labelled --file."""
    from .triage.review import Confusion, load_exemplars, read_labelled

    if bool(message) == bool(labelled):
        raise click.UsageError('give a MESSAGE in quotes or --file FILE, e.g. hipbot triage "my hip hurts"')
    settings = make_settings(**options)
    with friendly_errors():
        bot = load_bot(settings)
    if labelled:
        try:
            records = read_labelled(labelled)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if not records:
            raise click.ClickException(
                f"{labelled} holds no labelled messages (message/turns with expect or level)"
            )
        with click.progressbar(records, label="triaging", file=sys.stderr) as bar:
            confusion = Confusion.measure(bot.triage, bar)
        click.echo("\n".join(confusion.table()))
        click.echo("  ".join(f"{k} {v}" for k, v in confusion.figures().items()))
        return
    assert message is not None
    decision = bot.triage([message])
    analysis = bot.analyzer.analyse([message])  # cached: the vector for the nearest examples
    colour = {"none": "green", "caution": "yellow"}.get(decision.level, "red")
    click.echo(
        click.style(f"decision: {decision.to_safety().level}", fg=colour, bold=True)
        + f"  (level {decision.level}, category {decision.category or '-'})"
    )
    click.echo(f"detectors: {', '.join(decision.detectors) or 'none fired'}")
    for line in decision.explanations:
        click.echo(f"  {line}")
    if decision.language != "en":
        click.echo(f"language: {decision.language}")
    if decision.message:
        click.echo(wrap(decision.message))
    if examples:
        with friendly_errors():
            exemplars = load_exemplars(settings.index_dir, bot.encoder)
        click.echo(click.style("nearest labelled examples", bold=True))
        for similarity, example in exemplars.nearest(analysis.message.vector, examples):
            text = " / ".join(example.turns)
            click.echo(
                f"  {similarity:.2f} {example.level:9} {example.category:28} {textwrap.shorten(text, 70)}"
            )
            click.echo(click.style(f"       {example.source}", dim=True))


@triage.command("train")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the model (default: the package's triage/model folder).",
)
@click.option(
    "--folds",
    default=5,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Cross-validation folds for the report and thresholds (1: none).",
)
@click.option(
    "--seed",
    type=int,
    help="Seed of the detector's initial weights and batch order (default: the one the packaged model was "
    "trained with); train with a few to judge a data change.",
)
@settings_options
def triage_train(output: Path | None, folds: int, seed: int | None, **options: Any) -> None:
    """Retrain the learned red-flag detector on the labelled examples and write it with its report."""
    from .embedding import SentenceTransformerEncoder
    from .triage.artifact import packaged_folder, save_model, train_model

    settings = make_settings(INDEX_SETTINGS, **options)
    target = output or packaged_folder()
    with friendly_errors():
        with StepBars(step_progress) as step:
            model = train_model(SentenceTransformerEncoder(settings.model), step, folds, seed)
        save_model(model, target)
    scored = model.report.get("at_thresholds", {})
    click.echo(
        f"Trained the triage model on {model.report['examples']} examples in {model.report['seconds']}s "
        f"and wrote it to {target}"
    )
    if scored:
        click.echo("cross-validated: " + "  ".join(f"{k} {v}" for k, v in scored.items()))
