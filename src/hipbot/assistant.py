"""The application object: one loaded index and encoder, turning a conversation into a reply."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy as np

from .acts import QUESTION
from .analysis import Analysis, Analyzer
from .answer import (
    NOT_FOUND,
    OUT_OF_SCOPE,
    SMALL_TALK,
    disclaimer,
    partial_note,
    passages_from_hits,
    starters,
    suggestions,
)
from .chunking import Chunk
from .compose import (
    Evidence,
    choose,
    listed_noun,
    listing,
    named_sections,
    plainest,
    question_type,
    quotable,
    render,
    score_sentences,
)
from .config import Settings, encoder_threads
from .conversation import assistant_turns, missing_subject, quoted_sentences, search_texts, user_turns
from .embedding import (
    ONNX_FILE,
    Encoder,
    ModelError,
    OnnxEncoder,
    SentenceTransformerEncoder,
    tokenizer_words,
)
from .index import (
    ENCODER_DIR,
    LoadedIndex,
    ProgressFactory,
    StepBars,
    build_index,
    load_index,
    stale_reason,
    writable_index_dir,
)
from .promotion import (
    STORE_NOTE,
    STORE_PAGES,
    hidden_sentences,
    is_commerce_question,
    is_product_question,
    promotion_penalties,
)
from .question_bank import asked_here
from .retrieval import Hit, Retrieval, Retriever
from .schema import ChatReply, Coverage, Passage, Turn
from .scope import classify_scope
from .spelling import Speller
from .text import STOPWORDS, content_stems, normalize, words
from .triage import Decision, Triager
from .triage.artifact import ensure_model
from .triage.artifact import stale_reason as model_stale_reason
from .triage.model import ModelFileError, TriageModel

logger = logging.getLogger(__name__)


def load_chosen_model(folder: Path) -> TriageModel:
    """The triage model of HIPBOT_TRIAGE_MODEL, with an error that names the setting."""
    try:
        model = TriageModel.load(folder)
    except ModelFileError as exc:
        raise ModelFileError(
            f"HIPBOT_TRIAGE_MODEL / --triage-model is {folder}, which holds no readable triage model "
            f"({exc.__cause__}): point it at a folder written by `hipbot triage train --output FOLDER`, or "
            "unset it to use the packaged model"
        ) from exc
    logger.info("triage model from %s (%s)", folder, model_stale_reason(model) or "current")
    return model


def ensure_index(
    settings: Settings, encoder: Encoder | None = None, progress: ProgressFactory | None = None
) -> tuple[LoadedIndex, Encoder | None]:
    """Load the index, building it first when it is missing or stale; returns the encoder if one was made."""
    reason = stale_reason(settings)
    if reason:
        logger.info("building the index: %s", reason)
        writable_index_dir(settings.index_dir)  # before the model loads: an unwritable folder fails at once
        encoder = encoder or SentenceTransformerEncoder(settings.model)
        build_index(settings, encoder, progress)
    return load_index(settings.index_dir), encoder


def query_encoder(settings: Settings, index: LoadedIndex) -> Encoder:
    """The encoder for questions: ONNX Runtime when the index carries an export (no torch import),
    else sentence-transformers."""
    folder = index.path / ENCODER_DIR
    if settings.encoder != "torch" and (folder / ONNX_FILE).exists():
        return OnnxEncoder(folder, settings.model, threads=encoder_threads(settings.encoder_threads))
    if settings.encoder == "onnx":
        raise ModelError(f"the index at {index.path} has no ONNX encoder: run `hipbot index build`")
    return SentenceTransformerEncoder(settings.model)


class Hipbot:
    """Answers questions from one index; holds no conversation state between calls."""

    def __init__(
        self, settings: Settings, index: LoadedIndex, encoder: Encoder, triage_model: TriageModel
    ) -> None:
        self.settings = settings
        self.index = index
        self.encoder = encoder
        self.analyzer = Analyzer(encoder, settings.query_cache_size)
        self.retriever = Retriever(index, encoder, settings.dense_weight, settings.min_relevance)
        self.triager = Triager(triage_model, settings.region)
        self.disclaimer = disclaimer(settings.region)
        self.promotion_penalties = promotion_penalties(index.chunks)
        self.sentence_chunks: dict[str, set[int]] = {}
        for chunk in index.chunks:
            for sentence in chunk.sentences:
                self.sentence_chunks.setdefault(normalize(sentence).lower(), set()).add(chunk.id)
        corpus_words = [w for chunk in index.chunks for w in words(chunk.text)]
        self.corpus_stems = set(content_stems(set(corpus_words)))
        self.speller = Speller(corpus_words, tokenizer_words(index.path / ENCODER_DIR) | STOPWORDS)

    @classmethod
    def from_settings(
        cls, settings: Settings, progress: ProgressFactory | None = None, build: bool = True
    ) -> Hipbot:
        """Load (building when needed) the index, the query encoder and the triage model."""
        index, _ = ensure_index(settings, progress=progress)
        encoder = query_encoder(settings, index)
        if settings.triage_model is not None:
            model = load_chosen_model(settings.triage_model)
        elif progress is None:
            model = ensure_model(settings.index_dir, encoder if build else None)
        else:
            with StepBars(progress) as step:
                model = ensure_model(settings.index_dir, encoder if build else None, step=step)
        return cls(settings, index, encoder, model)

    def reloaded(self) -> Hipbot:
        """A new Hipbot on the current build of the index, sharing this one's encoder (when the model is
        the same) and triage model."""
        index = load_index(self.settings.index_dir)
        same_model = index.manifest.get("model") == self.index.manifest.get("model")
        encoder = self.encoder if same_model else query_encoder(self.settings, index)
        return Hipbot(self.settings, index, encoder, self.triager.model)

    def manifest_summary(self) -> dict[str, Any]:
        """What `/health` and `hipbot index info` show about the loaded index."""
        keys = ("model", "model_dimension", "articles", "chunks", "built_at", "package_version", "index_type")
        summary = {key: self.index.manifest.get(key) for key in keys}
        summary["corpus_hash"] = str(self.index.manifest.get("corpus_hash", ""))[:12]
        return summary

    def reply(self, message: str, history: Sequence[Turn] = ()) -> ChatReply:
        """Answer one message, using the earlier turns the client sent: safety first, then what the
        message is doing (a greeting, "tell me more", a question), then scope, then the cited answer."""
        earlier = user_turns(history)
        # Retrieval reads the message with misspelt words corrected; triage reads what was typed.
        corrected = self.speller.correct(message)
        texts = search_texts(corrected, history)
        # A message after earlier turns that does not read as a follow-up may still lean on them ("sorry,
        # I meant when driving"): it is searched both ways and the coverage model picks.
        undecided = bool(earlier) and len(texts) == 1
        if undecided:
            texts = [f"{earlier[-1]} {corrected}", corrected]
        analysis = self.analyzer.analyse([*earlier, message], texts)
        act = self.act(message, analysis)
        decision = self.triager.conversation(analysis.turns, small_talk=act in SMALL_TALK)
        if decision.escalated and decision.current:
            return self._reply("", decision)
        if act in SMALL_TALK:
            return self._reply(SMALL_TALK[act], decision, suggestions=starters(self.index.chips))
        if act != QUESTION:
            topic = self.topic(analysis, earlier)
            if topic is not None:
                return self.follow_on(act, topic, analysis, decision, history)
        scope = classify_scope(message)
        if not scope.in_scope:
            return self._reply(OUT_OF_SCOPE, decision, in_scope=False)
        if is_commerce_question(message):
            return self._reply(STORE_PAGES, decision, coverage="none")
        product_question = is_product_question(message)
        penalty = None if product_question else self.promotion_penalties
        found = self.search(texts, penalty, analysis.query_vectors, undecided)
        if not found.relevant:
            return self._reply(NOT_FOUND, decision, in_scope=False)
        # The sentences are scored against the message itself, except after a long story, where the
        # follow-up alone says too little and the story with it says what is being asked.
        composed = texts[0] if len(texts[0].split()) > LONG_CONTEXT_WORDS else texts[-1]
        return self.answer(message, composed, found, decision, product_question, scope.notes)

    def search(
        self, texts: list[str], penalty: np.ndarray | None, vectors: np.ndarray, undecided: bool
    ) -> Retrieval:
        """Retrieval for a message's phrasings. `undecided`: the first phrasing joins the message to the
        turn before it, the second is the message alone; the joined search is kept only when the coverage
        model finds the articles answer it better than the message alone (on the dev follow-ups that
        are not worded as follow-ups, hit@5 0.59 -> 0.85 for corrections; topic changes keep their own
        subject: 1 of 126 dev topic changes lost its first passage)."""
        k = self.settings.top_k
        if not undecided:
            found = self.retriever.search(texts, k, penalty, vectors)
            if len(texts) > 1 and missing_subject(texts[-1], set(), self.corpus_stems) is None:
                # A follow-up whose words the articles all use is as covered as the question it resolves
                # to: the coverage model was fitted on whole questions, and the bare fragment's weak
                # evidence reads as "partial". One that brings in a subject no article names ("and for
                # rowing?") keeps the evidence of its phrasings together.
                found.covered = self.retriever.search(texts[:1], k, penalty, vectors[:1]).covered
            return found
        alone = self.retriever.search(texts[1:], k, penalty, vectors[1:])
        joined = self.retriever.search(texts, k, penalty, vectors)
        return joined if joined.covered > alone.covered else alone

    def triage(self, user_turns: Sequence[str]) -> Decision:
        """The triage of a conversation's user turns (the new message last), as a reply would decide it."""
        analysis = self.analyzer.analyse(list(user_turns))
        small_talk = self.act(user_turns[-1], analysis) in SMALL_TALK
        return self.triager.conversation(analysis.turns, small_talk=small_talk)

    def evidence(
        self,
        query: str,
        kind: str,
        found: Retrieval,
        hidden: dict[int, set[int]],
        leave_out: float | None = None,
    ) -> Evidence:
        """What sentence choice reads for a query and what retrieval found for it; visitor questions at
        least `leave_out` similar to the query are ignored (when fitting, so none answers itself)."""
        top = found.hits[:3]
        vectors = [self.index.chunk_sentence_vectors(hit.chunk.id) for hit in top]
        adapted = self.index.adapter.apply(found.query_vector[None])[0]
        similarity = found.bank_similarity
        if leave_out is not None:
            similarity = np.where(similarity >= leave_out, 0.0, similarity)
        asked = asked_here(similarity, [hit.chunk for hit in top], self.index.phrase_sentences)
        return Evidence(query, kind, found.query_vector, adapted, found.hits, vectors, hidden, asked)

    def act(self, message: str, analysis: Analysis) -> str:
        """What the new message is doing in the conversation."""
        if self.index.acts is None:
            return QUESTION
        return self.index.acts.classify(analysis.message.text, analysis.message.vector)

    def topic(self, analysis: Analysis, earlier: list[str]) -> int | None:
        """The latest earlier user turn that asked something (the one "tell me more" continues)."""
        for i in range(len(earlier) - 1, -1, -1):
            turn = analysis.turns[i]
            if self.index.acts is None or self.index.acts.classify(turn.text, turn.vector) == QUESTION:
                return i
        return None

    def answer(
        self,
        message: str,
        query: str,
        found: Retrieval,
        decision: Decision,
        product_question: bool,
        notes: Sequence[str] = (),
        said: AbstractSet[str] = frozenset(),
        simpler: bool = False,
    ) -> ChatReply:
        """The cited answer for what retrieval found, with its coverage; sentences in `said` (normalised,
        lower-cased: quoted in earlier replies) are not quoted again while others are left."""
        items = self.named_items(message, found)
        if items:
            found.hits = items
        hidden = {hit.chunk.id: hidden_sentences(hit.chunk, product_question) for hit in found.hits}
        kind = question_type(message)
        candidates = score_sentences(self.evidence(query, kind, found, hidden))
        if said:
            candidates = [c for c in candidates if normalize(c.text).lower() not in said] or candidates
        chosen = (plainest(candidates) if simpler else []) or choose(candidates, found.hits, hidden, kind)
        coverage = self.coverage(found)
        parts = list(notes)
        noun = listed_noun(message)
        if items and noun:
            parts.append(
                listing(noun, [(n, hit.chunk.section or "") for n, hit in enumerate(items, 1) if n > 1])
            )
            chosen = chosen[:1]
        if coverage == "partial":
            passage_words = {w for hit in found.hits[:3] for w in words(hit.chunk.text)}
            parts.append(partial_note(missing_subject(message, passage_words, self.corpus_stems)))
        parts.append(render(chosen))
        if product_question:
            parts.append(STORE_NOTE)
        return self._reply(
            " ".join(p for p in parts if p),
            decision,
            passages=passages_from_hits(found.hits, hidden),
            suggestions=suggestions(self.index.chips, found.hits, message),
            coverage=coverage,
        )

    def named_items(self, message: str, found: Retrieval) -> list[Hit] | None:
        """For "which stretches ...?": the best passage, then the first passage of each sub-section of its
        article that names a stretch, replacing the lower-ranked passages (None when there are not two)."""
        noun = listed_noun(message)
        if not noun or not found.hits:
            return None
        top = found.hits[0]
        named = [c for c in named_sections(self.index.chunks, top.chunk.file, noun) if c.id != top.chunk.id]
        if len(named) < 2:
            return None
        extra = [
            Hit(c, top.score, top.dense, top.lexical, top.fused) for c in named[: self.settings.top_k - 1]
        ]
        return [top, *extra]

    def coverage(self, found: Retrieval) -> Coverage:
        """direct, partial or none, from the coverage model's probability."""
        if not found.relevant or not found.hits:
            return "none"
        ranking = self.index.ranking
        direct_at = ranking.direct_at if ranking is not None else 0.5
        return "direct" if found.covered >= direct_at else "partial"

    def follow_on(
        self, act: str, topic: int, analysis: Analysis, decision: Decision, history: Sequence[Turn]
    ) -> ChatReply:
        """ "Tell me more" (new passages on the same subject), "simpler" (the plainest sentences) or
        "where does that come from" (the same passages), all about the earlier question `topic`."""
        question = analysis.turns[topic].text
        vector = analysis.turns[topic].vector[None]
        product_question = is_product_question(question)
        penalty = None if product_question else self.promotion_penalties
        said = {normalize(s).lower() for s in quoted_sentences(assistant_turns(history))}
        shown = {c for s in said for c in self.sentence_chunks.get(s, ())}
        continues = act == "more" and bool(shown)
        # "Tell me more" leaves out the passages whose every sentence was quoted already; a shown passage
        # with more to say stays, and the answer quotes only what was not said (on the dev follow-ups,
        # dropping every shown passage lost the gold from the top 5 for 5 of 14 such messages).
        exhausted = {c for c in shown if self.said_all(c, said)} if continues else None
        k = self.settings.top_k
        wanted = 3 * k if continues else k
        found = self.retriever.search([question], wanted, penalty, vector, exclude=exhausted)
        if continues:
            found.hits = continuing(found.hits, [self.index.chunks[c] for c in shown])[:k]
        if not found.hits:
            return self._reply(NOT_FOUND, decision, in_scope=False)
        return self.answer(
            question,
            question,
            found,
            decision,
            product_question,
            said=said if act == "more" else frozenset(),
            simpler=act == "simpler",
        )

    def said_all(self, chunk_id: int, said: set[str]) -> bool:
        """Whether every quotable sentence of a passage is among the sentences already quoted."""
        sentences = [s for s in self.index.chunks[chunk_id].sentences if quotable(s)]
        return all(normalize(s).lower() in said for s in sentences)

    def _reply(
        self,
        answer: str,
        decision: Decision,
        in_scope: bool = True,
        passages: list[Passage] | None = None,
        suggestions: list[str] | None = None,
        coverage: Coverage = "none",
    ) -> ChatReply:
        """The contract object. Safety advice always comes first in the answer and stays there on every
        reply until the person says the problem has been dealt with; a message in another language also
        gets a note, in its language and in English, that answers are in English."""
        parts = [decision.message if decision.level != "none" else None, decision.language_note, answer]
        return ChatReply(
            answer=" ".join(p for p in parts if p),
            passages=passages or [],
            safety=decision.to_safety(),
            in_scope=in_scope,
            coverage=coverage,
            disclaimer=self.disclaimer,
            suggestions=suggestions or [],
        )


# A searched phrasing longer than this is a story with a follow-up, and the answer is scored against all of
# it (on the dev follow-ups, long stories held their answer in 0.18 of replies this way, 0.14 without).
LONG_CONTEXT_WORDS = 60

# What being the passage right after one already shown is worth in ranking for "tell me more". On the
# dev follow-ups, "more" found its answer first for 0.23 of them without it, 0.26 with 0.05, 0.28 with this.
CONTINUATION_BONUS = 0.15


def continuing(hits: list[Hit], shown: Sequence[Chunk]) -> list[Hit]:
    """Hits re-ranked for "tell me more": a passage that follows a shown one in its section (the article
    going on about the same thing) ranks as if it scored a little higher."""
    after = {(c.file, c.section, c.position + 1) for c in shown}

    def key(hit: Hit) -> float:
        c = hit.chunk
        return hit.score + (CONTINUATION_BONUS if (c.file, c.section, c.position) in after else 0.0)

    return sorted(hits, key=key, reverse=True)
