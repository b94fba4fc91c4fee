"""The answer text: a few verbatim sentences from the best passages, chosen for the kind of question,
each with its [n], never opening on a word that points back at text the reader has not seen, and never
saying the same sentence twice."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .chunking import Chunk
from .retrieval import Hit
from .text import lexical_tokens, normalize, word_count

MAX_SENTENCES = 3
MAX_WORDS = 90
MAX_STEP_WORDS = 130
MAX_STEPS = 5
MIN_SENTENCE_WORDS = 6
MARGIN = 0.12  # how far below the best sentence another may score and still be quoted (hand-set score)
# The same for the fitted answer model's log-odds: a second sentence at least e^-2 as likely to answer.
# With the packaged answer model, 1.5 / 2.0 / 2.5 quote the answering phrase for 0.637 / 0.654 / 0.665 of
# the answer examples (left out of the visitor-question vote) at 46 / 51 / 55 words; on dev.jsonl 0.667 /
# 0.688 / 0.688 and on the dev follow-ups 0.437 / 0.441 / 0.448. 2.0 takes most of the gain for 5 words.
MODEL_MARGIN = 2.0
CUE_BONUS = 0.06

# Words that open a sentence by pointing back at something said before it.
DANGLING = re.compile(
    r"^(and|but|or|nor|so|also|then|this|that|these|those|it|its|it's|they|them|their|he|she|his|her|"
    r"which|because|however|similarly|additionally|plus|instead|otherwise|thus|therefore|such|another|"
    r"both|each|likewise|meanwhile|still|yet|again|besides|furthermore|moreover)\b",
    re.IGNORECASE,
)
# Sentences about the article itself ("In this article, you'll learn ...") answer nothing.
ABOUT_THE_ARTICLE = re.compile(
    r"\b(in this (article|blog|post|interview)|you(’|')ll learn|keep reading|read on|"
    r"let(’|')s (take a look|find out|learn)|here are (several|some|a few|three|four)|below\b)",
    re.IGNORECASE,
)
QUESTION_TYPES = {
    "procedure": re.compile(
        r"^(how (do|can|should|would) (i|you|we)|how to|what('s| is) the (best )?way to|steps?\b|show me|"
        r"teach me|walk me through)|\bhow (do|should) i (do|perform|stretch|release|sit|set|adjust|hold)\b",
        re.IGNORECASE,
    ),
    "reason": re.compile(
        r"^(why|how come|what causes|what makes)\b|\bwhy (do|does|is|are|am|would)\b", re.IGNORECASE
    ),
    "definition": re.compile(
        r"^(what (is|are|does|do) (a |an |the )?\w+( \w+)?( mean| do)?\??$|what (is|are) (a |an |the )?"
        r"\w+|who is|define|meaning of)",
        re.IGNORECASE,
    ),
    "judgement": re.compile(
        r"^(is (it|this|that)|are (they|these)|should i|do i need|can i|could i|"
        r"is .{0,40} (normal|bad|ok|okay|safe|good|worth|enough|dangerous|common))\b",
        re.IGNORECASE,
    ),
}
CUES = {
    "reason": re.compile(
        r"\b(because|due to|causes?|caused|leads? to|result(s|ing)? in|reason|when you|which means|so that|"
        r"puts? (strain|pressure|tension))\b",
        re.IGNORECASE,
    ),
    "definition": re.compile(
        r"\b(is|are) (a|an|the|made up of|called|located|part of|one of)\b", re.IGNORECASE
    ),
    "judgement": re.compile(
        r"\b(normal|common|important|should(n't| not)?|safe|okay|don(’|')t need|not necessarily|helpful|"
        r"recommend\w*|avoid|can help|may help)\b",
        re.IGNORECASE,
    ),
    "procedure": re.compile(
        r"^(place|keep|get|squeeze|lie|lay|sit|try|use|take|make|stand|hold|bring|reach|shift|press|lean|"
        r"start|rest|find|engage|tuck|slide|adjust|move|roll|breathe|put|set|grab|step|lift|relax|repeat)\b",
        re.IGNORECASE,
    ),
}


def question_type(question: str) -> str:
    """procedure, reason, definition, judgement or other: what kind of answer the question wants."""
    text = normalize(question).strip()
    for kind, pattern in QUESTION_TYPES.items():
        if pattern.search(text):
            return kind
    return "other"


def quotable(sentence: str) -> bool:
    """A sentence worth quoting: long enough, not a question, not about the article itself."""
    return (
        word_count(sentence) >= MIN_SENTENCE_WORDS
        and not sentence.rstrip().endswith("?")
        and not ABOUT_THE_ARTICLE.search(sentence)
    )


@dataclass
class Candidate:
    """A sentence that could be quoted: its passage number (1-based), position and score."""

    passage: int
    order: int
    text: str
    score: float


SENTENCE_FEATURES = (
    "similarity",
    "similarity_adapted",
    "overlap",
    "passage_rank",
    "passage_score",
    "position",
    "first",
    "length",
    "dangling",
    "listed",
    "cue",
    "transcript",
    "asked",
)
ANSWER_MODEL = "answer_model.json"


@dataclass(frozen=True)
class AnswerModel:
    """Weights for picking the answering sentence, fitted once on visitors' questions with the phrase
    that answers each (`scripts/fit_answer_model.py`); corpus-independent features only."""

    weights: tuple[float, ...]
    bias: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """A score per sentence (higher answers better)."""
        return np.atleast_2d(features) @ np.asarray(self.weights, dtype=np.float32) + self.bias


@lru_cache(maxsize=1)
def answer_model() -> AnswerModel | None:
    """The packaged sentence-choice weights (None when absent: the hand-set score is used)."""
    path = resources.files("hipbot.data").joinpath(ANSWER_MODEL)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != SENTENCE_FEATURES:
        return None
    return AnswerModel(tuple(data["weights"]), float(data["bias"]))


@dataclass
class Evidence:
    """What sentence choice reads: the question, its type and vectors (plain and adapted), the top
    passages with their sentences' vectors, and per passage the sentences that may not be quoted."""

    query: str
    kind: str
    query_vector: np.ndarray
    adapted_vector: np.ndarray
    hits: list[Hit]
    sentence_vectors: list[np.ndarray]
    hidden: dict[int, set[int]]
    asked: list[np.ndarray]  # per passage, per sentence: see question_bank.asked_here


