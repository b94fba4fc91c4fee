"""Visitors' questions (the `<article>.questions.md` files) attached to the passages that answer them:
the pairs the query adapter learns from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunking import Chunk
from .corpus import VisitorQuestion
from .text import normalize


@dataclass(frozen=True)
class BankEntry:
    """A visitor question, the passage it belongs to, and every passage that answers it (its section's,
    or the ones holding its phrase)."""

    question: str
    chunk: int
    targets: tuple[int, ...] = ()
    phrase: str | None = None


def _contains(chunk: Chunk, phrase: str) -> bool:
    return normalize(phrase).lower() in normalize(chunk.text).lower()


def candidate_chunks(question: VisitorQuestion, chunks: list[Chunk]) -> list[int]:
    """The passages a question may belong to: those holding its phrase, or those of its section."""
    name = question.article.name
    own = [c for c in chunks if c.file.endswith("/" + name) or c.file == name]
    if question.phrase:
        return [c.id for c in own if _contains(c, question.phrase)]
    return [c.id for c in own if c.section == question.section]


def attach_questions(
    questions: list[VisitorQuestion],
    chunks: list[Chunk],
    question_vectors: np.ndarray,
    chunk_vectors: np.ndarray,
) -> tuple[list[BankEntry], np.ndarray]:
    """Each question attached to the passage of its section (or holding its phrase) nearest to it;
    returns the entries and their vectors."""
    entries, kept = [], []
    for i, (question, vector) in enumerate(zip(questions, question_vectors, strict=True)):
        options = candidate_chunks(question, chunks)
        if options:
            best = max(options, key=lambda c: float(chunk_vectors[c] @ vector))
            entries.append(BankEntry(question.question, best, tuple(options), question.phrase))
            kept.append(i)
    return entries, question_vectors[kept]


# Below this cosine a visitor question is about something else; above it, the closer the stronger.
ASKED_FLOOR = 0.6


def phrase_sentences(entries: list[BankEntry], chunks: list[Chunk]) -> dict[tuple[int, int], list[int]]:
    """For each (passage, sentence position), the visitor questions whose quoted phrase that sentence
    holds (or, for a phrase running over several sentences, is part of)."""
    found: dict[tuple[int, int], list[int]] = {}
    folded: dict[int, list[str]] = {}
    for i, entry in enumerate(entries):
        if not entry.phrase:
            continue
        phrase = normalize(entry.phrase).lower()
        for chunk_id in entry.targets:
            if chunk_id not in folded:
                folded[chunk_id] = [normalize(s).lower() for s in chunks[chunk_id].sentences]
            for order, text in enumerate(folded[chunk_id]):
                if phrase in text or (len(text) >= 20 and text in phrase):
                    found.setdefault((chunk_id, order), []).append(i)
    return found


def asked_here(
    similarity: np.ndarray, chunks: list[Chunk], sentences: dict[tuple[int, int], list[int]]
) -> list[np.ndarray]:
    """Per passage, per sentence: how similar the query is to the closest visitor question that this
    sentence answers (0 where none does). `similarity` is the query's cosine to every bank question."""
    out = []
    for chunk in chunks:
        row = np.zeros(len(chunk.sentences), dtype=np.float32)
        for order in range(len(row)):
            asked = sentences.get((chunk.id, order))
            if asked:
                closest = float(similarity[asked].max())
                row[order] = min(max((closest - ASKED_FLOOR) / (1 - ASKED_FLOOR), 0.0), 1.0)
        out.append(row)
    return out


@dataclass(frozen=True)
class Chip:
    """A suggested question: it belongs to a section, and retrieval answers it directly from there."""

    question: str
    chunk: int
    file: str
    section: str | None
