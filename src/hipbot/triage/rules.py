"""The reviewed red-flag rules in `red_flags.toml`: concepts found by patterns, rules combining them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..text import normalize
from .advice import SEVERITY, Advice, load_advice, read_reviewed_toml

NEGATION_WINDOW = 5  # words before a match, in the same clause, that can negate it ("no fever or numbness")
# "Fever? No." "Bladder: normal." A form-style answer after the match negates it.
_ANSWERED_NO = re.compile(r"^\W{0,3}[?:\-]\s*(a[.:]\s*)?(no|none|nil|n/a|negative|normal|never)\b")
_CLAUSE_END = re.compile(r"[,;.!?]|\b(but|although|though|however|except|now|today|then)\b")
RULES_FILE = "red_flags.toml"


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

    def describe(self, present: set[str]) -> str:
        """The rule as a reviewer reads it: the category and the concepts that matched."""
        group = next((g for g in self.when if set(g) <= present), self.when[0])
        return f"{self.category}: {' + '.join(group)}"


@dataclass
class RedFlagRules:
    """The parsed rules file."""

    concepts: dict[str, Concept]
    rules: list[Rule]
    negation_words: frozenset[str]


def _compile(patterns: list[str], where: str) -> list[re.Pattern[str]]:
    try:
        return [re.compile(p) for p in patterns]
    except re.error as exc:
        raise RulesError(f"{where}: bad pattern ({exc})") from None


def parse_rules(data: dict[str, Any], advice: Advice) -> RedFlagRules:
    """Validate and compile a rules document against the categories of the advice file."""
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
        category = spec.get("category", "")
        if category not in advice.categories:
            raise RulesError(f"rule {category!r}: the category is not in advice.toml")
        rule = Rule(category, advice.level_of(category), spec["when"], spec.get("unless", []))
        for name in [n for group in rule.when for n in group] + rule.unless:
            if name not in concepts:
                raise RulesError(f"rule {rule.category}: unknown concept {name!r}")
        rules.append(rule)
    return RedFlagRules(concepts, rules, frozenset(data.get("negation_words", [])))


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> RedFlagRules:
    """The rules from a file, or the packaged `red_flags.toml`."""
    return parse_rules(read_reviewed_toml(path, RULES_FILE), load_advice())


def prepare(text: str) -> str:
    """Lowercase, straighten quotes and dashes, collapse whitespace."""
    return normalize(text).lower()


def _negated(text: str, match: re.Match[str], negations: frozenset[str]) -> bool:
    """Whether a negation word comes shortly before the match in its clause, or inside the match
    ("calf is not swollen")."""
    before = text[max(0, match.start() - 60) : match.start()]
    clause = _CLAUSE_END.split(before)[-1] if _CLAUSE_END.search(before) else before
    words = re.findall(r"[a-z']+", clause)[-NEGATION_WINDOW:] + re.findall(r"[a-z']+", match.group(0))
    return any(word in negations for word in words) or bool(_ANSWERED_NO.match(text[match.end() :]))


def concept_present(concept: Concept, text: str, negations: frozenset[str]) -> bool:
    """Whether a concept is stated (and not negated or ruled out) in the text."""
    if any(p.search(text) for p in concept.not_if):
        return False
    for pattern in concept.patterns:
        for match in pattern.finditer(text):
            if not concept.negatable or not _negated(text, match, negations):
                return True
    return False


@dataclass(frozen=True)
class RuleMatch:
    """The most serious rule that fired, and how a reviewer would read it."""

    category: str
    level: str
    explanation: str


def match_rules(texts: list[str], rules: RedFlagRules | None = None) -> RuleMatch | None:
    """The most serious rule whose conditions hold in the texts read together, or None."""
    rules = rules or load_rules()
    text = prepare(" \n ".join(texts))
    cache: dict[str, bool] = {}

    def present(name: str) -> bool:
        if name not in cache:
            cache[name] = concept_present(rules.concepts[name], text, rules.negation_words)
        return cache[name]

    fired = [
        rule
        for rule in rules.rules
        if any(all(present(n) for n in group) for group in rule.when)
        and not any(present(n) for n in rule.unless)
    ]
    if not fired:
        return None
    worst = max(fired, key=lambda r: SEVERITY[r.level])
    matched = {name for name, found in cache.items() if found}
    return RuleMatch(worst.category, worst.level, "rule " + worst.describe(matched))
