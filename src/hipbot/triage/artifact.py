"""Where the learned detector comes from: the artifact shipped in the package, or one retrained beside the
index when the labelled data has changed since the shipped one was trained."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ..embedding import Encoder
from .dataset import data_fingerprint, load_examples, load_resolution_examples
from .model import MODEL_FILE, MODEL_VERSION, ModelFileError, TriageModel

logger = logging.getLogger(__name__)

INDEX_MODEL_DIR = "triage-model"  # under the index folder: a model retrained for edited data
Step = Callable[[str, int], Callable[[int], object]]


def packaged_folder() -> Path:
    """The artifact shipped with the package (written by `hipbot triage train`)."""
    return Path(str(resources.files("hipbot.triage").joinpath("model")))


def stale_reason(model: TriageModel, fingerprint: str | None = None) -> str | None:
    """Why a model no longer matches the labelled data and code, or None when it does."""
    if model.version != MODEL_VERSION:
        return f"model format {model.version} is not {MODEL_VERSION}"
    if model.fingerprint != (fingerprint or data_fingerprint()):
        return "the labelled examples or advice changed since it was trained"
    return None


def _try_load(folder: Path) -> TriageModel | None:
    if not (folder / MODEL_FILE).exists():
        return None
    try:
        return TriageModel.load(folder)
    except ModelFileError as exc:
        logger.warning("%s", exc)
        return None


def current_model(index_dir: Path) -> tuple[TriageModel | None, str | None]:
    """The freshest usable model (retrained beside the index, else the packaged one) and, if it is
    stale, why."""
    fingerprint = data_fingerprint()
    for folder in (index_dir / INDEX_MODEL_DIR, packaged_folder()):
        model = _try_load(folder)
        if model is not None and stale_reason(model, fingerprint) is None:
            return model, None
    packaged = _try_load(packaged_folder())
    if packaged is None:
        return None, "no triage model has been trained"
    return packaged, stale_reason(packaged, fingerprint)


def train_model(
    encoder: Encoder, step: Step | None = None, folds: int = 5, seed: int | None = None
) -> TriageModel:
    """Fit the detector on the packaged labelled data (needs torch and scikit-learn)."""
    from .language import MultilingualEncoder
    from .train import SEED, fit_model

    return fit_model(
        load_examples(),
        load_resolution_examples(),
        encoder,
        MultilingualEncoder(threads=2),
        data_fingerprint(),
        step=step,
        folds=folds,
        seed=SEED if seed is None else seed,
    )


def save_model(model: TriageModel, folder: Path) -> None:
    """Write an artifact atomically: into a temporary folder beside it, then renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".triage-", dir=folder.parent))
    try:
        model.save(staging)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def ensure_model(index_dir: Path, encoder: Encoder | None, step: Step | None = None) -> TriageModel:
    """A model that matches the labelled data: retrained beside the index when the packaged one is
    stale and an encoder for training is given; otherwise the stale one, with a warning."""
    model, reason = current_model(index_dir)
    if reason is None and model is not None:
        return model
    if encoder is not None:
        logger.warning("retraining the triage model: %s", reason)
        fresh = train_model(encoder, step)
        save_model(fresh, index_dir / INDEX_MODEL_DIR)
        return fresh
    if model is None:
        raise ModelFileError(f"{reason}: run `hipbot triage train`")
    logger.warning("the triage model is stale (%s): run `hipbot triage train`", reason)
    return model
