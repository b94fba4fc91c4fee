"""The reply: a short answer of quoted sentences with [n] markers, the passages, a disclaimer, follow-ups."""

from __future__ import annotations

import re

from .question_bank import Chip
from .retrieval import Hit
from .schema import Passage
from .triage import emergency_number

SCOPE_NOTE = (
    "I can help with hip, pelvis, back and leg pain: tight hip flexors, stretches, sciatica and sitting, "
    "driving, cycling, yoga, and recovery after surgery, answering from the store's articles."
)
NOT_FOUND = "I couldn't find anything about that in the articles I answer from. " + SCOPE_NOTE
OUT_OF_SCOPE = "Sorry, that's outside what I can help with. " + SCOPE_NOTE
_NUMBERING = re.compile(r"^\d+\.\s+")


def disclaimer(region: str) -> str:
    """General-information disclaimer with the region's emergency number; it names no product."""
    number = emergency_number(region)
    return (
        "This is general information from the store's articles, not medical advice, and it cannot diagnose "
        "you. See a doctor or physiotherapist about pain that persists or worries you. "
        f"In an emergency, call {number}."
    )


def passages_from_hits(hits: list[Hit], hidden: dict[int, set[int]] | None = None) -> list[Passage]:
    """Number the hits as passages; sentences listed in `hidden` (per chunk id) are elided."""
    hidden = hidden or {}
    return [
        Passage(
            n=n,
            title=hit.chunk.title,
            section=hit.chunk.section,
            text=hit.chunk.render(hidden.get(hit.chunk.id)),
            source=hit.chunk.source,
            score=round(hit.score, 4),
            url=hit.chunk.url,
        )
        for n, hit in enumerate(hits, start=1)
    ]


def suggestions(chips: list[Chip], hits: list[Hit], asked: str, limit: int = 3) -> list[str]:
    """Follow-up questions: checked suggestions (each answered directly by its own section) for the
    sections nearest the best passage in its article, then for the other passages' articles."""
    if not hits:
        return starters(chips, limit)
    shown = {(hit.chunk.file, hit.chunk.section) for hit in hits[:3]}
    asked_key = asked.strip().lower().rstrip("?")
    out: list[str] = []
    for hit in hits[:3]:
        near = sorted(
            (c for c in chips if c.file == hit.chunk.file and (c.file, c.section) not in shown),
            key=lambda c: abs(c.chunk - hit.chunk.id),
        )
        for chip in near:
            if chip.question not in out and chip.question.lower().rstrip("?") != asked_key:
                out.append(chip.question)
            if len(out) == limit:
                return out
    # an article with few checked suggestions: offer other articles' ones rather than none
    for chip in chips:
        if len(out) == limit:
            break
        if chip.question not in out and chip.question.lower().rstrip("?") != asked_key:
            out.append(chip.question)
    return out


def starters(chips: list[Chip], limit: int = 3) -> list[str]:
    """Questions to offer at the start or after small talk: one per article, in corpus order."""
    out: list[str] = []
    seen: set[str] = set()
    for chip in chips:
        if chip.file not in seen:
            seen.add(chip.file)
            out.append(chip.question)
        if len(out) == limit:
            break
    return out


GREETING = (
    "Hello! I answer questions about hip, back and leg pain from the store's articles: tight hip flexors, "
    "stretches, sciatica and sitting, driving, cycling, yoga and recovery after surgery. What would you "
    "like to know?"
)
SMALL_TALK = {
    "greeting": GREETING,
    "thanks": "You're welcome! Is there anything else you'd like to know about your hips or back?",
    "goodbye": "Take care! Come back any time you have a question about hip, back or leg pain.",
    "ack": "Is there anything else you'd like to know? You can ask a follow-up or a new question.",
    "unclear": "Sorry, I didn't catch that. " + GREETING.removeprefix("Hello! "),
}


def partial_note(subject: str | None) -> str:
    """The sentence that opens an answer whose passages are related but do not cover the subject."""
    what = subject or "this question"
    return f"The articles don't cover {what} specifically; the closest they come is:"
