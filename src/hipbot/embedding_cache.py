"""Reusing the live build's vectors: a rebuild embeds only the texts that are new since it, so a store
owner's article edit is answered from within seconds of the fitting, not after re-embedding everything."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from .embedding import Progress, VectorEncoder

logger = logging.getLogger(__name__)

VECTORS_FILE = "embedded.npy"
KEYS_FILE = "embedded.json"
CACHE_VERSION = 1


def text_key(text: str) -> str:
    """A short, stable key for one embedded text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def load_vectors(build: Path, model: str, dimension: int) -> dict[str, np.ndarray]:
    """The vectors a build embedded, by text key; empty when there are none or another model made them."""
    try:
        meta = json.loads((build / KEYS_FILE).read_text(encoding="utf-8"))
        if meta.get("version") != CACHE_VERSION or meta.get("model") != model:
            return {}
        vectors = np.load(build / VECTORS_FILE)
    except (OSError, ValueError) as exc:
        if not isinstance(exc, FileNotFoundError):
            logger.warning("not reusing the live build's vectors: %s", exc)
        return {}
    keys = meta.get("keys", [])
    if vectors.ndim != 2 or vectors.shape != (len(keys), dimension):
        logger.warning("not reusing the live build's vectors: their shape does not match")
        return {}
    return dict(zip(keys, vectors, strict=True))


def save_vectors(build: Path, model: str, texts: list[str], vectors: np.ndarray) -> None:
    """Keep this build's vectors, one row per distinct text, for the next build to reuse."""
    rows: dict[str, int] = {}
    for i, text in enumerate(texts):
        rows.setdefault(text_key(text), i)
    np.save(build / VECTORS_FILE, vectors[list(rows.values())].astype(np.float32))
    meta = {"version": CACHE_VERSION, "model": model, "keys": list(rows)}
    (build / KEYS_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")


def encode_reusing(
    encoder: VectorEncoder,
    texts: list[str],
    known: dict[str, np.ndarray],
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for texts, embedding only those not in `known` (each distinct text once); and how many
    texts were reused."""
    keys = [text_key(t) for t in texts]
    missing: dict[str, str] = {}
    reused = 0
    for key, text in zip(keys, texts, strict=True):
        if key in known:
            reused += 1
        else:
            missing.setdefault(key, text)
    if progress:
        progress(len(texts) - len(missing))
    fresh: dict[str, np.ndarray] = {}
    if missing:
        encoded = encoder.encode(list(missing.values()), progress=progress)
        fresh = dict(zip(missing, encoded, strict=True))
    rows = [known[k] if k in known else fresh[k] for k in keys]
    vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, encoder.dimension), np.float32)
    return vectors, reused
