"""What a short message is doing in the conversation: a greeting, thanks, "tell me more", "simpler
please"... or a question. A small classifier on the message's vector, fitted at index build time on the
labelled messages in `data/dialogue_acts.jsonl` and the corpus's visitor questions."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .jsonl import parse_lines

ACTS = ("greeting", "thanks", "goodbye", "more", "simpler", "repeat_or_source", "ack", "unclear")
QUESTION = "question"
ACTS_FILE = "acts.npz"
MAX_ACT_WORDS = 8  # longer messages are always treated as questions
MIN_CONFIDENCE = 0.6
SEED = 5


def act_examples() -> list[tuple[str, str]]:
    """The labelled short messages: (message, act)."""
    text = resources.files("hipbot.data").joinpath("dialogue_acts.jsonl").read_text(encoding="utf-8")
    records = (record for _, record in parse_lines(text, "dialogue_acts.jsonl"))
    return [(str(r["message"]), str(r["act"])) for r in records if r["act"] in ACTS]


@dataclass
class ActModel:
    """A softmax classifier over the acts and "question"."""

    coef: np.ndarray
    bias: np.ndarray
    classes: list[str]

    def classify(self, text: str, vector: np.ndarray) -> str:
        """The act of a message, or "question" when it is long or the classifier is unsure."""
        if len(text.split()) > MAX_ACT_WORDS:
            return QUESTION
        logits = self.coef @ vector + self.bias
        p = np.exp(logits - logits.max())
        p /= p.sum()
        best = int(np.argmax(p))
        return self.classes[best] if p[best] >= MIN_CONFIDENCE else QUESTION

    def save(self, folder: Path) -> None:
        """Write the classifier as arrays."""
        np.savez_compressed(
            folder / ACTS_FILE, coef=self.coef, bias=self.bias, classes=np.array(self.classes)
        )

    @classmethod
    def load(cls, folder: Path) -> ActModel | None:
        """Read the classifier (None for a build without one)."""
        path = folder / ACTS_FILE
        if not path.exists():
            return None
        with np.load(path) as data:
            return cls(data["coef"], data["bias"], [str(c) for c in data["classes"]])


def fit_acts(act_vectors: np.ndarray, acts: list[str], question_vectors: np.ndarray) -> ActModel:
    """Fit the classifier: the labelled acts against a sample of real questions."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(SEED)
    sample = question_vectors[rng.permutation(len(question_vectors))[: 3 * len(act_vectors)]]
    x = np.vstack([act_vectors, sample])
    labels = [*acts, *([QUESTION] * len(sample))]
    classes = [*ACTS, QUESTION]
    y = np.array([classes.index(a) for a in labels])
    fitted = LogisticRegression(C=4.0, max_iter=5000, random_state=SEED).fit(x, y)
    coef = np.zeros((len(classes), x.shape[1]), dtype=np.float32)
    bias = np.full(len(classes), -1e4, dtype=np.float32)
    for row, k in enumerate(fitted.classes_):
        coef[k], bias[k] = fitted.coef_[row], fitted.intercept_[row]
    return ActModel(coef, bias, classes)
