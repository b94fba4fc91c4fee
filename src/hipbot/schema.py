"""The chat contract: request and reply shapes shared by the library, the API and the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

MAX_MESSAGE_CHARS = 2000
MAX_HISTORY_ITEMS = 20
MAX_TURN_CHARS = 8000

SafetyLevel = Literal["none", "caution", "urgent"]


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    role: Literal["user", "assistant"] = Field(description="Who said it: 'user' or 'assistant'.")
    content: str = Field(max_length=MAX_TURN_CHARS)


class ChatRequest(BaseModel):
    """A question and, optionally, the conversation so far (oldest first)."""

    message: str = Field(description=f"The question, 1 to {MAX_MESSAGE_CHARS} characters.")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_ITEMS)

    @field_validator("message")
    @classmethod
    def message_has_text(cls, value: str) -> str:
        """Reject empty, blank and over-long messages."""
        if not value.strip():
            raise ValueError("message is empty: type a question")
        if len(value) > MAX_MESSAGE_CHARS:
            raise ValueError(f"message is {len(value)} characters long; the limit is {MAX_MESSAGE_CHARS}")
        return value


class Passage(BaseModel):
    """A quoted passage, numbered as the answer cites it."""

    n: int
    title: str
    section: str | None
    text: str
    source: str
    score: float
    url: str | None = None


class Safety(BaseModel):
    """Red-flag triage of the conversation."""

    level: SafetyLevel = "none"
    category: str | None = None
    message: str | None = None


class ChatReply(BaseModel):
    """The reply: a cited answer, the passages, safety advice, scope, a disclaimer and follow-ups."""

    answer: str
    passages: list[Passage]
    safety: Safety
    in_scope: bool
    disclaimer: str
    suggestions: list[str]
