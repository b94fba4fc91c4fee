"""Retrieval figures over a question file: hit@1, hit@5, MRR@10 and words per passage."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jsonl import read_lines
from .schema import ChatReply, Turn
from .text import normalize

RETRIEVAL_KINDS = ("retrieval", "followup", "product")


class EvalFileError(ValueError):
    """A question file that cannot be read; the message names the line."""


@dataclass
class Figures:
    """Retrieval figures, and the records whose gold phrase was not in the top 5."""

    questions: int = 0
    hit1: int = 0
    hit5: int = 0
    reciprocal_rank: float = 0.0
    words: int = 0
    passages: int = 0
    misses: list[tuple[str, int | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The figures as rounded ratios."""
        n = max(self.questions, 1)
        return {
            "questions": self.questions,
            "hit@1": round(self.hit1 / n, 3),
            "hit@5": round(self.hit5 / n, 3),
            "mrr@10": round(self.reciprocal_rank / n, 3),
            "words_per_passage": round(self.words / max(self.passages, 1), 1),
        }


def read_questions(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines question file that have gold phrases."""
    records: list[dict[str, Any]] = []
    for where, record in read_lines(path, EvalFileError):
        if not isinstance(record, dict) or "kind" not in record:
            raise EvalFileError(f"{where}: each line must be an object with a 'kind'")
        if record["kind"] in RETRIEVAL_KINDS and record.get("gold"):
            records.append(record)
    return records


def first_hit(reply: ChatReply, gold: Iterable[str]) -> int | None:
    """The rank (0-based) of the first passage holding a gold phrase, among the first ten."""
    phrases = [normalize(g).lower() for g in gold]
    for rank, passage in enumerate(reply.passages[:10]):
        text = normalize(passage.text).lower()
        if any(p in text for p in phrases):
            return rank
    return None


def evaluate(records: list[dict[str, Any]], ask: Callable[[str, list[Turn]], ChatReply]) -> Figures:
    """Ask each record's question (follow-ups with their earlier turns) and score the passages."""
    figures = Figures()
    for record in records:
        turns = record.get("turns") or [record.get("question") or record.get("message") or ""]
        history: list[Turn] = []
        reply = None
        for turn in turns:
            reply = ask(turn, history)
            history += [Turn(role="user", content=turn), Turn(role="assistant", content=reply.answer)]
        assert reply is not None
        rank = first_hit(reply, record["gold"])
        figures.questions += 1
        if rank is not None:
            figures.hit1 += rank == 0
            figures.hit5 += rank < 5
            figures.reciprocal_rank += 1 / (rank + 1)
        if rank is None or rank >= 5:
            figures.misses.append((str(record.get("id", "?")), rank))
        figures.words += sum(len(p.text.split()) for p in reply.passages)
        figures.passages += len(reply.passages)
    return figures
