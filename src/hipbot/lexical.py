"""Lexical scores: a bm25 index kept as plain arrays (the bm25s file layout), scored with NumPy alone.

bm25s builds the index, because it computes every (word, passage) score up front. Scoring a question is
then only a sum of columns of that sparse matrix, so replies read the saved arrays directly and never
import bm25s or SciPy (together about a fifth of a second of a cold `hipbot ask`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

PARAMS_FILE = "params.index.json"
VOCAB_FILE = "vocab.index.json"
ARRAYS = ("data", "indices", "indptr")
# Methods whose scores are all stored in the matrix; bm25l and bm25+ also need a non-occurrence term.
STORED_METHODS = {"lucene", "robertson", "atire"}


class LexicalIndexError(ValueError):
    """The saved lexical index cannot be read."""


def _import_bm25s() -> Any:
    """bm25s, with its logger handed back to the application (the library forces DEBUG on import)."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def build_lexical(token_lists: Sequence[Sequence[str]]) -> LexicalIndex:
    """Index tokenised passages with bm25s (Lucene's bm25: k1 1.5, b 0.75)."""
    bm25s = _import_bm25s()
    model = bm25s.BM25(method="lucene")
    model.index([list(tokens) for tokens in token_lists], show_progress=False)
    scores = model.scores
    return LexicalIndex(
        dict(model.vocab_dict),
        np.asarray(scores["data"], dtype=np.float32),
        np.asarray(scores["indices"], dtype=np.int32),
        np.asarray(scores["indptr"], dtype=np.int32),
        int(scores["num_docs"]),
        {"k1": model.k1, "b": model.b, "method": model.method, "version": bm25s.__version__},
    )


@dataclass(frozen=True)
class LexicalIndex:
    """Per-word bm25 scores of every passage, as a compressed sparse column matrix."""

    vocabulary: dict[str, int]
    data: np.ndarray  # the score of each stored (word, passage) pair
    indices: np.ndarray  # the passage of each stored pair
    indptr: np.ndarray  # word w's pairs are data[indptr[w]:indptr[w + 1]]
    documents: int
    params: dict[str, Any]

    def save(self, folder: Path) -> None:
        """Write the arrays and a small JSON of parameters, in the layout bm25s reads too."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.csc.index.npy", getattr(self, name))
        params = {**self.params, "num_docs": self.documents}
        (folder / PARAMS_FILE).write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
        (folder / VOCAB_FILE).write_text(json.dumps(self.vocabulary), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read the arrays and the vocabulary bm25s saved in `folder`."""
        try:
            params = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
            vocabulary = json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8"))
            data, indices, indptr = (np.load(folder / f"{name}.csc.index.npy") for name in ARRAYS)
        except (OSError, ValueError) as exc:
            raise LexicalIndexError(f"cannot read the lexical index in {folder} ({exc})") from exc
        if params.get("method") not in STORED_METHODS:
            raise LexicalIndexError(f"the lexical index in {folder} uses {params.get('method')!r}")
        vocabulary.pop("", None)  # bm25s keeps an empty token with no column of its own
        if max(vocabulary.values(), default=-1) >= len(indptr) - 1 or len(data) != len(indices):
            raise LexicalIndexError(f"the lexical index in {folder} is inconsistent")
        return cls(vocabulary, data, indices, indptr, int(params["num_docs"]), params)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """bm25 score of every passage for the tokens (a repeated token counts again, unknown ones not)."""
        out = np.zeros(self.documents, dtype=np.float32)
        for token in tokens:
            word = self.vocabulary.get(token)
            if word is not None:
                start, end = self.indptr[word], self.indptr[word + 1]
                out[self.indices[start:end]] += self.data[start:end]  # a passage appears once per word
        return out
