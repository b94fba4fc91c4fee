"""The chat contract: request and reply shapes shared by the library, the API and the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from .text import clean_text

MAX_MESSAGE_CHARS = 2000
MAX_HISTORY_ITEMS = 20
MAX_TURN_CHARS = 8000

SafetyLevel = Literal["none", "caution", "urgent"]
Coverage = Literal["direct", "partial", "none"]
VISIBLE_CHARACTER = r"[^\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    role: Literal["user", "assistant"] = Field(description="Who said it: 'user' or 'assistant'.")
    content: str = Field(max_length=MAX_TURN_CHARS)

    @field_validator("content")
    @classmethod
    def readable(cls, value: str) -> str:
        """Drop control characters and invalid code points."""
        return clean_text(value)


class ChatRequest(BaseModel):
    """A question and, optionally, the conversation so far (oldest first)."""

    message: str = Field(
        description=f"The question, 1 to {MAX_MESSAGE_CHARS} characters with at least one visible one.",
        # Declared for clients and fuzzers; the validator below enforces it with a message saying what to do.
        json_schema_extra={"minLength": 1, "maxLength": MAX_MESSAGE_CHARS, "pattern": VISIBLE_CHARACTER},
    )
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_ITEMS)

    @field_validator("message")
    @classmethod
    def message_has_text(cls, value: str) -> str:
        """Reject empty, blank and over-long messages; drop control characters and invalid code points."""
        value = clean_text(value)
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
    """The reply: a cited answer, the passages, safety advice, scope, coverage, a disclaimer and
    follow-ups."""

    answer: str
    passages: list[Passage]
    safety: Safety
    in_scope: bool
    coverage: Coverage = Field(
        "none",
        description="direct: the passages answer the question; partial: they are related but do not cover "
        "its specific subject (the answer says so first); none: nothing relevant was found.",
    )
    disclaimer: str
    suggestions: list[str]


class ErrorDetail(BaseModel):
    """One problem with a request."""

    field: str
    problem: str


class ErrorInfo(BaseModel):
    """What went wrong, for people and programs."""

    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The one error shape of every non-2xx response."""

    error: ErrorInfo
