"""A message analysed once: its normalised text, its clauses and their vectors, read by every stage.

Triage, scope, retrieval and the answer all work from one `Analysis`: the user's turns split into clauses,
every clause and every whole turn embedded in a single batched encoder call (texts seen before come from
a small cache), plus the phrasings retrieval searches for.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .embedding import Encoder
from .text import normalize

MAX_UNIT_WORDS = 24  # a longer sentence is cut at commas and conjunctions
MIN_UNIT_WORDS = 3  # shorter pieces join their neighbour
MAX_UNITS = 16  # per turn; beyond this, neighbouring clauses are merged

_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\s*\n+\s*|\s+[-–—]\s+")
_CLAUSE_BREAK = re.compile(
    r",\s+|\s+(?=(?:but|and then|and now|so|because|though|although|which|except|plus)\s)", re.IGNORECASE
)


def split_units(text: str) -> list[str]:
    """A message cut into clauses: sentences, and long sentences again at commas and conjunctions."""
    units: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip()
        if not sentence:
            continue
        pieces = [sentence] if len(sentence.split()) <= MAX_UNIT_WORDS else _CLAUSE_BREAK.split(sentence)
        units.extend(_join_short([p.strip() for p in pieces if p and p.strip()]))
    units = _join_short(units)
    while len(units) > MAX_UNITS:
        shortest = min(range(len(units) - 1), key=lambda i: len(units[i]) + len(units[i + 1]))
        units[shortest : shortest + 2] = [f"{units[shortest]} {units[shortest + 1]}"]
    return units or ([text.strip()] if text.strip() else [])


def _join_short(pieces: list[str]) -> list[str]:
    """Attach pieces of fewer than MIN_UNIT_WORDS words to the piece before (or after) them."""
    out: list[str] = []
    for piece in pieces:
        if (out and len(piece.split()) < MIN_UNIT_WORDS) or (out and len(out[-1].split()) < MIN_UNIT_WORDS):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


@dataclass
class TurnAnalysis:
    """One user turn: its normalised text, clauses, language, its vector and its tokens' states."""

    text: str
    units: list[str]
    vector: np.ndarray = field(repr=False)
    states: np.ndarray = field(repr=False)
    language: str = "en"
    foreign_vector: np.ndarray | None = field(default=None, repr=False)  # multilingual, other languages


@dataclass
class Analysis:
    """The conversation's user turns (the new message last) and the retrieval phrasings, with vectors."""

    turns: list[TurnAnalysis]
    query_texts: list[str]
    query_vectors: np.ndarray = field(repr=False)

    @property
    def message(self) -> TurnAnalysis:
        """The new message."""
        return self.turns[-1]


class VectorCache:
    """Arrays for texts seen recently (starter questions, earlier turns), least recently used dropped."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, text: str) -> np.ndarray | None:
        """The cached array, marking it recently used."""
        found = self._items.get(text)
        if found is not None:
            self._items.move_to_end(text)
        return found

    def put(self, text: str, value: np.ndarray) -> None:
        """Keep an array, dropping the oldest beyond the size."""
        if self.size <= 0:
            return
        self._items[text] = value
        self._items.move_to_end(text)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def encoder_pieces(text: str, units: list[str]) -> list[str]:
    """What is encoded for a turn: the turn itself, or for a very long one (past the encoder's token
    limit) consecutive groups of its clauses."""
    if len(text.split()) <= MAX_PIECE_WORDS:
        return [text]
    pieces: list[str] = []
    for unit in units:
        if pieces and len(pieces[-1].split()) + len(unit.split()) <= MAX_PIECE_WORDS:
            pieces[-1] = f"{pieces[-1]} {unit}"
        else:
            pieces.append(unit)
    return pieces


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


class Analyzer:
    """Analyses messages with one encoder: every text not cached is encoded once, in one batched call."""

    def __init__(self, encoder: Encoder, cache_size: int = 1024, multilingual: bool = True) -> None:
        self.encoder = encoder
        self.multilingual = multilingual
        self._vectors = VectorCache(cache_size)
        self._states = VectorCache(min(cache_size, TOKEN_CACHE_SIZE))

    def analyse(self, user_turns: Sequence[str], query_texts: Sequence[str] = ()) -> Analysis:
        """Split each user turn into clauses, find its language, and embed turns and query phrasings."""
        texts = [normalize(turn) for turn in user_turns]
        units = [split_units(text) for text in texts]
        pieces = [encoder_pieces(text, turn_units) for text, turn_units in zip(texts, units, strict=True)]
        queries = [normalize(q) for q in query_texts]
        vectors, states = self._encode([p for turn_pieces in pieces for p in turn_pieces], queries)
        turns = []
        for text, turn_units, turn_pieces in zip(texts, units, pieces, strict=True):
            piece_vectors = [vectors[p] for p in turn_pieces]
            vector = piece_vectors[0] if len(piece_vectors) == 1 else _unit(np.mean(piece_vectors, axis=0))
            language, foreign = self._language(text)
            turn_states = np.concatenate([states[p] for p in turn_pieces])
            turns.append(TurnAnalysis(text, turn_units, vector, turn_states, language, foreign))
        query_vectors = (
            np.vstack([vectors[q] for q in queries])
            if queries
            else np.zeros((0, self.encoder.dimension), dtype=np.float32)
        )
        return Analysis(turns, queries, query_vectors)

    def _encode(
        self, state_texts: list[str], vector_texts: list[str]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Vectors for every text and token states for `state_texts`, encoding what the caches lack."""
        vectors = {t: v for t in {*state_texts, *vector_texts} if (v := self._vectors.get(t)) is not None}
        states = {t: s for t in set(state_texts) if (s := self._states.get(t)) is not None}
        missing = list(
            dict.fromkeys(
                [*(t for t in state_texts if t not in states), *(t for t in vector_texts if t not in vectors)]
            )
        )
        if missing:
            new_vectors, new_states = self.encoder.encode_with_tokens(missing)
            for text, vector, state in zip(missing, new_vectors, new_states, strict=True):
                vectors[text] = vector
                states[text] = state
                self._vectors.put(text, vector)
                self._states.put(text, state)
        return vectors, states

    def _language(self, text: str) -> tuple[str, np.ndarray | None]:
        """The turn's language and, for another language than English, its multilingual vector."""
        from .triage.language import ENGLISH, detect_language, multilingual_encoder

        language = detect_language(text) if self.multilingual else ENGLISH
        if language == ENGLISH:
            return language, None
        key = FOREIGN_KEY + text
        foreign = self._vectors.get(key)
        if foreign is None:
            foreign = multilingual_encoder().encode([text])[0]
            self._vectors.put(key, foreign)
        return language, foreign


FOREIGN_KEY = "\0multilingual\0"  # cache key prefix of multilingual vectors
TOKEN_CACHE_SIZE = 256  # token states are larger than vectors: fewer are kept
MAX_PIECE_WORDS = 160  # well inside the encoder's 256-token limit
