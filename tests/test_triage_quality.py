"""Quality gate: the triage on the locked split (written separately, never used to train or tune).

The floors sit a little under the figures measured when the model was trained (see the README); a
change that makes the triage miss more red flags, or cry wolf more often, fails here."""

import json
from pathlib import Path

import pytest

from hipbot.triage.review import Confusion, read_labelled

LOCKED = Path(__file__).parent / "data" / "locked" / "triage.jsonl"
RECALL_FLOOR = 0.95
CRISIS_FLOOR = 0.90
CAUTION_FLOOR = 0.85
FALSE_ALARM_CEILING = 0.12


@pytest.fixture(scope="module")
def confusion(bot) -> Confusion:
    table = Confusion()
    for record in read_labelled(LOCKED):
        decision = bot.triager.conversation(bot.analyzer.analyse(record.turns).turns)
        table.add(record, "urgent" if decision.escalated else decision.level)
    return table


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
