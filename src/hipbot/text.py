"""Text helpers shared by the pipeline: sentences, words, lexical tokens, slugs, normalisation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "vs", "e.g", "i.e", "etc", "st", "no", "approx", "fig"}
# A sentence ends at . ! ? or … (closing quotes and brackets stay with it) before a capital or a digit.
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"”’)\]]))\s+(?=[\"“‘(\[]?[A-Z0-9#])")
_WORD = re.compile(r"[a-z0-9]+")
_STRAIGHTEN = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})

# Short function words that carry no topic for the lexical index.
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves s t don ll ve re m d im ive youre dont doesnt isnt cant get
got also really like one way thing things lot bit much many even still well ok okay yeah yes
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def clean_text(text: str) -> str:
    """Text as people meant it: invalid code points (lone surrogates) replaced, control and invisible
    formatting characters removed, newlines and tabs kept."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def normalize(text: str) -> str:
    """NFKC, straight quotes and dashes, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).translate(_STRAIGHTEN)
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split a paragraph at sentence ends, keeping each sentence verbatim."""
    pieces = [p for p in _SENTENCE_BREAK.split(text.strip()) if p]
    sentences: list[str] = []
    for piece in pieces:
        if sentences:
            last_word = sentences[-1].rsplit(None, 1)[-1].rstrip(".").lower()
            if last_word in ABBREVIATIONS:
                sentences[-1] = f"{sentences[-1]} {piece}"
                continue
        sentences.append(piece)
    return sentences


def word_count(text: str) -> int:
    """Whitespace-separated words, as a reader would count them."""
    return len(text.split())


def slugify(text: str) -> str:
    """A lowercase-words-like-this form of a heading, for anchors."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "section"


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lowercased words of a text (apostrophes folded), stopwords kept."""
    return _WORD.findall(normalize(text).lower().replace("'", ""))


# Everyday words people type, and the words the articles use for the same thing (added to queries).
LAY_TERMS = {
    "outer": "outside",
    "inner": "inside",
    "bum": "glute",
    "buttock": "glute",
    "buttocks": "glutes",
    "operation": "surgery",
    "op": "surgery",
    "physio": "physical therapist",
    "physiotherapist": "physical therapist",
    "pt": "physical therapist",
    "bike": "cycling",
    "biking": "cycling",
    "cyclist": "cycling",
    "spin": "cycling",
    "car": "driving",
    "commute": "driving",
    "jog": "running",
    "jogging": "running",
    "runner": "running",
    "bendy": "flexible",
    "stiff": "tight",
    "sore": "pain",
    "ache": "pain",
    "aches": "pain",
    "achy": "pain",
    "hurts": "pain",
}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A word's English Snowball stem (remembered: replies stem the same article words again and again)."""
    return str(_stemmer().stemWord(word))


def content_stems(word_list: Iterable[str]) -> list[str]:
    """The stems of the words that are neither stopwords nor single letters."""
    return [stem(w) for w in word_list if w not in STOPWORDS and len(w) > 1]


def lexical_tokens(text: str) -> list[str]:
    """Stemmed content words, the unit of the lexical index."""
    return content_stems(words(text))


def query_tokens(text: str) -> list[str]:
    """A query's lexical tokens, with the articles' words added for everyday ones."""
    expanded = words(text)
    expanded += [extra for w in expanded if w in LAY_TERMS for extra in LAY_TERMS[w].split()]
    return lexical_tokens(" ".join(expanded))
