"""Spelling tolerance for retrieval: misspelt words are corrected towards the corpus's own vocabulary.

A word is left alone when the encoder's tokenizer knows it as a whole word or the articles use it.
Otherwise the closest article word (Damerau-Levenshtein distance 1, or 2 for words of 7 letters or
more, the most frequent on ties) replaces it: "sciatca pian" becomes "sciatica pain". Candidates come
from a symmetric-delete index, built on first use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[a-z]+")
MIN_LENGTH = 4  # shorter words are too ambiguous to correct


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


class Speller:
    """Corrects words unknown to the tokenizer and the corpus towards the corpus's vocabulary."""

    def __init__(self, corpus_words: Iterable[str], known: Iterable[str] = ()) -> None:
        self.frequency = Counter(w for w in corpus_words if w.isalpha())
        self.known = set(known) | set(self.frequency)
        self._index: dict[str, set[str]] | None = None

    def _candidates(self, word: str) -> set[str]:
        if self._index is None:
            index: dict[str, set[str]] = {}
            for w in self.frequency:
                if len(w) >= MIN_LENGTH - 1:
                    for key in {w, *_deletes(w)}:
                        index.setdefault(key, set()).add(w)
            self._index = index
        found: set[str] = set()
        for key in {word, *_deletes(word)}:
            found |= self._index.get(key, set())
        return found

    def correct_word(self, word: str) -> str:
        """The word itself, or the closest corpus word when the word is unknown."""
        if len(word) < MIN_LENGTH or word in self.known or not word.isalpha():
            return word
        allowed = 2 if len(word) >= 7 else 1
        scored = [(distance(word, c), -self.frequency[c], c) for c in self._candidates(word)]
        scored = [s for s in scored if s[0] <= allowed]
        return min(scored)[2] if scored else word

    def correct(self, text: str) -> str:
        """The text with unknown words corrected (lowercased words; other characters kept)."""
        return _WORD.sub(lambda m: self.correct_word(m.group(0)), text.lower())
