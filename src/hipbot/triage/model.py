"""The learned detector as a saved artifact: heads as plain arrays, thresholds, version and report.

Saved like an index: `head.npz` and `linear.npz` (arrays) beside `model.json` (shape, thresholds, the
data fingerprint it was trained on, the training report). Inference is numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .advice import LEVELS
from .head import AttentionHead, HeadShape

MODEL_VERSION = 1
MODEL_FILE = "model.json"
LINEAR_FILE = "linear.npz"
OUT_OF_FOLD_FILE = "out_of_fold.npz"
MAX_WINDOW_TOKENS = 512  # the most recent tokens of a conversation window the head reads
URGENT_LEVELS = ("same_day", "emergency", "crisis")


class ModelFileError(RuntimeError):
    """The triage artifact is missing or unreadable; the message says what to do."""


def expected(level: str) -> str:
    """The reply a level calls for: "urgent", "caution" or "none"."""
    return "urgent" if level in URGENT_LEVELS else level


def window_states(turn_states: list[np.ndarray]) -> np.ndarray:
    """One conversation window as one token sequence: its turns in order, the most recent kept."""
    joined = np.concatenate(turn_states) if turn_states else np.zeros((1, 384), dtype=np.float32)
    return joined[-MAX_WINDOW_TOKENS:]


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


@dataclass
class LinearHead:
    """A softmax classifier on fixed vectors."""

    coef: np.ndarray
    bias: np.ndarray
    classes: list[str]
    levels: np.ndarray | None = field(default=None, repr=False, compare=False)  # filled at load

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per vector."""
        return _softmax(np.atleast_2d(vectors) @ self.coef.T + self.bias)


def _class_levels(head: LinearHead) -> np.ndarray:
    """The advice level of each of a category head's classes ("" for a benign or unknown one)."""
    if head.levels is None:
        from .advice import load_advice

        advice = load_advice()
        head.levels = np.array(
            [advice.level_of(c) if c in advice.categories else "" for c in head.classes], dtype=object
        )
    return head.levels


