"""Conversation: the client sends earlier turns; short follow-ups are resolved with them."""

from __future__ import annotations

from collections.abc import Sequence

from .schema import Turn
from .text import lexical_tokens, words

OPENERS = ("and", "but", "also", "so", "then", "what about", "what if", "how about", "ok", "okay")
REFERRING_WORDS = frozenset(
    {"it", "that", "this", "those", "these", "them", "each", "one", "ones", "there", "same"}
)
FEW_TOPIC_WORDS = 2
SOME_TOPIC_WORDS = 5


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
    return [query] if query == message else [query, message]