def sentence_features(evidence: Evidence, passages: int = 3) -> tuple[list[tuple[int, int, str]], np.ndarray]:
    """The quotable sentences of the top passages, (passage number, position, text), with features."""
    query_words = set(lexical_tokens(evidence.query))
    cue = CUES.get(evidence.kind)
    hidden = evidence.hidden
    rows: list[tuple[int, int, str]] = []
    features: list[list[float]] = []
    pairs = zip(evidence.hits[:passages], evidence.sentence_vectors, strict=False)
    for n, (hit, vectors) in enumerate(pairs, start=1):
        plain = vectors @ evidence.query_vector
        moved = vectors @ evidence.adapted_vector
        listed = {i for i, flag in enumerate(_listed(hit)) if flag}
        count = max(len(hit.chunk.sentences), 1)
        for order, sentence in enumerate(hit.chunk.sentences):
            if order in hidden.get(hit.chunk.id, set()) or not quotable(sentence):
                continue
            overlap = len(query_words & set(lexical_tokens(sentence))) / max(len(query_words), 1)
            rows.append((n, order, sentence))
            features.append(
                [
                    float(plain[order]),
                    float(moved[order]),
                    overlap,
                    float(n),
                    hit.score,
                    order / count,
                    float(order == 0),
                    min(word_count(sentence), 60) / 30,
                    float(bool(DANGLING.match(sentence))),
                    float(order in listed),
                    float(cue is not None and bool(cue.search(sentence))),
                    float(hit.chunk.kind == "transcript"),
                    float(evidence.asked[n - 1][order]),
                ]
            )
    return rows, np.array(features, dtype=np.float32).reshape(len(rows), len(SENTENCE_FEATURES))


def _listed(hit: Hit) -> list[bool]:
    """Per sentence of a passage, whether it belongs to a list item (a step)."""
    return [unit.prefix.startswith("- ") for unit in hit.chunk.units for _ in unit.sentences]


def score_sentences(evidence: Evidence) -> list[Candidate]:
    """Every quotable sentence of the top passages, scored by the answer model (or, without one, by
    similarity, word overlap and the passage's rank)."""
    rows, features = sentence_features(evidence)
    if not rows:
        return []
    model = answer_model()
    if model is not None:
        scores = model.score(features)
    else:
        f = {name: features[:, i] for i, name in enumerate(SENTENCE_FEATURES)}
        scores = (
            f["similarity"]
            + 0.15 * f["overlap"]
            + 0.1 * f["passage_score"]
            - 0.03 * (f["passage_rank"] - 1)
            + CUE_BONUS * f["cue"]
        )
    return [
        Candidate(n, order, text, float(score)) for (n, order, text), score in zip(rows, scores, strict=True)
    ]


def _with_antecedent(
    chosen: Candidate, hits: list[Hit], hidden: dict[int, set[int]], depth: int = 2
) -> list[Candidate]:
    """A sentence that opens by pointing back, with the sentences before it in its passage (at most
    `depth` of them); nothing if the chain does not reach a sentence that stands on its own."""
    if not DANGLING.match(chosen.text):
        return [chosen]
    if depth == 0:
        return []
    chunk = hits[chosen.passage - 1].chunk
    before = chosen.order - 1
    if before < 0 or before in hidden.get(chunk.id, set()):
        return []
    previous = Candidate(chosen.passage, before, chunk.sentences[before], chosen.score)
    lead = _with_antecedent(previous, hits, hidden, depth - 1)
    return [*lead, chosen] if lead else []


def steps(hits: list[Hit], hidden: dict[int, set[int]], best: Candidate) -> list[Candidate]:
    """The numbered or bulleted steps of the best passage's exercise, in order (empty if it has none)."""
    chunk = hits[best.passage - 1].chunk
    hide = hidden.get(chunk.id, set())
    out: list[Candidate] = []
    position = 0
    for unit in chunk.units:
        if unit.prefix.startswith("- ") and unit.sentences and position not in hide:
            out.append(Candidate(best.passage, position, unit.sentences[0], best.score))
        position += len(unit.sentences)
    return out[:MAX_STEPS] if len(out) >= 2 else []


