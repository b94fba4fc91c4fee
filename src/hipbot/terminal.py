"""The terminal side of the CLI: progress bars, logging set-up and readable replies."""

from __future__ import annotations

import logging
import shutil
import sys
import textwrap

import click

from .index import ProgressBar
from .schema import ChatReply


def tqdm_progress(total: int, label: str, unit: str = "text") -> ProgressBar:
    """A terminal progress bar (on stderr) for long index work."""
    from tqdm import tqdm

    bar: ProgressBar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False)
    return bar


def step_progress(total: int, label: str) -> ProgressBar:
    """A bar for one training step: encoding steps count texts, the others folds or fits."""
    return tqdm_progress(total, label, "text" if label.startswith("encoding") else "step")


def setup_logging(verbose: bool, level: str | None = None) -> None:
    """Log to stderr: warnings by default, progress detail with --verbose, or the server's level."""
    chosen = level.upper() if level else ("INFO" if verbose else "WARNING")
    logging.basicConfig(level=chosen, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    # faiss logs a traceback when its optional AVX2 build is absent and it falls back to the generic
    # one: an expected fallback, not an error.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)


def width() -> int:
    """The text width to wrap to."""
    return max(40, min(100, shutil.get_terminal_size((88, 20)).columns) - 2)


def wrap(text: str, indent: str = "  ", hanging: str | None = None) -> str:
    """Wrap paragraphs to the terminal width (`hanging` indents the lines after the first)."""
    lines = text.splitlines() or [""]
    return "\n".join(
        textwrap.fill(line, width(), initial_indent=indent, subsequent_indent=hanging or indent)
        for line in lines
        if line.strip()
    )


def render_reply(reply: ChatReply) -> str:
    """A readable terminal rendering: safety advice first (once), the answer, numbered sources,
    follow-ups, and the disclaimer under an answer."""
    out: list[str] = []
    answer = reply.answer
    advice = reply.safety.message if reply.safety.level != "none" else None
    if advice:
        colour = "red" if reply.safety.level == "urgent" else "yellow"
        label = "GET HELP NOW" if reply.safety.level == "urgent" else "SEE A DOCTOR SOON"
        out += [click.style(f"⚠ {label}", fg=colour, bold=True), wrap(advice), ""]
        answer = answer.removeprefix(advice).strip()
    if answer:
        if reply.coverage == "partial" and ":" in answer:
            note, answer = answer.split(":", 1)
            out.append(click.style(wrap(note.strip() + "."), fg="yellow"))
        out += [click.style("Answer", bold=True), wrap(answer.strip()), ""]
    if reply.passages:
        out.append(click.style("Sources", bold=True))
        for passage in reply.passages:
            where = f"{passage.title} — {passage.section}" if passage.section else passage.title
            out.append(click.style(wrap(f"[{passage.n}] {where}", "  ", "      "), fg="cyan"))
            out.append(wrap(passage.text, "      "))
            out.append(click.style(f"      {passage.source}", dim=True))
        out.append("")
    if reply.suggestions:
        out.append(click.style("You could also ask", bold=True))
        out += [wrap(f"• {s}", "  ", "    ") for s in reply.suggestions]
        out.append("")
    if reply.passages and reply.in_scope:
        out.append(click.style(wrap(reply.disclaimer, ""), dim=True))
    return "\n".join(out).rstrip() + "\n"
