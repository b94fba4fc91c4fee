"""The index on disk: FAISS vectors, passage records, sentence vectors, bm25s arrays and a manifest.

Builds go to a temporary folder beside the live one and are switched in by renaming a symlink, so a
crash or a kill during a build never leaves a half index and the previous one stays usable.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import __version__
from .acts import ActModel, act_examples, fit_acts
from .adapter import QueryAdapter
from .chunking import CHUNKER_VERSION, Chunk, ChunkParams, chunk_corpus
from .config import Settings
from .corpus import corpus_hash, load_unanswered, read_corpus, read_questions
from .embedding import ONNX_DATA_FILE, Encoder, export_onnx, exported_optimized, model_id
from .embedding_cache import encode_reusing, load_vectors, save_vectors
from .lexical import LexicalIndex, build_lexical
from .promotion import mark_chunk, promotion_fingerprint
from .question_bank import BankEntry, Chip, attach_questions, phrase_sentences
from .rerank import Ranking
from .text import lexical_tokens, normalize

logger = logging.getLogger(__name__)

FORMAT_VERSION = 7  # 6: visitor questions keep their quoted phrase; 7: coverage fitted with their vote
CURRENT = "current"
ENCODER_DIR = "encoder"
HNSW_FROM = 20000  # passages; below this a flat scan takes well under a millisecond
FILES = (
    "manifest.json",
    "chunks.jsonl",
    "vectors.faiss",
    "sentences.npy",
    "lexical",
    "questions.jsonl",
    "questions.npy",
    "context.npy",
)


class IndexUnavailable(RuntimeError):
    """Base class of index problems; the message says what to do."""


class IndexMissing(IndexUnavailable):
    """No index has been built yet."""


class IndexCorrupt(IndexUnavailable):
    """The index on disk cannot be read."""


class ProgressBar(Protocol):
    """What a build reports to: a bar with a total, advanced as work finishes."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


class ProgressFactory(Protocol):
    """Makes a progress bar for a stage of the build."""

    def __call__(self, total: int, label: str) -> ProgressBar: ...


class StepBars:
    """A training step reporter over a progress factory: one bar per step, each closed when the next
    starts and all closed on exit (`with StepBars(factory) as step: train(step)`)."""

    def __init__(self, factory: ProgressFactory) -> None:
        self.factory = factory
        self.bar: ProgressBar | None = None

    def __call__(self, label: str, total: int) -> Callable[[int], object]:
        self.close()
        self.bar = self.factory(total, label)
        return self.bar.update

    def close(self) -> None:
        """Close the open bar, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> StepBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class LoadedIndex:
    """An index in memory, ready to search."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: Any  # faiss.Index
    sentence_vectors: np.ndarray
    sentence_offsets: list[int]
    lexical: LexicalIndex
    bank: list[BankEntry] = field(default_factory=list)
    bank_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    adapter: QueryAdapter = field(default_factory=QueryAdapter)
    title_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    heading_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    ranking: Ranking | None = None
    acts: ActModel | None = None
    chips: list[Chip] = field(default_factory=list)
    unanswered_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))

    @property
    def passage_vectors(self) -> np.ndarray:
        """Every passage's vector, in passage order (read from the FAISS index once)."""
        if self._passage_vectors is None:
            self._passage_vectors = self.vectors.reconstruct_n(0, self.vectors.ntotal)
        return self._passage_vectors

    _passage_vectors: np.ndarray | None = field(default=None, repr=False)

    @property
    def phrase_sentences(self) -> dict[tuple[int, int], list[int]]:
        """The visitor questions each (passage, sentence position) answers by its quoted phrase."""
        if self._phrase_sentences is None:
            self._phrase_sentences = phrase_sentences(self.bank, self.chunks)
        return self._phrase_sentences

    _phrase_sentences: dict[tuple[int, int], list[int]] | None = field(default=None, repr=False)

    @property
    def bank_chunks(self) -> np.ndarray:
        """The passage each visitor question belongs to."""
        return np.array([entry.chunk for entry in self.bank], dtype=np.int64)

    def chunk_sentence_vectors(self, chunk_id: int) -> np.ndarray:
        """The vectors of one passage's sentences, in order."""
        start = self.sentence_offsets[chunk_id]
        return self.sentence_vectors[start : start + len(self.chunks[chunk_id].sentences)]


