"""Conversation: the client sends earlier turns; short follow-ups are resolved with them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .analysis import split_units
from .schema import Turn
from .text import STOPWORDS, content_stems, lexical_tokens, words

OPENERS = ("and", "but", "also", "so", "then", "what about", "what if", "how about", "ok", "okay")
REFERRING_WORDS = frozenset(
    {"it", "that", "this", "those", "these", "them", "each", "one", "ones", "there", "same"}
)
FEW_TOPIC_WORDS = 2
SOME_TOPIC_WORDS = 5
# An earlier turn longer than this is searched again by its last clauses with the follow-up (on the dev
# follow-ups after long stories, hit@5 0.46 -> 0.54).
LONG_TURN_WORDS = 40
TAIL_CLAUSES = 2


def user_turns(history: Sequence[Turn]) -> list[str]:
    """The user's earlier messages, oldest first."""
    return [turn.content for turn in history if turn.role == "user"]


def is_followup(message: str) -> bool:
    """Whether a message leans on earlier turns: few topic words, an opener like "and", or a "that"."""
    lowered = " ".join(words(message))
    topic = lexical_tokens(message)
    if len(topic) <= FEW_TOPIC_WORDS:
        return True
    if any(lowered == opener or lowered.startswith(opener + " ") for opener in OPENERS):
        return True
    return len(topic) <= SOME_TOPIC_WORDS and any(w in REFERRING_WORDS for w in lowered.split())


def resolve_query(message: str, history: Sequence[Turn]) -> str:
    """The text to search for: the message, joined to the last user turn when it is a follow-up."""
    earlier = user_turns(history)
    if not earlier or not is_followup(message):
        return message
    return f"{earlier[-1]} {message}"


def search_texts(message: str, history: Sequence[Turn]) -> list[str]:
    """The phrasings to search: a follow-up is searched both with its context and on its own, so the
    earlier turn gives the topic without drowning what is newly asked."""
    query = resolve_query(message, history)
    if query == message:
        return [message]
    earlier = user_turns(history)[-1]
    if len(earlier.split()) <= LONG_TURN_WORDS:
        return [query, message]
    # After a long story the question is usually in its last clauses; those with the follow-up make a
    # phrasing whose topic is not diluted by the rest of the story.
    tail = " ".join(split_units(earlier)[-TAIL_CLAUSES:])
    return [query, f"{tail} {message}", message]


_MARKER = re.compile(r"\s*\[\d+\]")


def quoted_sentences(answers: Sequence[str]) -> list[str]:
    """The sentences earlier replies quoted (the ones followed by an [n] marker)."""
    out = []
    for answer in answers:
        for piece in re.split(r"(?<=\])\s+", answer):
            if _MARKER.search(piece):
                out.append(_MARKER.sub("", piece).strip())
    return out


def assistant_turns(history: Sequence[Turn]) -> list[str]:
    """The assistant's earlier replies, oldest first."""
    return [turn.content for turn in history if turn.role == "assistant"]


def missing_subject(question: str, passage_words: set[str], corpus_stems: set[str]) -> str | None:
    """The words of a question that neither the passages nor any article use (`corpus_stems`: the stems
    of every article's words), as a short phrase in the question's order: what "the articles don't cover"
    names (None when every word appears somewhere)."""
    known = set(content_stems(passage_words)) | corpus_stems
    unknown = [
        w
        for w in words(question)
        if w not in STOPWORDS and len(w) > 2 and not (set(lexical_tokens(w)) & known)
    ]
    return " ".join(unknown[:3]) if unknown else None
