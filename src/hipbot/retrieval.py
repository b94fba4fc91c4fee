"""Hybrid retrieval: dense FAISS search and bm25s lexical scores, fused, with a relevance floor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .chunking import Chunk
from .embedding import Encoder
from .fusion import fuse, top_indices
from .index import LoadedIndex
from .text import query_tokens

EXHAUSTIVE_LIMIT = 5000  # below this many passages, every passage gets a dense score
CANDIDATES = 50  # passages taken from each of the dense and lexical rankings before fusion
SENTENCE_WEIGHT = 0.2  # share of a passage's semantic score that comes from its best sentence


@dataclass
class Hit:
    """A passage with its fused score and the two scores it came from."""

    chunk: Chunk
    score: float
    dense: float
    lexical: float


@dataclass
class Retrieval:
    """What a search found: ranked hits, whether any is relevant, and the query vector."""

    hits: list[Hit]
    relevant: bool
    query_vector: np.ndarray = field(repr=False)

    @property
    def best(self) -> float:
        """The top fused score (0 when nothing was found)."""
        return self.hits[0].score if self.hits else 0.0


class Retriever:
    """Searches one loaded index with one encoder."""

    def __init__(
        self,
        index: LoadedIndex,
        encoder: Encoder,
        dense_weight: float,
        min_relevance: float,
        cache_size: int = 1024,
    ) -> None:
        self.index = index
        self.encoder = encoder
        self._encode_one: Callable[[str], np.ndarray] = lru_cache(maxsize=cache_size)(
            lambda text: encoder.encode([text])[0]
        )
        self.dense_weight = dense_weight
        self.min_relevance = min_relevance

    def dense_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query to passages (a lower bound for passages not searched)."""
        total = self.index.vectors.ntotal
        k = total if total <= EXHAUSTIVE_LIMIT else 4 * CANDIDATES
        scores, ids = self.index.vectors.search(vector.reshape(1, -1), k)
        floor = float(scores[0][-1]) if k < total else -1.0
        dense = np.full(total, floor, dtype=np.float32)
        valid = ids[0] >= 0
        dense[ids[0][valid]] = scores[0][valid]
        return dense

    def lexical_scores(self, text: str) -> np.ndarray:
        """bm25 scores of every passage for the query's content words."""
        tokens = query_tokens(text)
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self.index.lexical.get_scores(tokens), dtype=np.float32)

    def sentence_scores(self, vector: np.ndarray, candidates: list[int]) -> np.ndarray:
        """For each candidate passage, the similarity of its best-matching sentence."""
        offsets = self.index.sentence_offsets
        starts = np.array([offsets[c] for c in candidates])
        ends = np.array([offsets[c + 1] for c in candidates])
        rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        similarity = self.index.sentence_vectors[rows] @ vector
        return np.maximum.reduceat(similarity, np.concatenate(([0], np.cumsum(ends - starts)[:-1])))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, from a small cache for questions asked before (starter and suggested ones)."""
        return np.vstack([self._encode_one(text) for text in texts])

    def search(self, texts: Sequence[str], k: int, penalty: np.ndarray | None = None) -> Retrieval:
        """Rank passages for one or more phrasings of a query (their scores are averaged);
        `penalty` (per passage) lowers passages that should rank below the rest."""
        vectors = self.encode(texts)
        dense = [self.dense_scores(vector) for vector in vectors]
        lexical = [self.lexical_scores(text) for text in texts]
        pools = [set(top_indices(scores, CANDIDATES)) for scores in (*dense, *lexical)]
        candidates = sorted(set().union(*pools))
        fused = np.zeros(len(candidates), dtype=np.float32)
        for vector, dense_scores, lexical_scores in zip(vectors, dense, lexical, strict=True):
            best_sentence = self.sentence_scores(vector, candidates)
            semantic = (1 - SENTENCE_WEIGHT) * dense_scores[candidates] + SENTENCE_WEIGHT * best_sentence
            fused += fuse(semantic, lexical_scores[candidates], self.dense_weight) / len(texts)
        ranking = fused - penalty[candidates] if penalty is not None else fused
        hits = [
            Hit(
                self.index.chunks[candidates[i]],
                float(fused[i]),
                float(np.mean([d[candidates[i]] for d in dense])),
                float(np.mean([lex[candidates[i]] for lex in lexical])),
            )
            for i in top_indices(ranking, k)
        ]
        relevant = bool(hits) and max(h.score for h in hits) >= self.min_relevance
        query_vector = vectors.mean(axis=0)
        return Retrieval(hits, relevant, query_vector / max(float(np.linalg.norm(query_vector)), 1e-9))
