"""Long stories for training: labelled messages buried, as one text, among ordinary ones.

A visitor often mentions a red flag in passing, in the middle of a story about yoga classes and cycling
to work. Joining token states of separately encoded messages does not teach the head that case: in one
encoder pass every token's state is shaped by the whole story. So a share of the single-turn examples is
rewritten as one text with one or two ordinary messages (benign questions and mild complaints) before
and/or after it, keeping the example's label. Benign look-alikes (negated, resolved, idioms) are buried
the same way, so that length and a story's shape say nothing about the level by themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .dataset import Example

SEED = 29
URGENT_SHARE = 0.25  # of single-turn red-flag, crisis and caution examples
LOOKALIKE_SHARE = 0.15  # of single-turn benign look-alikes (every `benign_*` but plain questions)
PLAIN_STORIES = 300  # ordinary messages joined to each other (label none)
FILLER_CATEGORIES = ("benign_question", "benign_mild")
MAX_FILLER_WORDS = 40
MAX_STORY_WORDS = 140  # well inside what the analysis encodes as one piece


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."


def _bury(message: str, fillers: list[str], rng: np.random.RandomState) -> str:
    """The message with one or two fillers around it: before, after, or on both sides."""
    first, second = (fillers[int(i)] for i in rng.choice(len(fillers), 2, replace=False))
    where = rng.randint(3)
    parts = [first, message] if where == 0 else [message, first] if where == 1 else [first, message, second]
    story = " ".join(_sentence(p) for p in parts)
    if len(story.split()) > MAX_STORY_WORDS:
        story = " ".join(_sentence(p) for p in ([first, message] if where != 1 else [message, first]))
    return story


def buried_stories(examples: Sequence[Example], seed: int = SEED) -> list[tuple[int, Example]]:
    """Stories built from the English single-turn examples, each with the index of the example whose
    label it keeps (deterministic for a seed)."""
    rng = np.random.RandomState(seed)
    single = [i for i, e in enumerate(examples) if len(e.turns) == 1 and e.lang == "en"]
    fillers = [
        examples[i].turns[0]
        for i in single
        if examples[i].category in FILLER_CATEGORIES and len(examples[i].turns[0].split()) <= MAX_FILLER_WORDS
    ]
    if len(fillers) < 2:
        return []
    serious = [i for i in single if examples[i].level != "none"]
    lookalike = [
        i for i in single if examples[i].level == "none" and examples[i].category not in FILLER_CATEGORIES
    ]
    plain = [i for i in single if examples[i].category in FILLER_CATEGORIES]
    chosen = [
        *rng.choice(serious, int(len(serious) * URGENT_SHARE), replace=False),
        *rng.choice(lookalike, int(len(lookalike) * LOOKALIKE_SHARE), replace=False),
        *rng.choice(plain, min(PLAIN_STORIES, len(plain)), replace=False),
    ]
    stories = []
    for i in sorted(int(i) for i in chosen):
        example = examples[i]
        story = _bury(example.turns[0], fillers, rng)
        stories.append((i, replace(example, turns=(story,), source=f"{example.source} (in a story)")))
    return stories
