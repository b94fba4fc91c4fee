"""Build topic-change conversations from single retrieval questions: each question asked after a
different question of the same file (one whose answer shares no gold phrase), to check that a new
question after another keeps its own subject.

    .venv/bin/python scripts/topic_changes.py ../shared/eval/dev.jsonl --per-question 3 > changes.jsonl
    ../shared/tools/evaluate.py --url http://127.0.0.1:8000 --file changes.jsonl

Deterministic for a seed; the records keep the source's gold phrases, in the referee's format.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path


def topic_changes(records: list[dict], per_question: int, seed: int) -> list[dict]:
    """Two-turn conversations whose second turn is each single retrieval question in turn."""
    questions = [r for r in records if r.get("kind") == "retrieval" and not r.get("turns")]
    chooser = random.Random(seed)
    out = []
    for second in questions:
        others = [q for q in questions if q is not second and not set(q["gold"]) & set(second["gold"])]
        for first in chooser.sample(others, min(per_question, len(others))):
            out.append(
                {
                    "id": f"{second['id']}-after-{first['id']}",
                    "kind": "retrieval",
                    "turns": [first["question"], second["question"]],
                    "gold": second["gold"],
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a JSON-lines question file in the referee's format")
    parser.add_argument("--per-question", type=int, default=1, help="earlier questions per question")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    records = [json.loads(line) for line in args.source.read_text(encoding="utf-8").splitlines() if line]
    for record in topic_changes(records, args.per_question, args.seed):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
