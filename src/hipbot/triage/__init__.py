"""Red-flag triage: two independent detectors, the reviewed rules and a learned model, read every user
turn since the conversation last said a problem was dealt with; either one can escalate.

- `advice`: categories, levels and what to tell the person (`data/advice.toml`)
- `rules`: the reviewed patterns (`data/red_flags.toml`)
- `dataset`, `train`, `model`, `head`: the labelled examples, the fit step, the artifact, its inference
- `language`: messages in other languages
- `conversation`: the decision for a whole conversation
"""

from .advice import CONTRACT_LEVEL, ESCALATING, SEVERITY, emergency_number, load_advice
from .conversation import Decision, Triager

__all__ = [
    "CONTRACT_LEVEL",
    "ESCALATING",
    "SEVERITY",
    "Decision",
    "Triager",
    "emergency_number",
    "load_advice",
]
