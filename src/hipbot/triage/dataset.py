"""The labelled triage examples in `data/train/*.jsonl`: reviewed data the learned detector is fitted on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..jsonl import read_lines
from .advice import LEVELS, Advice, load_advice

RESOLVED = "resolved_in_conversation"  # a red flag said earlier, then said to be dealt with
RESOLUTION_FILE = "resolution.jsonl"  # single turns: does this turn say the problem has been dealt with?


class DatasetError(ValueError):
    """A labelled file that cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Example:
    """One labelled message or conversation (user turns, oldest first)."""

    turns: tuple[str, ...]
    category: str
    level: str
    why: str
    lang: str = "en"
    evidence: str | None = None
    source: str = ""

    @property
    def text(self) -> str:
        """All user turns, one per line."""
        return "\n".join(self.turns)


def train_folder() -> Path:
    """The packaged folder of labelled files."""
    return Path(str(resources.files("hipbot.triage.data").joinpath("train")))


def training_files(folder: Path | None = None) -> list[Path]:
    """The labelled files, in name order (the resolution file apart)."""
    folder = folder or train_folder()
    return sorted(p for p in folder.glob("*.jsonl") if p.name != RESOLUTION_FILE)


def parse_example(record: object, where: str, advice: Advice) -> Example:
    """Validate one JSON record against the categories and levels of the advice file."""
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: each line must be a JSON object")
    turns = record.get("turns") or ([record["message"]] if record.get("message") else [])
    if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise DatasetError(f"{where}: needs a non-empty 'message' or a 'turns' list of strings")
    category, level = record.get("category"), record.get("level")
    if level not in LEVELS:
        raise DatasetError(f"{where}: level {level!r} is not one of {', '.join(LEVELS)}")
    if level == "none":
        if not isinstance(category, str) or not (category.startswith("benign_") or category == RESOLVED):
            raise DatasetError(
                f"{where}: a 'none' example's category starts with 'benign_' or is '{RESOLVED}'"
            )
    elif category not in advice.categories:
        raise DatasetError(f"{where}: category {category!r} is not in advice.toml")
    elif advice.level_of(category) != level:
        raise DatasetError(
            f"{where}: category {category} has level {advice.level_of(category)} in advice.toml, not {level}"
        )
    evidence = record.get("evidence")
    return Example(
        tuple(turns),
        str(category),
        str(level),
        str(record.get("why", "")),
        str(record.get("lang", "en")),
        evidence if isinstance(evidence, str) and evidence.strip() else None,
        where,
    )


def read_examples(path: Path, advice: Advice | None = None) -> list[Example]:
    """The examples of one JSON-lines file."""
    advice = advice or load_advice()
    lines = read_lines(path, DatasetError, path.name)
    return [parse_example(record, where, advice) for where, record in lines]


def load_examples(folder: Path | None = None) -> list[Example]:
    """Every labelled example of the training folder."""
    return [example for path in training_files(folder) for example in read_examples(path)]


@dataclass(frozen=True)
class ResolutionExample:
    """One user turn, and whether it says an earlier problem has been dealt with."""

    text: str
    resolved: bool


def load_resolution_examples(folder: Path | None = None) -> list[ResolutionExample]:
    """The labelled turns for the resolution detector (`{"message", "resolved": true|false}`)."""
    path = (folder or train_folder()) / RESOLUTION_FILE
    out = []
    for where, record in read_lines(path, DatasetError, path.name):
        try:
            out.append(ResolutionExample(str(record["message"]), bool(record["resolved"])))
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{where}: needs 'message' and 'resolved' ({exc})") from None
    return out


def data_fingerprint(folder: Path | None = None) -> str:
    """A hash of every labelled file and the advice file: the detector is retrained when it changes."""
    folder = folder or train_folder()
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.jsonl")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    advice = resources.files("hipbot.triage.data").joinpath("advice.toml").read_bytes()
    digest.update(advice)
    return digest.hexdigest()[:16]