@dataclass
class Thresholds:
    """Where the learned scores turn into decisions (chosen on cross-validated predictions)."""

    urgent: float = 0.5  # P(same day) + P(emergency) + P(crisis)
    crisis: float = 0.5  # P(crisis) alone
    caution: float = 0.5  # P(caution) + the urgent share

    def decide(self, p: np.ndarray) -> str:
        """The level for one row of level probabilities."""
        urgent = float(p[2:].sum())
        if p[LEVELS.index("crisis")] >= self.crisis:
            return "crisis"
        if urgent >= self.urgent:
            return URGENT_LEVELS[int(np.argmax(p[2:]))]
        if p[1] + urgent >= self.caution:
            return "caution"
        return "none"

    def score(self, probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        """Recall, caution recall and false alarms of these thresholds on labelled predictions."""
        decided = np.array([expected(self.decide(p)) for p in probabilities])
        truth = np.array([expected(LEVELS[k]) for k in labels])
        crisis = labels == LEVELS.index("crisis")
        return {
            "recall": round(float((decided[truth == "urgent"] == "urgent").mean()), 4),
            "crisis_recall": round(float((decided[crisis] == "urgent").mean()), 4) if crisis.any() else 1.0,
            "caution_recall": round(float((decided[truth == "caution"] != "none").mean()), 4),
            "false_alarms": round(float((decided[truth == "none"] == "urgent").mean()), 4),
        }


@dataclass
class LearnedScore:
    """What the learned detector says about a window."""

    level: str
    probabilities: dict[str, float]
    unconfirmed: float | None = None  # the whole-message share, when it was too low to confirm

    @property
    def urgent(self) -> float:
        """The urgent share of the probability."""
        return sum(self.probabilities[level] for level in URGENT_LEVELS)

    def explain(self) -> str:
        """The scores as a reviewer reads them."""
        shown = ", ".join(f"{k} {v:.2f}" for k, v in self.probabilities.items() if v >= 0.01)
        text = f"learned score: urgent {self.urgent:.2f} ({shown})"
        if self.unconfirmed is not None:
            text += f"; not confirmed by the whole-message classifier ({self.unconfirmed:.3f})"
        return text


@dataclass
class TriageModel:
    """Every learned part of the triage, with the thresholds and report it was trained with."""

    version: int
    fingerprint: str
    encoder: str
    shape: HeadShape
    head: AttentionHead
    thresholds: Thresholds
    resolution: LinearHead
    categories: LinearHead | None = None
    multilingual: LinearHead | None = None
    multilingual_thresholds: Thresholds = field(default_factory=Thresholds)
    multilingual_categories: LinearHead | None = None
    report: dict[str, Any] = field(default_factory=dict)
    # Cross-validated probabilities and labels, kept so that thresholds can be reviewed without refitting.
    out_of_fold: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def assess(self, states: np.ndarray) -> LearnedScore:
        """Score one window's token states."""
        p = self.head.probabilities([states])[0]
        return LearnedScore(self.thresholds.decide(p), dict(zip(LEVELS, map(float, p), strict=True)))

    def assess_multilingual(self, vector: np.ndarray) -> LearnedScore | None:
        """Score a window of another language from its multilingual vector (None without that head)."""
        if self.multilingual is None:
            return None
        p = self.multilingual.probabilities(vector)[0]
        return LearnedScore(
            self.multilingual_thresholds.decide(p), dict(zip(LEVELS, map(float, p), strict=True))
        )

    def resolved(self, vector: np.ndarray) -> float:
        """How sure the detector is that a turn says an earlier problem has been dealt with."""
        return float(self.resolution.probabilities(vector)[0][1])

    def category(self, vectors: np.ndarray, level: str, multilingual: bool = False) -> str | None:
        """The most likely category of `level` for a window's turn vectors (None when unknown)."""
        head = self.multilingual_categories if multilingual else self.categories
        if head is None or not len(vectors):
            return None
        allowed = np.flatnonzero(_class_levels(head) == level)
        if not len(allowed):
            return None
        p = head.probabilities(vectors).max(axis=0)
        return head.classes[int(allowed[np.argmax(p[allowed])])]

    def support(self, vectors: np.ndarray, level: str) -> float:
        """How much of the whole-message classifier's probability goes to a red flag of any kind (for an
        urgent level) or to a red flag or "see a doctor soon" (for caution), on the most serious of a
        window's turn vectors (1.0 without that classifier)."""
        head = self.categories
        if head is None or not len(vectors):
            return 1.0
        wanted = [*URGENT_LEVELS, *(["caution"] if level == "caution" else [])]
        serious = np.isin(_class_levels(head), wanted)
        return float(head.probabilities(vectors)[:, serious].sum(axis=1).max()) if serious.any() else 0.0

    def save(self, folder: Path) -> None:
        """Write the artifact: arrays in npz files, the rest in model.json."""
        folder.mkdir(parents=True, exist_ok=True)
        self.head.save(folder)
        arrays: dict[str, Any] = {}
        classes: dict[str, list[str]] = {}
        for name in ("resolution", "categories", "multilingual", "multilingual_categories"):
            linear = getattr(self, name)
            if linear is not None:
                arrays[f"{name}.coef"], arrays[f"{name}.bias"] = linear.coef, linear.bias
                classes[name] = linear.classes
        np.savez_compressed(folder / LINEAR_FILE, **arrays)
        if self.out_of_fold is not None:
            probabilities, labels = self.out_of_fold
            np.savez_compressed(
                folder / OUT_OF_FOLD_FILE, probabilities=probabilities.astype(np.float16), labels=labels
            )
        meta = {
            "version": self.version,
            "fingerprint": self.fingerprint,
            "encoder": self.encoder,
            "shape": asdict(self.shape),
            "thresholds": asdict(self.thresholds),
            "multilingual_thresholds": asdict(self.multilingual_thresholds),
            "classes": classes,
            "report": self.report,
        }
        (folder / MODEL_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TriageModel:
        """Read an artifact written by `save`."""
        try:
            meta = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
            shape = HeadShape(**meta["shape"])
            head = AttentionHead.load(folder, shape)
            with np.load(folder / LINEAR_FILE) as data:
                linear = {
                    name: LinearHead(data[f"{name}.coef"], data[f"{name}.bias"], names)
                    for name, names in meta["classes"].items()
                }
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFileError(
                f"the triage model in {folder} cannot be read ({exc}): run `hipbot triage train`"
            ) from exc
        for name in ("categories", "multilingual_categories"):
            if name in linear:
                _class_levels(linear[name])  # worked out once here, not in a reply
        return cls(
            version=int(meta["version"]),
            fingerprint=str(meta["fingerprint"]),
            encoder=str(meta["encoder"]),
            shape=shape,
            head=head,
            thresholds=Thresholds(**meta["thresholds"]),
            resolution=linear["resolution"],
            categories=linear.get("categories"),
            multilingual=linear.get("multilingual"),
            multilingual_thresholds=Thresholds(**meta.get("multilingual_thresholds", {})),
            multilingual_categories=linear.get("multilingual_categories"),
            report=meta.get("report", {}),
        )
