"""Fitting, at index build time, what retrieval learns from the corpus's visitor questions: the query
adapter, the coverage model and the checked suggestions (deterministic; needs torch and scikit-learn)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .adapter import MIN_QUESTIONS, QueryAdapter, fit_adapter
from .index import LoadedIndex
from .promotion import is_product_question
from .question_bank import Chip
from .rerank import Logistic, Ranking
from .retrieval import VOTE_WEIGHT, Retriever

logger = logging.getLogger(__name__)

SEED = 11
FOLDS = 5
COVERED_SHARE = 0.95  # the share of answerable questions that must come out "direct"
# When fitting, a visitor question this similar to the one asked does not vote for its passages: held-out
# questions written by others have none that close.
LEAVE_OUT = 0.9


@dataclass
class Asked:
    """Questions with their vectors and, for answerable ones, the passage each belongs to and every
    passage of its section."""

    texts: list[str]
    vectors: np.ndarray
    targets: list[tuple[int, ...]]
    answers: list[int] | None = None


def _fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=c, max_iter=5000, random_state=SEED).fit(x, y)
    return Logistic([round(float(w), 6) for w in fitted.coef_[0]], round(float(fitted.intercept_[0]), 6))


def _ranks(scores: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, float]:
    """hit@1, hit@5 and MRR@10 of scored candidate lists."""
    h1 = h5 = rr = 0.0
    for s, y in zip(scores, labels, strict=True):
        order = np.argsort(-s, kind="stable")
        hits = [r for r, i in enumerate(order) if y[i]]
        r = hits[0] if hits else 99
        h1 += r == 0
        h5 += r < 5
        rr += 1 / (r + 1) if r < 10 else 0.0
    n = max(len(scores), 1)
    return {"hit@1": round(h1 / n, 3), "hit@5": round(h5 / n, 3), "mrr@10": round(rr / n, 3)}


def fit_ranking(
    index: LoadedIndex, asked: Asked, unanswered: Asked, dense_weight: float
) -> tuple[QueryAdapter, Ranking | None]:
    """The query adapter (fitted on every question) and the coverage model, fitted on out-of-fold
    evidence so that it does not trust an adapter that has seen the question; the report compares
    cross-validated retrieval with and without the adapter."""
    passages = index.passage_vectors
    answers = np.array(asked.answers or [t[0] for t in asked.targets], dtype=np.int64)
    if len(asked.texts) < MIN_QUESTIONS:
        return QueryAdapter(), None
    retriever = Retriever(index, encoder=None, dense_weight=dense_weight, min_relevance=0.0)  # type: ignore[arg-type]
    fold = np.random.RandomState(SEED).randint(0, FOLDS, len(asked.texts))
    covered_rows: list[np.ndarray] = [np.zeros(0)] * len(asked.texts)
    adapted: list[np.ndarray] = [np.zeros(0)] * len(asked.texts)
    plain: list[np.ndarray] = [np.zeros(0)] * len(asked.texts)
    unvoted: list[np.ndarray] = [np.zeros(0)] * len(asked.texts)
    labels: list[np.ndarray] = [np.zeros(0)] * len(asked.texts)
    for k in range(FOLDS):
        index.adapter = fit_adapter(asked.vectors[fold != k], answers[fold != k], passages)
        for i in np.where(fold == k)[0]:
            # Only the other folds' visitor questions vote, as only they trained the adapter.
            leave_out = (fold == k) | (asked.vectors @ asked.vectors[i] >= LEAVE_OUT)
            found = retriever.candidates(
                [asked.texts[i]],
                asked.vectors[i : i + 1],
                health=not is_product_question(asked.texts[i]),
                leave_out=leave_out,
            )
            adapted[i], plain[i] = found.ranking, found.fused
            unvoted[i] = found.ranking - VOTE_WEIGHT * found.vote
            labels[i] = np.isin(found.ids, [answers[i]])
            covered_rows[i] = coverage_inputs(
                found.ranking, found.features, *_nearest(asked.vectors[i], asked, unanswered, own=i)
            )
    usable = [i for i in range(len(labels)) if labels[i].any()]
    report: dict[str, object] = {
        "questions": len(asked.texts),
        "unanswered_questions": len(unanswered.texts),
        "cross_validated_plain": _ranks([plain[i] for i in usable], [labels[i] for i in usable]),
        "cross_validated_adapted": _ranks([unvoted[i] for i in usable], [labels[i] for i in usable]),
        "cross_validated_adapted_voted": _ranks([adapted[i] for i in usable], [labels[i] for i in usable]),
    }
    index.adapter = fit_adapter(asked.vectors, answers, passages)
    ranking = Ranking()
    missing_rows = []
    for i, (text, vector) in enumerate(zip(unanswered.texts, unanswered.vectors, strict=True)):
        found = retriever.candidates([text], vector[None], health=not is_product_question(text))
        nearest = _nearest(vector, asked, unanswered, own=i, own_is_unanswered=True)
        missing_rows.append(coverage_inputs(found.ranking, found.features, *nearest))
    if missing_rows:
        x = np.vstack([*covered_rows, *missing_rows])
        y = np.array([1] * len(covered_rows) + [0] * len(missing_rows))
        ranking.coverage = _fit_logistic(x, y)
        # The threshold comes from out-of-fold probabilities: in-sample ones flatter the questions seen.
        missing_fold = np.random.RandomState(SEED + 1).randint(0, FOLDS, len(missing_rows))
        row_fold = np.concatenate([fold, missing_fold])
        p_all = np.zeros(len(y))
        for k in range(FOLDS):
            p_all[row_fold == k] = _fit_logistic(x[row_fold != k], y[row_fold != k]).probability(
                x[row_fold == k]
            )
        p_covered, p_missing = p_all[y == 1], p_all[y == 0]
        ranking.direct_at = round(float(np.quantile(p_covered, 1 - COVERED_SHARE)), 4)
        report["coverage"] = {
            "direct_at": ranking.direct_at,
            "answerable_direct": round(float((p_covered >= ranking.direct_at).mean()), 3),
            "unanswered_not_direct": round(float((p_missing < ranking.direct_at).mean()), 3),
        }
    ranking.report = report
    logger.info("fitted retrieval on %d visitor questions: %s", len(asked.texts), report)
    return index.adapter, ranking


def coverage_inputs(
    scores: np.ndarray, features: np.ndarray, answered: float, unanswered: float
) -> np.ndarray:
    """The coverage model's inputs for one candidate set, its passages ranked by score."""
    order = np.argsort(-scores, kind="stable")
    return Ranking.coverage_features(scores[order], features[order], answered, unanswered)


