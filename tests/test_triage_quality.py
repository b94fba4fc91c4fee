"""Quality gate: the triage on the locked split (written separately, never used to train or tune).

The floors sit a little under the figures measured when the model was trained (see the README); a
change that makes the triage miss more red flags, or cry wolf more often, fails here."""

import json
from pathlib import Path

import pytest

from hipbot.triage.review import Confusion, read_labelled

LOCKED = Path(__file__).parent / "data" / "locked" / "triage.jsonl"
RECALL_FLOOR = 0.96
CRISIS_FLOOR = 0.92
CAUTION_FLOOR = 0.90
FALSE_ALARM_CEILING = 0.11
# Long messages (60-140 words) with a red flag said in passing, or look-alike words in an ordinary story.
LONG_STORIES = LOCKED.with_name("long_stories.jsonl")
LONG_RECALL_FLOOR = 0.88
LONG_FALSE_ALARM_CEILING = 0.25
# A second split written later by another hand: short, medium and long messages, 21 conversations.
VOICES = LOCKED.with_name("triage_voices.jsonl")
VOICES_FLOORS = {"red_flag_recall": 0.97, "crisis_recall": 0.90, "caution_recall": 0.90}
VOICES_FALSE_ALARM_CEILING = 0.17


def measure(bot, path: Path) -> Confusion:
    return Confusion.measure(bot.triage, read_labelled(path))


@pytest.fixture(scope="module")
def confusion(bot) -> Confusion:
    return measure(bot, LOCKED)


def test_locked_split_is_whole() -> None:
    lines = [json.loads(line) for line in LOCKED.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) >= 500
    assert {r["expect"] for r in lines} == {"urgent", "caution", "none"}


def test_red_flag_recall_on_the_locked_split(confusion: Confusion) -> None:
    figures = confusion.figures()
    assert figures["red_flag_recall"] is not None and figures["red_flag_recall"] >= RECALL_FLOOR, figures


def test_crisis_recall_on_the_locked_split(confusion: Confusion) -> None:
    figures = confusion.figures()
    assert figures["crisis_recall"] is not None and figures["crisis_recall"] >= CRISIS_FLOOR, figures


def test_caution_recall_on_the_locked_split(confusion: Confusion) -> None:
    figures = confusion.figures()
    assert figures["caution_recall"] is not None and figures["caution_recall"] >= CAUTION_FLOOR, figures


def test_false_alarms_on_the_locked_split(confusion: Confusion) -> None:
    figures = confusion.figures()
    assert figures["false_alarms"] is not None and figures["false_alarms"] <= FALSE_ALARM_CEILING, figures


def test_red_flags_said_in_passing_in_long_stories(bot) -> None:
    figures = measure(bot, LONG_STORIES).figures()
    assert figures["red_flag_recall"] is not None and figures["red_flag_recall"] >= LONG_RECALL_FLOOR, figures
    assert figures["false_alarms"] is not None and figures["false_alarms"] <= LONG_FALSE_ALARM_CEILING, (
        figures
    )


def test_the_second_locked_split(bot) -> None:
    figures = measure(bot, VOICES).figures()
    for name, floor in VOICES_FLOORS.items():
        assert figures[name] is not None and figures[name] >= floor, (name, figures)
    assert figures["false_alarms"] is not None and figures["false_alarms"] <= VOICES_FALSE_ALARM_CEILING, (
        figures
    )


# Ordinary questions and follow-ups from the locked retrieval split: none describes a red flag, so every
# escalation is a false one (0.022 measured, 9 of 402: mostly short follow-ups read as a crisis).
ORDINARY = LOCKED.with_name("retrieval.jsonl")
ORDINARY_ESCALATION_CEILING = 0.035


def test_ordinary_questions_are_rarely_escalated(bot) -> None:
    records = [json.loads(line) for line in ORDINARY.read_text(encoding="utf-8").splitlines() if line.strip()]
    ordinary = [r.get("turns") or [r["question"]] for r in records if r["kind"] in ("retrieval", "followup")]
    assert len(ordinary) >= 400
    escalated = [turns[-1] for turns in ordinary if bot.triage(turns).escalated]
    assert len(escalated) / len(ordinary) <= ORDINARY_ESCALATION_CEILING, escalated