def chunk_params(settings: Settings) -> ChunkParams:
    """The chunking parameters a settings object asks for."""
    return ChunkParams(settings.chunk_target_words, settings.chunk_max_words, settings.chunk_min_words)


CONTEXT_WORDS = 30


def _speaker(prefix: str) -> str:
    """The speaker named in a transcript unit's prefix ("Name 1:08: ")."""
    return prefix.rsplit(" ", 2)[0] if prefix.endswith(": ") else ""


def embedding_texts(chunks: list[Chunk]) -> list[str]:
    """What is embedded for each passage: title and section, then the text it follows from, then the
    passage. A transcript passage is read with the other speaker's last question (the one it answers);
    any other passage with the end of the passage before it in the same section."""
    texts: list[str] = []
    turns: list[tuple[str, str]] = []  # (speaker, text) of the transcript so far
    for i, chunk in enumerate(chunks):
        heading = f"{chunk.title}. {chunk.section}." if chunk.section else f"{chunk.title}."
        previous = chunks[i - 1] if i else None
        if not previous or previous.file != chunk.file:
            turns = []
        context = ""
        if chunk.kind == "transcript" and chunk.units and _speaker(chunk.units[0].prefix):
            speaker = _speaker(chunk.units[0].prefix)
            others = [text for who, text in turns if who and who != speaker]
            asked = next((t for t in reversed(others) if "?" in t), others[-1] if others else "")
            context = " ".join(asked[: asked.rfind("?") + 1 or None].split()[-CONTEXT_WORDS:])
            if previous and previous.units and previous.units[-1].prefix == chunk.units[0].prefix:
                context += "\n" + " ".join(previous.text.split()[-CONTEXT_WORDS:])
            turns.extend((_speaker(u.prefix), " ".join(u.sentences)) for u in chunk.units)
        elif previous and previous.file == chunk.file and previous.section == chunk.section:
            context = " ".join(previous.text.split()[-CONTEXT_WORDS:])
        texts.append(f"{heading}\n{context}\n{chunk.text}" if context else f"{heading}\n{chunk.text}")
    return texts


def heading_text(chunk: Chunk) -> str:
    """What a passage's heading says: the article title and the section."""
    return f"{chunk.title}. {chunk.section}" if chunk.section else chunk.title


def identity(settings: Settings) -> dict[str, Any]:
    """The manifest fields that decide whether an index matches the corpus and settings."""
    return {
        "format_version": FORMAT_VERSION,
        "corpus_hash": corpus_hash(settings.corpus_dir),
        "model": model_id(settings.model),
        "chunking": {**asdict(chunk_params(settings)), "version": CHUNKER_VERSION},
        "promotion_rules": promotion_fingerprint(),
    }


def current_path(index_dir: Path) -> Path:
    """The live build folder (the `current` link)."""
    return index_dir / CURRENT


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The live index's manifest, or IndexMissing / IndexCorrupt."""
    path = current_path(index_dir) / "manifest.json"
    if not current_path(index_dir).exists():
        raise IndexMissing(f"no index at {index_dir}: run `hipbot index build`")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(
            f"the index manifest {path} cannot be read ({exc}): run `hipbot index build`"
        ) from exc
    return data


def stale_reason(settings: Settings) -> str | None:
    """Why the live index does not match the corpus and settings, or None when it does."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexMissing:
        return "no index has been built"
    except IndexCorrupt:
        return "the index manifest cannot be read"
    for key, value in identity(settings).items():
        if manifest.get(key) != value:
            return f"{key.replace('_', ' ')} changed"
    return None


def writable_index_dir(index_dir: Path) -> None:
    """Fail at once, with the fix, when the index folder cannot be written (before any embedding)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=".probe-", dir=index_dir))
        probe.rmdir()
    except OSError as exc:
        raise IndexUnavailable(
            f"cannot write the index to {index_dir} ({exc.strerror or exc}): choose a writable folder with "
            "--index or HIPBOT_INDEX_DIR"
        ) from None


