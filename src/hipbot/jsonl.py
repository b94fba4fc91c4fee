"""JSON Lines files: one JSON value per line, blank lines skipped, errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class JsonLinesError(ValueError):
    """A line that is not valid JSON; the message names the file and the line."""


def parse_lines(text: str, name: str, error: type[ValueError] = JsonLinesError) -> Iterator[tuple[str, Any]]:
    """Each non-blank line's value with where it was read ("name:line"); `error` is raised for a bad line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            yield where, json.loads(line)
        except ValueError as exc:
            raise error(f"{where}: not valid JSON ({exc})") from None


def read_lines(
    path: Path, error: type[ValueError] = JsonLinesError, name: str | None = None
) -> Iterator[tuple[str, Any]]:
    """The values of a JSON Lines file, each with where it was read (`name` defaults to the path)."""
    return parse_lines(path.read_text(encoding="utf-8"), name or str(path), error)
