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
            entries.append(BankEntry(question.question, best, tuple(options)))
            kept.append(i)
    return entries, question_vectors[kept]


@dataclass(frozen=True)
class Chip:
    """A suggested question: it belongs to a section, and retrieval answers it directly from there."""

    question: str
    chunk: int
    file: str
    section: str | None
