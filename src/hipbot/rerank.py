"""Learned coverage, saved with the index: does what retrieval found answer the question at all?

The coverage model turns the evidence for the best passages (their scores, how far ahead the best one
is, its cosine, best sentence, bm25, how well its article title and section heading match) into the
probability that the articles answer the question. A logistic regression fitted at index build time on
the corpus's visitor questions (answered) and `not-answered.questions.md` (`fitting.py`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RANKING_FILE = "ranking.json"
RANKING_VERSION = 1
PASSAGE_FEATURES = (
    "dense_adapted",
    "dense",
    "sentence",
    "sentence_adapted",
    "lexical",
    "title",
    "heading",
    "promotion",
)
COVERAGE_FEATURES = (
    "best",
    "second",
    "margin",
    "dense_adapted",
    "sentence",
    "lexical",
    "heading",
    "title",
    "answered",
    "unanswered",
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
    return out


@dataclass
class Logistic:
    """A fitted logistic regression: weights per named feature and a bias."""

    weights: list[float]
    bias: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(positive) per row."""
        return _sigmoid(np.atleast_2d(features) @ np.asarray(self.weights, dtype=np.float32) + self.bias)


@dataclass
class Ranking:
    """The coverage model and how it was measured when fitted."""

    coverage: Logistic | None = None
    version: int = RANKING_VERSION
    direct_at: float = 0.5  # P(covered) from which an answer is called direct
    report: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def coverage_features(
        scores: np.ndarray, passage_features: np.ndarray, answered: float, unanswered: float
    ) -> np.ndarray:
        """The coverage model's inputs: the ranked candidates' evidence (best first), and how close the
        question is to the visitor questions the articles answer and to those they don't."""
        best = float(scores[0]) if len(scores) else 0.0
        second = float(scores[1]) if len(scores) > 1 else 0.0
        top = passage_features[0] if len(passage_features) else np.zeros(len(PASSAGE_FEATURES))
        by_name = dict(zip(PASSAGE_FEATURES, top, strict=True))
        picked = [by_name[name] for name in COVERAGE_FEATURES[3:8]]
        return np.array([best, second, best - second, *picked, answered, unanswered], dtype=np.float32)

    def covered(
        self, scores: np.ndarray, passage_features: np.ndarray, answered: float, unanswered: float
    ) -> float:
        """The probability that the best passages (scores best first) answer the question."""
        if self.coverage is None:
            return 1.0
        inputs = self.coverage_features(scores, passage_features, answered, unanswered)
        return float(self.coverage.probability(inputs)[0])

    def save(self, folder: Path) -> None:
        """Write the models as JSON."""
        data = {
            "version": self.version,
            "passage_features": list(PASSAGE_FEATURES),
            "coverage_features": list(COVERAGE_FEATURES),
            "coverage": asdict(self.coverage) if self.coverage else None,
            "direct_at": self.direct_at,
            "report": self.report,
        }
        (folder / RANKING_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Ranking | None:
        """Read the models, or None when the build has none (too few visitor questions)."""
        path = folder / RANKING_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("passage_features") != list(PASSAGE_FEATURES) or data.get("coverage_features") != list(
            COVERAGE_FEATURES
        ):
            raise ValueError(f"{path} was fitted on other features: rebuild the index")
        coverage = data.get("coverage")
        return cls(
            Logistic(**coverage) if coverage else None,
            int(data.get("version", RANKING_VERSION)),
            float(data.get("direct_at", 0.5)),
            data.get("report", {}),
        )
