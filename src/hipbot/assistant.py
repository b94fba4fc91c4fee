"""The application object: one loaded index and encoder, turning a conversation into a reply."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .answer import NOT_FOUND, answer_candidates, compose_answer, disclaimer, passages_from_hits, suggestions
from .config import Settings
from .conversation import search_texts
from .embedding import Encoder, SentenceTransformerEncoder
from .index import LoadedIndex, ProgressFactory, build_index, load_index, stale_reason
from .retrieval import Retriever
from .schema import ChatReply, Safety, Turn

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


class Hipbot:
    """Answers questions from one index; holds no conversation state between calls."""

    def __init__(self, settings: Settings, index: LoadedIndex, encoder: Encoder) -> None:
        self.settings = settings
        self.index = index
        self.encoder = encoder
        self.retriever = Retriever(index, encoder, settings.dense_weight, settings.min_relevance)
        self.disclaimer = disclaimer(settings.region)

    @classmethod
    def from_settings(cls, settings: Settings, progress: ProgressFactory | None = None) -> Hipbot:
        """Load (building when needed) the index and the encoder the settings name."""
        index, encoder = ensure_index(settings, progress=progress)
        return cls(settings, index, encoder or SentenceTransformerEncoder(settings.model))

    def manifest_summary(self) -> dict[str, Any]:
        """What `/health` and `hipbot index info` show about the loaded index."""
        keys = ("model", "model_dimension", "articles", "chunks", "built_at", "package_version", "index_type")
        summary = {key: self.index.manifest.get(key) for key in keys}
        summary["corpus_hash"] = str(self.index.manifest.get("corpus_hash", ""))[:12]
        return summary

    def reply(self, message: str, history: Sequence[Turn] = ()) -> ChatReply:
        """Answer one message, using the earlier turns the client sent."""
        texts = search_texts(message, history)
        found = self.retriever.search(texts, self.settings.top_k)
        if not found.relevant:
            return ChatReply(
                answer=NOT_FOUND,
                passages=[],
                safety=Safety(),
                in_scope=False,
                disclaimer=self.disclaimer,
                suggestions=[],
            )
        candidates = answer_candidates(self.index, found.hits, found.query_vector, texts[-1])
        return ChatReply(
            answer=compose_answer(candidates),
            passages=passages_from_hits(found.hits),
            safety=Safety(),
            in_scope=True,
            disclaimer=self.disclaimer,
            suggestions=suggestions(self.index.chunks, found.hits, message),
        )