def build_index(
    settings: Settings, encoder: Encoder, progress: ProgressFactory | None = None
) -> dict[str, Any]:
    """Build the index from the corpus into a temporary folder, then switch it in atomically."""
    started = time.perf_counter()
    writable_index_dir(settings.index_dir)
    import faiss

    from .fitting import Asked, fit_ranking, validated_chips

    articles, problems = read_corpus(settings.corpus_dir)
    questions, question_problems = read_questions(settings.corpus_dir, articles)
    problems += question_problems
    for problem in problems:
        logger.warning("left out of the index: %s", problem)
    chunks = chunk_corpus(articles, chunk_params(settings))
    for chunk in chunks:
        mark_chunk(chunk)
    unanswered = load_unanswered(settings.corpus_dir)
    sentences = [s for chunk in chunks for s in chunk.sentences]
    passage_texts = embedding_texts(chunks)
    labels = sorted({chunk.title for chunk in chunks} | {heading_text(chunk) for chunk in chunks})
    asked = [normalize(q.question) for q in questions]
    not_asked = [normalize(q) for q in unanswered]
    labelled_acts = act_examples()
    parts = [
        passage_texts,
        sentences,
        labels,
        asked,
        not_asked,
        [normalize(text) for text, _ in labelled_acts],
    ]

    texts = [text for part in parts for text in part]
    known = load_vectors(current_path(settings.index_dir), encoder.model_id, encoder.dimension)
    bar = progress(len(texts), "embedding passages") if progress else None
    vectors, reused = encode_reusing(encoder, texts, known, progress=bar.update if bar else None)
    if bar:
        bar.close()
    if reused:
        logger.info("reused the live build's vectors for %d of %d texts", reused, len(texts))
    bounds = np.cumsum([0, *(len(part) for part in parts)])
    passage_vectors, sentence_vectors, label_rows, question_vectors, unanswered_vectors, act_vectors = (
        vectors[bounds[i] : bounds[i + 1]] for i in range(len(parts))
    )
    label_vectors = dict(zip(labels, label_rows, strict=True))
    context = np.stack(
        [
            np.vstack([label_vectors[c.title] for c in chunks]),
            np.vstack([label_vectors[heading_text(c)] for c in chunks]),
        ]
    )
    bank, bank_vectors = attach_questions(questions, chunks, question_vectors, passage_vectors)

    vector_index = faiss_index(encoder.dimension, len(chunks))
    vector_index.add(passage_vectors)
    lexical = build_lexical([lexical_tokens(t) for t in passage_texts])
    offsets = np.cumsum([0] + [len(c.sentences) for c in chunks]).tolist()
    built = LoadedIndex(
        Path(),
        {},
        chunks,
        vector_index,
        sentence_vectors,
        offsets,
        lexical,
        bank,
        bank_vectors,
        title_vectors=context[0],
        heading_vectors=context[1],
    )
    asked_bank = Asked(
        [e.question for e in bank], bank_vectors, [e.targets for e in bank], [e.chunk for e in bank]
    )
    adapter, ranking = fit_ranking(
        built, asked_bank, Asked(unanswered, unanswered_vectors, []), settings.dense_weight
    )
    built.adapter, built.ranking = adapter, ranking
    chips = validated_chips(built, asked_bank, ranking, settings.dense_weight)

    settings.index_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=settings.index_dir))
    try:
        faiss.write_index(vector_index, str(staging / "vectors.faiss"))
        np.save(staging / "sentences.npy", sentence_vectors)
        save_vectors(staging, encoder.model_id, texts, vectors)
        lexical.save(staging / "lexical")
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(json.dumps(chunk.to_record(), ensure_ascii=False) + "\n")
        np.save(staging / "questions.npy", bank_vectors)
        np.save(staging / "context.npy", context)
        np.save(staging / "unanswered.npy", unanswered_vectors)
        with (staging / "questions.jsonl").open("w", encoding="utf-8") as out:
            for entry in bank:
                out.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
        adapter.save(staging)
        (staging / "chips.json").write_text(
            json.dumps([asdict(c) for c in chips], ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        # Visitor questions (and, for a corpus without any, the articles' own sentences) are the messages
        # that are not acts.
        content = (
            question_vectors
            if len(question_vectors) >= len(act_vectors)
            else np.vstack([question_vectors, sentence_vectors])
        )
        fit_acts(act_vectors, [act for _, act in labelled_acts], content).save(staging)
        if ranking is not None:
            ranking.save(staging)
        manifest = {
            **identity(settings),
            "model_dimension": encoder.dimension,
            "package_version": __version__,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 2),
            "articles": len(articles),
            "chunks": len(chunks),
            "sentences": len(sentences),
            "embedded_texts": len(texts),
            "reused_vectors": reused,
            "visitor_questions": len(bank),
            "unanswered_questions": len(unanswered),
            "query_adapter": adapter.weights is not None,
            "retrieval_fit": ranking.report if ranking else None,
            "index_type": type(vector_index).__name__,
            "problems": [p.as_dict() for p in problems],
        }
        manifest["query_encoder"] = _add_query_encoder(settings, encoder, staging)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _switch_in(settings.index_dir, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info(
        "built index: %d articles, %d passages in %.1fs",
        len(articles),
        len(chunks),
        manifest["build_seconds"],
    )
    return manifest


def faiss_index(dimension: int, size: int) -> Any:
    """Exact inner-product search while it is cheap; an HNSW graph past HNSW_FROM passages."""
    import faiss

    if size < HNSW_FROM:
        return faiss.IndexFlatIP(dimension)
    graph = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = 80
    graph.hnsw.efSearch = 128
    return graph


def _add_query_encoder(settings: Settings, encoder: Encoder, staging: Path) -> str | None:
    """Put an ONNX export of the model in the build (reused from the live build when it has one)."""
    if settings.encoder == "torch":
        return None
    target = staging / ENCODER_DIR
    live = current_path(settings.index_dir) / ENCODER_DIR
    try:
        same_model = read_manifest(settings.index_dir).get("model") == model_id(settings.model)
    except IndexUnavailable:
        same_model = False
    if same_model and (live / ONNX_DATA_FILE).exists() and exported_optimized(live):
        shutil.copytree(live, target)
        return "onnx"
    location = getattr(encoder, "location", None)
    if not isinstance(location, Path):
        logger.warning("no local model folder to export to ONNX; queries will use sentence-transformers")
        return None
    export_onnx(location, target)
    return "onnx"


def _switch_in(index_dir: Path, staging: Path) -> None:
    """Point `current` at the new build with one atomic rename, then remove older builds."""
    final = index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{staging.name[-6:]}"
    staging.rename(final)
    link = index_dir / f".current-{final.name}"
    link.symlink_to(final.name)
    os.replace(link, current_path(index_dir))
    for old in index_dir.glob("build-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)


def load_index(index_dir: Path) -> LoadedIndex:
    """Load the live index, checking that its parts agree with each other."""
    import faiss

    manifest = read_manifest(index_dir)
    path = current_path(index_dir).resolve()
    try:
        with (path / "chunks.jsonl").open(encoding="utf-8") as lines:
            chunks = [Chunk.from_record(json.loads(line)) for line in lines]
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        sentence_vectors = np.load(path / "sentences.npy")
        lexical = LexicalIndex.load(path / "lexical")
        with (path / "questions.jsonl").open(encoding="utf-8") as lines:
            bank = [
                BankEntry(**{**(r := json.loads(line)), "targets": tuple(r["targets"])}) for line in lines
            ]
        bank_vectors = np.load(path / "questions.npy")
        adapter = QueryAdapter.load(path)
        context = np.load(path / "context.npy")
        ranking = Ranking.load(path)
        acts = ActModel.load(path)
        chips = [Chip(**c) for c in json.loads((path / "chips.json").read_text(encoding="utf-8"))]
        unanswered = np.load(path / "unanswered.npy")
    except Exception as exc:  # faiss, numpy and json each raise their own types
        raise IndexCorrupt(f"the index at {path} is corrupt ({exc}): run `hipbot index build`") from exc
    offsets = np.cumsum([0] + [len(c.sentences) for c in chunks]).tolist()
    if (
        vectors.ntotal != len(chunks)
        or len(sentence_vectors) != offsets[-1]
        or len(chunks) != manifest.get("chunks")
        or len(bank) != len(bank_vectors)
    ):
        raise IndexCorrupt(f"the index at {path} is inconsistent (counts differ): run `hipbot index build`")
    return LoadedIndex(
        path,
        manifest,
        chunks,
        vectors,
        sentence_vectors,
        offsets,
        lexical,
        bank,
        bank_vectors,
        adapter,
        context[0],
        context[1],
        ranking,
        acts,
        chips,
        unanswered,
    )
