"""What each red-flag category means and what to tell the person: the reviewed `advice.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

LEVELS = ("none", "caution", "same_day", "emergency", "crisis")
ESCALATING = ("same_day", "emergency", "crisis")  # levels whose reply is the advice first and only
# How serious a level is; crisis sits beside emergency (both call for help now, with different words).
SEVERITY = {"none": 0, "caution": 1, "same_day": 2, "crisis": 3, "emergency": 4}
CONTRACT_LEVEL = {
    "none": "none",
    "caution": "caution",
    "same_day": "urgent",
    "emergency": "urgent",
    "crisis": "urgent",
}
ADVICE_FILE = "advice.toml"


class AdviceError(ValueError):
    """The advice file is malformed; the message names the problem."""


@dataclass(frozen=True)
class Category:
    """A kind of red flag: its level and the reason shown to the person."""

    name: str
    level: str
    reason: str


@dataclass(frozen=True)
class Advice:
    """Levels' messages, regions' contacts and every category."""

    levels: dict[str, dict[str, str]]
    regions: dict[str, dict[str, str]]
    categories: dict[str, Category]

    def region(self, name: str) -> dict[str, str]:
        """Emergency, same-day and crisis contacts for a region (the US ones when unknown)."""
        return self.regions.get(name.upper()) or self.regions["US"]

    def level_of(self, category: str) -> str:
        """The level of a category."""
        return self.categories[category].level

    def message(self, category: str, region: str) -> str:
        """The advice shown first: what to do and how fast, why, and what not to do."""
        found = self.categories[category]
        level = self.levels[found.level]
        parts = [level["lead"], found.reason, level["tail"]]
        return " ".join(p.format(**self.region(region)) for p in parts if p).strip()


def parse_advice(data: dict[str, Any]) -> Advice:
    """Validate an advice document."""
    levels = data.get("levels", {})
    for level in ("caution", *ESCALATING):
        if not {"lead", "tail"} <= set(levels.get(level, {})):
            raise AdviceError(f"[levels.{level}] needs a lead and a tail")
    regions = data.get("regions", {})
    if "US" not in regions:
        raise AdviceError("[regions.US] is missing (it is the default region)")
    for name, contacts in regions.items():
        missing = {"emergency", "same_day", "crisis"} - set(contacts)
        if missing:
            raise AdviceError(f"[regions.{name}] lacks {', '.join(sorted(missing))}")
    categories = {}
    for name, spec in data.get("categories", {}).items():
        level = spec.get("level")
        if level not in LEVELS[1:]:
            raise AdviceError(f"[categories.{name}]: level {level!r} is not one of {', '.join(LEVELS[1:])}")
        categories[name] = Category(name, level, spec.get("reason", ""))
    return Advice(levels, regions, categories)


def read_reviewed_toml(path: Path | None, packaged: str) -> dict[str, Any]:
    """A reviewed TOML file: the one at `path`, or the packaged file of that name in `triage/data`."""
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("hipbot.triage.data").joinpath(packaged).read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


@lru_cache(maxsize=4)
def load_advice(path: Path | None = None) -> Advice:
    """The advice from a file, or the packaged `advice.toml`."""
    return parse_advice(read_reviewed_toml(path, ADVICE_FILE))


def emergency_number(region: str) -> str:
    """The emergency number of a region."""
    return load_advice().region(region)["emergency"]