def _nearest(
    vector: np.ndarray, asked: Asked, unanswered: Asked, own: int, own_is_unanswered: bool = False
) -> tuple[float, float]:
    """Similarity to the closest answered and unanswered visitor question, leaving the question out."""
    answered = asked.vectors @ vector
    missing = unanswered.vectors @ vector if len(unanswered.vectors) else np.zeros(1)
    # Near-copies of the question are left out with it: a question written by someone else has none.
    near = missing if own_is_unanswered else answered
    near[own] = -1.0
    near[near >= LEAVE_OUT] = -1.0
    if not own_is_unanswered:
        same = [j for j, text in enumerate(asked.texts) if text == asked.texts[own]]
        answered[same] = -1.0
    return float(answered.max()), float(missing.max())


CHIP_WORDS = (4, 12)
QUESTION_WORDS = frozenset(
    [
        "what",
        "why",
        "how",
        "is",
        "are",
        "can",
        "could",
        "should",
        "do",
        "does",
        "which",
        "when",
        "where",
        "will",
        "would",
        "who",
    ]
)
MOSTLY_PLAIN = 0.2  # a section whose passage promotes more than this share gives no suggestion


def _chip_shaped(text: str) -> bool:
    """A short, well-formed question that names no product and asks nothing commercial."""
    from .promotion import is_commerce_question, names_a_product, sentence_flags

    size = len(text.split())
    return (
        CHIP_WORDS[0] <= size <= CHIP_WORDS[1]
        and text.rstrip().endswith("?")
        and text.split()[0].lower() in QUESTION_WORDS
        and not names_a_product(text)
        and not is_product_question(text)
        and not is_commerce_question(text)
        and not sentence_flags(text)
    )


def validated_chips(
    index: LoadedIndex, asked: Asked, ranking: Ranking | None, dense_weight: float
) -> list[Chip]:
    """Per section, the shortest well-formed visitor question that retrieval answers directly from that
    section: suggestions that never plug a product and never lead nowhere."""
    retriever = Retriever(index, encoder=None, dense_weight=dense_weight, min_relevance=0.0)  # type: ignore[arg-type]
    from .promotion import promotion_share

    options: dict[tuple[str, str | None], list[tuple[str, np.ndarray, tuple[int, ...]]]] = {}
    for text, vector, targets in zip(asked.texts, asked.vectors, asked.targets, strict=True):
        chunk = index.chunks[targets[0]]
        plain = all(promotion_share(index.chunks[t]) <= MOSTLY_PLAIN for t in targets)
        if chunk.kind != "product" and plain and _chip_shaped(text):
            options.setdefault((chunk.file, chunk.section), []).append((_tidy(text), vector, targets))
    direct_at = ranking.direct_at if ranking else 0.0
    no_penalty = np.zeros(len(index.chunks), dtype=np.float32)
    chips = []
    for (file, section), candidates in sorted(options.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        for text, vector, targets in sorted(candidates, key=lambda c: len(c[0])):
            found = retriever.search([text], 3, no_penalty, vector[None])
            if found.hits and found.hits[0].chunk.id in targets and found.covered >= direct_at:
                chips.append(Chip(text, found.hits[0].chunk.id, file, section))
                break
    return chips


def _tidy(text: str) -> str:
    """A visitor's question as a suggestion: capitalised, single spaces."""
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]
