"""Fit the weights hipbot uses to pick the answering sentence, from visitors' questions with the phrase
of the article that answers each (`src/hipbot/data/answer_examples.jsonl`).

    .venv/bin/python scripts/fit_answer_model.py      # needs a built index (hipbot index build)

Writes `src/hipbot/data/answer_model.json`: the weights, the feature names and a cross-validated report
(how often the best-scored sentence holds the answer, against the hand-set score). Deterministic.

The fit is listwise: for each question, a softmax over the candidate sentences of its top passages,
trained to put the probability on the sentences holding the answer. A reply picks the best sentence of
one question's candidates, so that is the choice it learns; one score difference is a log-odds ratio,
which is what the composer's margin for a second sentence reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from hipbot.assistant import Hipbot
from hipbot.compose import SENTENCE_FEATURES, question_type, sentence_features
from hipbot.config import configure_offline, make_settings
from hipbot.promotion import hidden_sentences, is_product_question
from hipbot.text import normalize

DATA = Path(__file__).resolve().parents[1] / "src" / "hipbot" / "data"
SEED = 3
LEAVE_OUT = 0.9
L2 = 1.0  # ridge weight on the standardised features (chosen by cross-validation: 0.01 to 10 alike)
Group = tuple[np.ndarray, np.ndarray]


def fit_listwise(groups: list[Group], l2: float = L2) -> np.ndarray:
    """Weights on the raw features that maximise each question's softmax probability of its answers."""
    stacked = np.vstack([x for x, _ in groups])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-6
    standard = [((x - mean) / scale, y / y.sum()) for x, y in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = l2 * float(w @ w), 2 * l2 * w
        for z, target in standard:
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            total -= float(target @ np.log(p + 1e-12))
            gradient = gradient - z.T @ (target - p)
        return total, gradient

    w = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    weights: np.ndarray = w / scale
    return weights


def main() -> int:
    configure_offline()
    bot = Hipbot.from_settings(make_settings(), build=False)
    examples = [
        json.loads(line) for line in (DATA / "answer_examples.jsonl").read_text().splitlines() if line
    ]
    groups: list[Group] = []
    for example in examples:
        question = example["question"]
        product = is_product_question(question)
        penalty = None if product else bot.promotion_penalties
        vectors = bot.encoder.encode([question])
        # A question (and any near-copy of it) must not vote for its own answer: held-out questions have
        # no visitor question 0.9 or more similar either.
        leave_out = bot.index.bank_vectors @ vectors[0] >= LEAVE_OUT
        found = bot.retriever.search([question], 5, penalty, vectors=vectors, leave_out=leave_out)
        hidden = {hit.chunk.id: hidden_sentences(hit.chunk, product) for hit in found.hits}
        evidence = bot.evidence(question, question_type(question), found, hidden, leave_out=LEAVE_OUT)
        rows, features = sentence_features(evidence)
        gold = normalize(example["gold"]).lower()
        labels = np.array([gold in normalize(text).lower() for _, _, text in rows])
        if labels.any():
            groups.append((features, labels))
    fold = np.random.RandomState(SEED).randint(0, 5, len(groups))
    right = baseline = 0
    for k in range(5):
        train = [g for g, f in zip(groups, fold, strict=True) if f != k]
        weights = fit_listwise(train)
        for (x, y), f in zip(groups, fold, strict=True):
            if f == k:
                right += bool(y[int(np.argmax(x @ weights))])
                hand = x[:, 0] + 0.15 * x[:, 2] + 0.1 * x[:, 4] - 0.03 * (x[:, 3] - 1)
                baseline += bool(y[int(np.argmax(hand))])
    weights = fit_listwise(groups)
    report = {
        "questions": len(examples),
        "with_answer_in_top_passages": len(groups),
        "cross_validated_best_sentence_holds_answer": round(right / len(groups), 3),
        "hand_set_score_best_sentence_holds_answer": round(baseline / len(groups), 3),
    }
    out = {
        "features": list(SENTENCE_FEATURES),
        "weights": [round(float(w), 6) for w in weights],
        "bias": 0.0,
        "report": report,
    }
    (DATA / "answer_model.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
