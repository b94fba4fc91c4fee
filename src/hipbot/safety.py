"""Red-flag triage before retrieval, driven by the reviewed rules in `data/red_flags.toml`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .schema import Safety
from .text import normalize

SEVERITY = {"emergency": 4, "crisis": 3, "urgent": 2, "caution": 1}
CONTRACT_LEVEL = {"emergency": "urgent", "crisis": "urgent", "urgent": "urgent", "caution": "caution"}
NEGATION_WINDOW = 3  # words before a match that can negate it ("no numbness", "without fever")


class RulesError(ValueError):
    """The red-flag rules file is malformed; the message names the problem."""


@dataclass
class Concept:
    """A symptom or circumstance, found by any of its patterns unless negated."""

    name: str
    patterns: list[re.Pattern[str]]
    not_if: list[re.Pattern[str]] = field(default_factory=list)
    negatable: bool = True


@dataclass
class Rule:
    """A red flag: any `when` list of concepts all present, none of `unless`."""

    category: str
    level: str
    when: list[list[str]]
    unless: list[str]
    reason: str


@dataclass
class Triage:
    """The outcome: the rule that fired (if any) and the words to show first."""

    level: str | None = None  # emergency | urgent | crisis | caution
    category: str | None = None
    message: str | None = None

    @property
    def escalated(self) -> bool:
        """Whether the reply must be only the advice (no passages)."""
        return self.level in ("emergency", "urgent", "crisis")

    def to_safety(self) -> Safety:
        """The contract's safety object."""
        if not self.level:
            return Safety()
        return Safety(level=CONTRACT_LEVEL[self.level], category=self.category, message=self.message)


@dataclass
class RedFlagRules:
    """The parsed rules file."""

    concepts: dict[str, Concept]
    rules: list[Rule]
    levels: dict[str, dict[str, str]]
    regions: dict[str, dict[str, str]]
    negation_words: frozenset[str]

    def region(self, name: str) -> dict[str, str]:
        """Emergency and crisis contacts for a region (the US ones when unknown)."""
        return self.regions.get(name) or self.regions["US"]


def _compile(patterns: list[str], where: str) -> list[re.Pattern[str]]:
    try:
        return [re.compile(p) for p in patterns]
    except re.error as exc:
        raise RulesError(f"{where}: bad pattern ({exc})") from None


def parse_rules(data: dict[str, Any]) -> RedFlagRules:
    """Validate and compile a rules document."""
    concepts = {
        name: Concept(
            name,
            _compile(spec.get("patterns", []), f"concept {name}"),
            _compile(spec.get("not_if", []), f"concept {name}"),
            bool(spec.get("negatable", True)),
        )
        for name, spec in data.get("concepts", {}).items()
    }
    rules = []
    for spec in data.get("rule", []):
        rule = Rule(
            spec["category"], spec["level"], spec["when"], spec.get("unless", []), spec.get("reason", "")
        )
        if rule.level not in SEVERITY:
            raise RulesError(f"rule {rule.category}: unknown level {rule.level!r}")
        for name in [n for group in rule.when for n in group] + rule.unless:
            if name not in concepts:
                raise RulesError(f"rule {rule.category}: unknown concept {name!r}")
        rules.append(rule)
    levels = data.get("levels", {})
    for level in SEVERITY:
        if level not in levels:
            raise RulesError(f"missing [levels.{level}] messages")
    return RedFlagRules(
        concepts, rules, levels, data.get("regions", {}), frozenset(data.get("negation_words", []))
    )


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> RedFlagRules:
    """The rules from a file, or the packaged `red_flags.toml`."""
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("hipbot.data").joinpath("red_flags.toml").read_text(encoding="utf-8")
    )
    return parse_rules(tomllib.loads(text))


def prepare(text: str) -> str:
    """Lowercase, straighten quotes and dashes, collapse whitespace."""
    return normalize(text).lower()


def _negated(text: str, start: int, negations: frozenset[str]) -> bool:
    before = re.findall(r"[a-z']+", text[max(0, start - 40) : start])[-NEGATION_WINDOW:]
    return any(word in negations for word in before)


def concept_present(concept: Concept, text: str, negations: frozenset[str]) -> bool:
    """Whether a concept is stated (and not negated or ruled out) in the text."""
    if any(p.search(text) for p in concept.not_if):
        return False
    for pattern in concept.patterns:
        for match in pattern.finditer(text):
            if not concept.negatable or not _negated(text, match.start(), negations):
                return True
    return False


def fired_rules(rules: RedFlagRules, text: str) -> list[Rule]:
    """Every rule whose conditions hold in the (prepared) text."""
    cache: dict[str, bool] = {}

    def present(name: str) -> bool:
        if name not in cache:
            cache[name] = concept_present(rules.concepts[name], text, rules.negation_words)
        return cache[name]

    return [
        rule
        for rule in rules.rules
        if any(all(present(n) for n in group) for group in rule.when)
        and not any(present(n) for n in rule.unless)
    ]


def compose_message(rules: RedFlagRules, rule: Rule, region: str) -> str:
    """The advice shown first: what to do and how fast, why, and what not to do."""
    contacts = rules.region(region)
    level = rules.levels[rule.level]
    parts = [level["lead"], rule.reason, level["tail"]]
    return " ".join(p.format(**contacts) for p in parts if p).strip()


def triage(user_texts: list[str], region: str = "US", rules: RedFlagRules | None = None) -> Triage:
    """Check the user's words (earlier turns and the new message) for red flags."""
    rules = rules or load_rules()
    text = prepare(" \n ".join(user_texts))
    fired = fired_rules(rules, text)
    if not fired:
        return Triage()
    worst = max(fired, key=lambda r: SEVERITY[r.level])
    return Triage(worst.level, worst.category, compose_message(rules, worst, region))


def emergency_number(region: str) -> str:
    """The emergency number of a region."""
    return load_rules().region(region)["emergency"]
