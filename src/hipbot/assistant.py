"""The application object: one loaded index and encoder, turning a conversation into a reply."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .answer import (
    NOT_FOUND,
    OUT_OF_SCOPE,
    answer_candidates,
    compose_answer,
    disclaimer,
    passages_from_hits,
    section_positions,
    suggestions,
)
from .config import Settings
from .conversation import search_texts, user_turns
from .embedding import ONNX_FILE, Encoder, ModelError, OnnxEncoder, SentenceTransformerEncoder
from .index import ENCODER_DIR, LoadedIndex, ProgressFactory, build_index, load_index, stale_reason
from .promotion import (
    STORE_NOTE,
    STORE_PAGES,
    hidden_sentences,
    is_commerce_question,
    is_product_question,
    promotion_penalties,
    sentence_flags,
)
from .retrieval import Retriever
from .safety import Triage, triage
from .schema import ChatReply, Passage, Turn
from .scope import classify_scope

logger = logging.getLogger(__name__)


def ensure_index(
    settings: Settings, encoder: Encoder | None = None, progress: ProgressFactory | None = None
) -> tuple[LoadedIndex, Encoder | None]:
    """Load the index, building it first when it is missing or stale; returns the encoder if one was made."""
    reason = stale_reason(settings)
    if reason:
        logger.info("building the index: %s", reason)
        encoder = encoder or SentenceTransformerEncoder(settings.model)
        build_index(settings, encoder, progress)
    return load_index(settings.index_dir), encoder


def query_encoder(settings: Settings, index: LoadedIndex) -> Encoder:
    """The encoder for questions: ONNX Runtime when the index carries an export (no torch import),
    else sentence-transformers."""
    folder = index.path / ENCODER_DIR
    if settings.encoder != "torch" and (folder / ONNX_FILE).exists():
        return OnnxEncoder(folder, settings.model)
    if settings.encoder == "onnx":
        raise ModelError(f"the index at {index.path} has no ONNX encoder: run `hipbot index build`")
    return SentenceTransformerEncoder(settings.model)


class Hipbot:
    """Answers questions from one index; holds no conversation state between calls."""

    def __init__(self, settings: Settings, index: LoadedIndex, encoder: Encoder) -> None:
        self.settings = settings
        self.index = index
        self.encoder = encoder
        self.retriever = Retriever(
            index, encoder, settings.dense_weight, settings.min_relevance, settings.query_cache_size
        )
        self.disclaimer = disclaimer(settings.region)
        self.promotion_penalties = promotion_penalties(index.chunks)
        self.sections = section_positions(index.chunks)

    @classmethod
    def from_settings(cls, settings: Settings, progress: ProgressFactory | None = None) -> Hipbot:
        """Load (building when needed) the index and the query encoder the settings name."""
        index, _ = ensure_index(settings, progress=progress)
        return cls(settings, index, query_encoder(settings, index))

    def manifest_summary(self) -> dict[str, Any]:
        """What `/health` and `hipbot index info` show about the loaded index."""
        keys = ("model", "model_dimension", "articles", "chunks", "built_at", "package_version", "index_type")
        summary = {key: self.index.manifest.get(key) for key in keys}
        summary["corpus_hash"] = str(self.index.manifest.get("corpus_hash", ""))[:12]
        return summary

    def reply(self, message: str, history: Sequence[Turn] = ()) -> ChatReply:
        """Answer one message, using the earlier turns the client sent: safety first, then scope, then
        the cited answer."""
        triaged = triage([*user_turns(history), message], self.settings.region)
        if triaged.escalated:
            return self._reply(triaged.message or "", safety=triaged)
        scope = classify_scope(message)
        if not scope.in_scope:
            return self._reply(OUT_OF_SCOPE, safety=triaged, in_scope=False)
        if is_commerce_question(message):
            return self._reply(STORE_PAGES, safety=triaged)
        product_question = is_product_question(message)
        texts = search_texts(message, history)
        penalty = None if product_question else self.promotion_penalties
        found = self.retriever.search(texts, self.settings.top_k, penalty)
        if not found.relevant:
            return self._reply(NOT_FOUND, safety=triaged, in_scope=False)
        hidden = {hit.chunk.id: hidden_sentences(hit.chunk, product_question) for hit in found.hits}
        candidates = answer_candidates(self.index, found.hits, found.query_vector, texts[-1], hidden)
        notes = [*scope.notes, compose_answer(candidates)]
        if product_question:
            notes.append(STORE_NOTE)
        return self._reply(
            " ".join(note for note in notes if note),
            safety=triaged,
            passages=passages_from_hits(found.hits, hidden),
            suggestions=suggestions(
                self.sections, found.hits, message, skip=None if product_question else sells
            ),
        )

    def _reply(
        self,
        answer: str,
        safety: Triage,
        in_scope: bool = True,
        passages: list[Passage] | None = None,
        suggestions: list[str] | None = None,
    ) -> ChatReply:
        """The contract object; advice to see a doctor soon always comes first in the answer."""
        if safety.level == "caution" and safety.message:
            answer = f"{safety.message} {answer}"
        return ChatReply(
            answer=answer,
            passages=passages or [],
            safety=safety.to_safety(),
            in_scope=in_scope,
            disclaimer=self.disclaimer,
            suggestions=suggestions or [],
        )


def sells(text: str) -> bool:
    """Whether a heading names a product or talks of buying (never suggested after a health question)."""
    return bool(sentence_flags(text))