def choose(
    candidates: list[Candidate], hits: list[Hit], hidden: dict[int, set[int]], kind: str
) -> list[Candidate]:
    """The sentences to quote, in reading order."""
    if not candidates:
        return []
    ranked = sorted(candidates, key=lambda c: -c.score)
    if kind == "procedure":
        listed = steps(hits, hidden, ranked[0])
        if listed:
            return _fit(listed, MAX_STEP_WORDS)
    margin = MODEL_MARGIN if answer_model() is not None else MARGIN
    chosen: list[Candidate] = []
    for candidate in ranked:
        if chosen and (len(chosen) >= MAX_SENTENCES or candidate.score < ranked[0].score - margin):
            break
        group = [
            c for c in _with_antecedent(candidate, hits, hidden) if (c.passage, c.order) not in _keys(chosen)
        ]
        if group and sum(word_count(c.text) for c in [*chosen, *group]) <= MAX_WORDS:
            chosen.extend(group)
    return _dedupe(sorted(chosen, key=lambda c: (c.passage, c.order)))


def _keys(chosen: list[Candidate]) -> set[tuple[int, int]]:
    return {(c.passage, c.order) for c in chosen}


def _fit(chosen: list[Candidate], budget: int) -> list[Candidate]:
    out: list[Candidate] = []
    words = 0
    for c in chosen:
        if out and words + word_count(c.text) > budget:
            break
        out.append(c)
        words += word_count(c.text)
    return out


def _dedupe(chosen: list[Candidate]) -> list[Candidate]:
    """Drop sentences said already (the articles repeat some word for word)."""
    seen: set[str] = set()
    out: list[Candidate] = []
    for c in chosen:
        key = normalize(c.text).lower()
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def render(chosen: list[Candidate]) -> str:
    """The sentences, each followed by its citation marker."""
    return " ".join(f"{c.text} [{c.passage}]" for c in chosen)


def plainest(candidates: list[Candidate], count: int = 2) -> list[Candidate]:
    """The simplest sentences among the relevant ones: short, with short words."""
    standalone = [c for c in candidates if not DANGLING.match(c.text)]
    relevant = sorted(standalone, key=lambda c: -c.score)[:8]

    def difficulty(c: Candidate) -> float:
        words = c.text.split()
        return len(words) + 3 * sum(len(w) > 8 for w in words) - 10 * c.score

    return sorted(sorted(relevant, key=difficulty)[:count], key=lambda c: (c.passage, c.order))


LISTING = re.compile(r"^(which|what)\b(.*)", re.IGNORECASE)
# Words that end the noun phrase of a "which ... ?" question (the verb, a preposition, a pronoun).
_PHRASE_END = """help helps are is do does can could should will would work works for to count counts make
makes ease eases relieve stop fix target targets good best i you my me in on at from with when after before
the a an of"""
PHRASE_END = frozenset(_PHRASE_END.split())
_LEADING = "are is the best good main different other kind kinds type types sort sorts of"
LEADING = frozenset(_LEADING.split())


def listed_noun(question: str) -> str | None:
    """The thing a "which stretches help ...?" question asks to have listed: the last word of the noun
    phrase after "which" or "what" (None for other questions)."""
    match = LISTING.match(normalize(question).lower())
    if not match:
        return None
    phrase: list[str] = []
    for word in re.findall(r"[a-z]+", match.group(2)):
        if not phrase and word in LEADING:
            continue
        if word in PHRASE_END:
            break
        phrase.append(word)
    noun = phrase[-1] if phrase else None
    return noun if noun and len(noun) > 3 else None


PARENT_HEAD_WORDS = 4  # a parent heading names the listed thing among its first words


def named_sections(chunks: list[Chunk], article: str, noun: str) -> list[Chunk]:
    """The first passage of each sub-section of an article that names the noun (a stretch, an exercise,
    a position...) in its heading or sits under a heading that does, in article order."""
    stem = set(lexical_tokens(noun))
    seen: set[str] = set()
    out = []
    for chunk in chunks:
        heading = chunk.section or ""
        parent_head = " ".join((chunk.parent or "").split()[:PARENT_HEAD_WORDS])
        named = stem & set(lexical_tokens(heading)) or stem & set(lexical_tokens(parent_head))
        if chunk.file == article and chunk.parent and heading not in seen and named:
            seen.add(heading)
            out.append(chunk)
    return out


def listing(noun: str, numbered: list[tuple[int, str]]) -> str:
    """One sentence naming the listed sections, each with its passage's [n]."""
    names = [f"{_NUMBERING.sub('', heading)} [{n}]" for n, heading in numbered]
    joined = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    plural = noun if noun.endswith("s") else noun + "s"
    return f"The articles describe these {plural}: {joined}."


_NUMBERING = re.compile(r"^\d+\.\s+")
