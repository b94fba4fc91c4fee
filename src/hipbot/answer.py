"""The reply: a short answer of quoted sentences with [n] markers, the passages, a disclaimer, follow-ups."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .chunking import Chunk
from .index import LoadedIndex
from .retrieval import Hit
from .safety import emergency_number
from .schema import Passage
from .text import lexical_tokens, word_count

EMERGENCY_NUMBERS = {
    "US": "911",
    "CA": "911",
    "UK": "999",
    "IE": "112",
    "EU": "112",
    "AU": "000",
    "NZ": "111",
}
SCOPE_NOTE = (
    "I can help with hip, pelvis, back and leg pain: tight hip flexors, stretches, sciatica and sitting, "
    "driving, cycling, yoga, and recovery after surgery, answering from the store's articles."
)
NOT_FOUND = "I couldn't find anything about that in the articles I answer from. " + SCOPE_NOTE
OUT_OF_SCOPE = "That's outside what I can help with. " + SCOPE_NOTE
MAX_ANSWER_SENTENCES = 3
MAX_ANSWER_WORDS = 90
MIN_SENTENCE_WORDS = 6
SENTENCE_MARGIN = 0.12  # how far below the best sentence another may score and still be quoted
_NUMBERING = re.compile(r"^\d+\.\s+")


def disclaimer(region: str) -> str:
    """General-information disclaimer with the region's emergency number; it names no product."""
    number = emergency_number(region)
    return (
        "This is general information from the store's articles, not medical advice, and it cannot diagnose "
        "you. See a doctor or physiotherapist about pain that persists or worries you. "
        f"In an emergency, call {number}."
    )


@dataclass
class Candidate:
    """A sentence that could be quoted in the answer."""

    passage: int  # 1-based passage number
    order: int  # sentence position in the passage
    text: str
    score: float


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


def answer_candidates(
    index: LoadedIndex,
    hits: list[Hit],
    query_vector: np.ndarray,
    query: str,
    hidden: dict[int, set[int]] | None = None,
    passages: int = 3,
) -> list[Candidate]:
    """Score the sentences of the top passages against the question."""
    hidden = hidden or {}
    query_words = set(lexical_tokens(query))
    candidates: list[Candidate] = []
    for n, hit in enumerate(hits[:passages], start=1):
        vectors = index.chunk_sentence_vectors(hit.chunk.id)
        similarity = vectors @ query_vector
        for order, sentence in enumerate(hit.chunk.sentences):
            if order in hidden.get(hit.chunk.id, set()) or not _quotable(sentence):
                continue
            overlap = len(query_words & set(lexical_tokens(sentence))) / max(len(query_words), 1)
            score = float(similarity[order]) + 0.15 * overlap + 0.1 * hit.score - 0.03 * (n - 1)
            candidates.append(Candidate(n, order, sentence, score))
    return candidates


# Sentences about the article itself ("In this article, you'll learn ...") answer nothing.
_ABOUT_THE_ARTICLE = re.compile(
    r"\b(in this (article|blog|post|interview)|you(’|')ll learn|keep reading|read on|"
    r"let(’|')s (take a look|find out|learn)|here are (several|some|a few|three|four)|below\b)",
    re.IGNORECASE,
)


def _quotable(sentence: str) -> bool:
    """A sentence worth quoting on its own: long enough, not a question, not about the article itself."""
    return (
        word_count(sentence) >= MIN_SENTENCE_WORDS
        and not sentence.rstrip().endswith("?")
        and not _ABOUT_THE_ARTICLE.search(sentence)
    )


def compose_answer(candidates: list[Candidate]) -> str:
    """The 1-3 best sentences, in reading order, each followed by its citation marker."""
    if not candidates:
        return ""
    ranked = sorted(candidates, key=lambda c: -c.score)
    chosen = [ranked[0]]
    words = word_count(ranked[0].text)
    for candidate in ranked[1:]:
        if len(chosen) == MAX_ANSWER_SENTENCES or candidate.score < ranked[0].score - SENTENCE_MARGIN:
            break
        if words + word_count(candidate.text) > MAX_ANSWER_WORDS:
            continue
        chosen.append(candidate)
        words += word_count(candidate.text)
    chosen.sort(key=lambda c: (c.passage, c.order))
    return " ".join(f"{c.text} [{c.passage}]" for c in chosen)


def section_positions(chunks: list[Chunk]) -> dict[str, list[tuple[str, int]]]:
    """Per article file, each passage's section heading and position (for follow-up suggestions)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for chunk in chunks:
        if chunk.section:
            out.setdefault(chunk.file, []).append((chunk.section, chunk.position))
    return out


def suggestions(
    sections: dict[str, list[tuple[str, int]]],
    hits: list[Hit],
    asked: str,
    skip: Callable[[str], bool] | None = None,
    limit: int = 3,
) -> list[str]:
    """Follow-up questions from the headings and FAQ questions nearest the top passage in its article."""
    if not hits:
        return []
    top = hits[0].chunk
    shown = {hit.chunk.section for hit in hits[:3]}
    seen: dict[str, int] = {}
    for section, position in sections.get(top.file, []):
        if section in shown or (skip and skip(section)):
            continue
        distance = abs(position - top.position)
        seen[section] = min(distance, seen.get(section, distance))
    asked_norm = asked.strip().lower()
    ranked = sorted(seen, key=lambda s: (not s.endswith("?"), seen[s]))
    out = [_NUMBERING.sub("", s) for s in ranked if s.strip().lower() != asked_norm]
    return out[:limit]
