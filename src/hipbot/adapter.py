"""A query-side adapter learned from visitors' questions: it moves a question's vector towards the
passages that answer questions worded like it.

Fitted at index build time from the `<article>.questions.md` files (question -> passage pairs): a linear
map `q + qW`, trained with a softmax over every passage and kept close to the identity by an L2 penalty,
so that a corpus with few or no visitor questions keeps the plain encoder. Saved as one array.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.npy"
SEED = 7
PENALTY = 0.01  # L2 weight on W: larger keeps the adapted vector nearer the original
EPOCHS = 200
TEMPERATURE = 0.05
LEARNING_RATE = 1e-3
MIN_QUESTIONS = 50  # below this the adapter would only memorise: the identity is kept


@dataclass
class QueryAdapter:
    """`q -> normalise(q + q @ W)`; no weights means the identity."""

    weights: np.ndarray | None = None

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Adapted unit vectors, one per row."""
        if self.weights is None:
            return vectors
        moved = vectors + vectors @ self.weights
        norms = np.linalg.norm(moved, axis=-1, keepdims=True)
        out: np.ndarray = moved / np.maximum(norms, 1e-9)
        return out.astype(np.float32)

    def save(self, folder: Path) -> None:
        """Write the weights (nothing for the identity)."""
        if self.weights is not None:
            np.save(folder / ADAPTER_FILE, self.weights.astype(np.float32))

    @classmethod
    def load(cls, folder: Path) -> QueryAdapter:
        """Read the weights, or the identity when the build has none."""
        path = folder / ADAPTER_FILE
        return cls(np.load(path) if path.exists() else None)


def fit_adapter(
    questions: np.ndarray, answers: np.ndarray, passages: np.ndarray, penalty: float = PENALTY
) -> QueryAdapter:
    """Fit W so that each question's adapted vector is nearest its answering passage (needs torch)."""
    if len(questions) < MIN_QUESTIONS:
        logger.info("%d visitor questions: too few to fit a query adapter", len(questions))
        return QueryAdapter()
    import torch

    torch.manual_seed(SEED)
    q = torch.tensor(questions, dtype=torch.float32)
    p = torch.tensor(passages, dtype=torch.float32)
    y = torch.tensor(answers, dtype=torch.long)
    w = torch.zeros(q.shape[1], q.shape[1], requires_grad=True)
    optimiser = torch.optim.Adam([w], lr=LEARNING_RATE)
    for _ in range(EPOCHS):
        moved = q + q @ w
        moved = moved / moved.norm(dim=1, keepdim=True)
        loss = torch.nn.functional.cross_entropy(moved @ p.T / TEMPERATURE, y) + penalty * (w**2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return QueryAdapter(w.detach().numpy().copy())
