"""For the people who review the triage: the nearest labelled examples of a message, and a confusion
table per category for a labelled file."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..embedding import Encoder
from ..jsonl import read_lines
from ..text import normalize
from .dataset import Example, data_fingerprint, load_examples
from .model import expected

if TYPE_CHECKING:
    from .conversation import Decision

logger = logging.getLogger(__name__)

EXEMPLARS_FILE = "triage-exemplars.npz"


@dataclass
class Exemplars:
    """The labelled examples with their vectors, for nearest-example look-ups."""

    examples: list[Example]
    vectors: np.ndarray

    def nearest(self, vector: np.ndarray, k: int = 5) -> list[tuple[float, Example]]:
        """The k labelled examples most similar to a vector, most similar first."""
        similarity = self.vectors @ vector
        order = np.argsort(-similarity)[:k]
        return [(float(similarity[i]), self.examples[i]) for i in order]


def load_exemplars(
    index_dir: Path, encoder: Encoder, progress: Callable[[int], object] | None = None
) -> Exemplars:
    """The labelled examples' vectors, cached beside the index and recomputed when the data changes."""
    examples = load_examples()
    path = index_dir / EXEMPLARS_FILE
    fingerprint = data_fingerprint()
    if path.exists():
        with np.load(path) as cached:
            if str(cached["fingerprint"]) == fingerprint and len(cached["vectors"]) == len(examples):
                return Exemplars(examples, cached["vectors"].astype(np.float32))
    texts = [normalize(e.text) for e in examples]
    vectors = encoder.encode(texts, progress)
    index_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vectors=vectors.astype(np.float16), fingerprint=np.array(fingerprint))
    return Exemplars(examples, vectors)


@dataclass
class LabelledMessage:
    """One record of a labelled file: the user turns, the expected reply and the category."""

    turns: list[str]
    expect: str
    category: str


def read_labelled(path: Path) -> list[LabelledMessage]:
    """Records of a JSON-lines file in the evaluation format (`message` or `turns`, and `expect` or
    `level`, with `category`); records of other kinds are skipped."""
    records = []
    for _, record in read_lines(path):
        turns = record.get("turns") or ([record["message"]] if record.get("message") else [])
        wanted = record.get("expect") or (expected(record["level"]) if record.get("level") else None)
        if turns and wanted in ("urgent", "caution", "none"):
            records.append(LabelledMessage(turns, wanted, str(record.get("category") or "?")))
    return records


@dataclass
class Confusion:
    """Expected against decided replies, per category."""

    rows: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    expects: dict[str, str] = field(default_factory=dict)

    @classmethod
    def measure(
        cls,
        triage: Callable[[list[str]], Decision],
        records: Iterable[LabelledMessage],
    ) -> Confusion:
        """Triage every labelled conversation (as a reply would) and count the decisions."""
        table = cls()
        for record in records:
            decision = triage(record.turns)
            table.add(record, "urgent" if decision.escalated else decision.level)
        return table

    def add(self, record: LabelledMessage, decided: str) -> None:
        """Count one decision."""
        self.rows[record.category][decided] += 1
        self.expects[record.category] = record.expect

    def figures(self) -> dict[str, float | None]:
        """Red-flag recall, crisis recall, caution recall and false alarms over all categories."""
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for category, row in self.rows.items():
            for decided, n in row.items():
                totals[self.expects[category]][decided] += n

        def share(expect: str, hits: Sequence[str]) -> float | None:
            count = sum(totals[expect].values())
            return round(sum(totals[expect][h] for h in hits) / count, 3) if count else None

        crisis = self.rows.get("suicide_self_harm", {})
        crisis_total = sum(crisis.values())
        return {
            "red_flag_recall": share("urgent", ["urgent"]),
            "crisis_recall": round(crisis.get("urgent", 0) / crisis_total, 3) if crisis_total else None,
            "caution_recall": share("caution", ["caution", "urgent"]),
            "false_alarms": share("none", ["urgent"]),
        }

    def table(self) -> list[str]:
        """One line per category: expected reply, counts decided urgent / caution / none, right share."""
        lines = [f"{'category':32} {'expect':8} {'urgent':>7} {'caution':>8} {'none':>6} {'right':>7}"]
        for category in sorted(self.rows, key=lambda c: (self.expects[c], c)):
            row, expect = self.rows[category], self.expects[category]
            total = sum(row.values())
            right = row[expect] + (row["urgent"] if expect == "caution" else 0)
            lines.append(
                f"{category:32} {expect:8} {row['urgent']:>7} {row['caution']:>8} {row['none']:>6} "
                f"{right:>3}/{total:<3}"
            )
        return lines
