"""Fusion of dense and lexical scores: small pure functions over score arrays."""

from __future__ import annotations

import numpy as np

LEXICAL_HALF_SCORE = 6.0  # a bm25 score that maps to 0.5: keeps lexical evidence on an absolute scale


def saturate(scores: np.ndarray, half: float = LEXICAL_HALF_SCORE) -> np.ndarray:
    """Map non-negative bm25 scores into [0, 1) without looking at other documents."""
    scores = np.maximum(np.asarray(scores, dtype=np.float32), 0.0)
    return scores / (scores + half)


def fuse(dense: np.ndarray, lexical: np.ndarray, dense_weight: float) -> np.ndarray:
    """A convex mix of cosine similarity and saturated bm25; both are absolute, so a threshold holds."""
    return dense_weight * np.asarray(dense, dtype=np.float32) + (1.0 - dense_weight) * saturate(lexical)


def top_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the k highest scores, best first (ties keep document order)."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    order = np.argsort(-np.asarray(scores), kind="stable")
    return [int(i) for i in order[:k]]
