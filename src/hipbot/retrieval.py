"""Retrieval: dense FAISS search (with the query adapter) and bm25s lexical scores, fused, with a
relevance floor and a coverage model that says whether the articles answer the question at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .chunking import Chunk
from .embedding import Encoder
from .fusion import fuse, saturate, top_indices
from .index import LoadedIndex
from .promotion import promotion_share
from .rerank import PASSAGE_FEATURES
from .text import query_tokens

EXHAUSTIVE_LIMIT = 5000  # below this many passages, every passage gets a dense score
CANDIDATES = 50  # passages taken from each of the dense and lexical rankings
SENTENCE_WEIGHT = 0.2  # share of a passage's semantic score that comes from its best sentence
# A visitor question this similar (cosine) or more votes for the passages that answer it, the more the
# closer; chosen by cross-validation on the visitor questions and the dev sets (see README).
VOTE_FLOOR = 0.6
VOTE_WEIGHT = 0.05


@dataclass
class Hit:
    """A passage with its ranking score and its evidence."""

    chunk: Chunk
    score: float
    dense: float
    lexical: float
    fused: float = 0.0


@dataclass
class Retrieval:
    """What a search found: ranked hits, whether anything is related, how well the best answer the
    question, and the query vector."""

    hits: list[Hit]
    relevant: bool
    query_vector: np.ndarray = field(repr=False)
    covered: float = 0.0  # P(the articles answer this question)
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, len(PASSAGE_FEATURES))), repr=False)
    bank_similarity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32), repr=False)

    @property
    def best(self) -> float:
        """The top score (0 when nothing was found)."""
        return self.hits[0].score if self.hits else 0.0


@dataclass
class Candidates:
    """The passages worth ranking for a query, with their features averaged over its phrasings."""

    ids: list[int]
    features: np.ndarray  # (len(ids), len(PASSAGE_FEATURES))
    ranking: np.ndarray  # the ranking score: the fused score with the adapted query
    fused: np.ndarray  # the fused score with the plain query, on the scale of the relevance floor
    best_fused: np.ndarray  # the same score with the phrasing that matches each passage best
    vote: np.ndarray  # the visitor-question vote, VOTE_WEIGHT of which is in `ranking`


class Retriever:
    """Searches one loaded index with one encoder."""

    def __init__(
        self, index: LoadedIndex, encoder: Encoder, dense_weight: float, min_relevance: float
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.dense_weight = dense_weight
        self.min_relevance = min_relevance
        self.promotion = np.array([promotion_share(c) for c in index.chunks], dtype=np.float32)
        offsets = np.asarray(index.sentence_offsets, dtype=np.int64)
        self._no_sentences = offsets[1:] == offsets[:-1]
        self._sentence_starts = np.minimum(offsets[:-1], max(int(offsets[-1]) - 1, 0))
        pairs = [(e, target) for e, entry in enumerate(index.bank) for target in entry.targets]
        self._vote_entries = np.array([e for e, _ in pairs], dtype=np.int64)
        self._vote_passages = np.array([t for _, t in pairs], dtype=np.int64)

    def dense_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query to passages (a lower bound for passages not searched)."""
        total = self.index.vectors.ntotal
        k = total if total <= EXHAUSTIVE_LIMIT else 4 * CANDIDATES
        scores, ids = self.index.vectors.search(vector.reshape(1, -1), k)
        floor = float(scores[0][-1]) if k < total else -1.0
        dense = np.full(total, floor, dtype=np.float32)
        valid = ids[0] >= 0
        dense[ids[0][valid]] = scores[0][valid]
        return dense

    def lexical_scores(self, text: str) -> np.ndarray:
        """bm25 scores of every passage for the query's content words."""
        tokens = query_tokens(text)
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return self.index.lexical.scores(tokens)

    def sentence_scores(self, vector: np.ndarray, candidates: list[int]) -> np.ndarray:
        """For each candidate passage, the similarity of its best-matching sentence."""
        # One product with every sentence is cheaper than gathering the candidates' rows (a few thousand
        # sentences); each passage's best is then a maximum over its own run of rows.
        similarity = self.index.sentence_vectors @ vector
        if not len(similarity):
            return np.full(len(candidates), -1.0, dtype=np.float32)
        best = np.where(self._no_sentences, -1.0, np.maximum.reduceat(similarity, self._sentence_starts))
        return best[np.asarray(candidates, dtype=np.int64)].astype(np.float32)

    def votes(self, vector: np.ndarray, leave_out: np.ndarray | None = None) -> np.ndarray:
        """Per passage, how close the query comes to a visitor question that passage answers: 0 below
        VOTE_FLOOR, rising to 1 for the same question; `leave_out` masks visitor questions to ignore."""
        vote = np.zeros(len(self.index.chunks), dtype=np.float32)
        if not len(self._vote_entries):
            return vote
        similarity = self.index.bank_vectors @ vector
        if leave_out is not None:
            similarity = np.where(leave_out, 0.0, similarity)
        strength = np.clip((similarity - VOTE_FLOOR) / (1.0 - VOTE_FLOOR), 0.0, 1.0)
        np.maximum.at(vote, self._vote_passages, strength[self._vote_entries])
        return vote

    def candidates(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        health: bool = True,
        leave_out: np.ndarray | None = None,
    ) -> Candidates:
        """Gather candidates from every phrasing and compute their features (averaged over phrasings);
        `health` marks a health question, for which promotion counts against a passage; `leave_out`
        masks visitor questions that may not vote (when fitting, so that none answers itself)."""
        adapted = self.index.adapter.apply(vectors)
        dense = [self.dense_scores(v) for v in adapted]
        lexical = [self.lexical_scores(t) for t in texts]
        pools = [set(top_indices(scores, CANDIDATES)) for scores in (*dense, *lexical)]
        ids = sorted(set().union(*pools))
        features = np.zeros((len(ids), len(PASSAGE_FEATURES)), dtype=np.float32)
        ranking = np.zeros(len(ids), dtype=np.float32)
        fused = np.zeros(len(ids), dtype=np.float32)
        best_fused = np.full(len(ids), -np.inf, dtype=np.float32)
        vote = np.zeros(len(ids), dtype=np.float32)
        for vector, moved, dense_scores, lexical_scores in zip(vectors, adapted, dense, lexical, strict=True):
            sentence = self.sentence_scores(vector, ids)
            sentence_adapted = self.sentence_scores(moved, ids)
            lex = saturate(lexical_scores[ids])
            features += np.column_stack(
                [
                    dense_scores[ids],
                    self.index.passage_vectors[ids] @ vector,
                    sentence,
                    sentence_adapted,
                    lex,
                    self.index.title_vectors[ids] @ vector,
                    self.index.heading_vectors[ids] @ vector,
                    self.promotion[ids] if health else np.zeros(len(ids), dtype=np.float32),
                ]
            )
            moved_semantic = (1 - SENTENCE_WEIGHT) * dense_scores[ids] + SENTENCE_WEIGHT * sentence_adapted
            ranking += fuse(moved_semantic, lexical_scores[ids], self.dense_weight)
            vote += self.votes(vector, leave_out)[ids]
            # The plain score keeps the encoder's own scale, on which the relevance floor was set.
            plain = self.index.passage_vectors[ids] @ vector
            semantic = (1 - SENTENCE_WEIGHT) * plain + SENTENCE_WEIGHT * sentence
            phrasing = fuse(semantic, lexical_scores[ids], self.dense_weight)
            fused += phrasing
            best_fused = np.maximum(best_fused, phrasing)
        n = len(texts)
        vote /= n
        return Candidates(ids, features / n, ranking / n + VOTE_WEIGHT * vote, fused / n, best_fused, vote)

    def nearest_questions(self, vector: np.ndarray, bank_similarity: np.ndarray) -> tuple[float, float]:
        """How similar a (unit) question vector is to the closest visitor question the articles answer
        (from its similarity to each, `bank_similarity`), and to the closest one they don't."""
        answered = float(bank_similarity.max()) if len(bank_similarity) else 0.0
        missing = self.index.unanswered_vectors
        return answered, float((missing @ vector).max()) if len(missing) else 0.0

    def search(
        self,
        texts: Sequence[str],
        k: int,
        penalty: np.ndarray | None = None,
        vectors: np.ndarray | None = None,
        exclude: set[int] | None = None,
        leave_out: np.ndarray | None = None,
    ) -> Retrieval:
        """Rank passages for one or more phrasings of a query. `vectors` are the phrasings' vectors
        when the caller has them; `penalty` (per passage) marks a health question, whose mostly
        promotional passages rank lower; `exclude` drops passages already shown; `leave_out` masks
        visitor questions that may not vote."""
        vectors = self.encoder.encode(list(texts)) if vectors is None else vectors
        found = self.candidates(texts, vectors, health=penalty is not None, leave_out=leave_out)
        ranking = self.index.ranking
        scores = found.ranking - (penalty[found.ids] if penalty is not None else 0.0)
        order = [i for i in np.argsort(-scores, kind="stable") if not exclude or found.ids[i] not in exclude]
        top = order[:k]
        hits = [
            Hit(
                self.index.chunks[found.ids[i]],
                float(scores[i]),
                float(found.features[i][0]),
                float(found.features[i][4]),
                float(found.fused[i]),
            )
            for i in top
        ]
        # A follow-up's bare fragment ("and my feet?") scores low on its own: something relevant was
        # found when any phrasing of the question finds it.
        relevant = bool(hits) and float(found.best_fused.max()) >= self.min_relevance
        ranked_features = found.features[top]
        query_vector = vectors.mean(axis=0)
        query_vector = query_vector / max(float(np.linalg.norm(query_vector)), 1e-9)
        # Coverage and sentence choice both read the query's similarity to every visitor question.
        bank_similarity = self.index.bank_vectors @ query_vector
        covered = 1.0 if relevant else 0.0
        if ranking is not None and hits:
            answered, unanswered = self.nearest_questions(query_vector, bank_similarity)
            covered = ranking.covered(found.ranking[top], ranked_features, answered, unanswered)
        return Retrieval(hits, relevant, query_vector, covered, ranked_features, bank_similarity)
