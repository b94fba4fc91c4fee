import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hipbot.config import Settings
from hipbot.embedding import SentenceTransformerEncoder
from hipbot.index import IndexCorrupt, IndexMissing, build_index, current_path, load_index, stale_reason


def test_manifest_describes_the_build(bot) -> None:
    manifest = bot.index.manifest
    for key in ("corpus_hash", "model", "model_dimension", "chunking", "package_version", "built_at"):
        assert manifest[key]
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["model_dimension"] == 384
    assert manifest["chunks"] == len(bot.index.chunks) == bot.index.vectors.ntotal


def test_vectors_are_normalized(bot) -> None:
    norms = np.linalg.norm(bot.index.sentence_vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def test_lexical_scores_match_bm25s_without_importing_it(bot) -> None:
    import bm25s

    from hipbot.lexical import LexicalIndex
    from hipbot.retrieval import query_tokens

    folder = bot.index.path / "lexical"
    reference = bm25s.BM25.load(str(folder))
    ours = LexicalIndex.load(folder)
    questions = ["Why do my hips hurt after a long drive?", "sciatica sciatica sitting", "piriformis stretch"]
    for question in questions:
        tokens = query_tokens(question)
        assert np.allclose(ours.scores(tokens), reference.get_scores(tokens), atol=1e-6)
    assert ours.scores(query_tokens("sciatica")).max() > 0
    assert not ours.scores(["qqqzzz"]).any()
    probe = (
        "import sys; from pathlib import Path; from hipbot.index import load_index; "
        f"load_index(Path({str(bot.settings.index_dir)!r})); "
        "print('bm25s' in sys.modules, 'scipy' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["False", "False"]


def test_staleness_follows_corpus_and_settings(index_copy: Settings, tmp_path: Path) -> None:
    empty = index_copy.model_copy(update={"index_dir": tmp_path / "empty"})
    assert stale_reason(empty) == "no index has been built"
    with pytest.raises(IndexMissing, match="hipbot index build"):
        load_index(empty.index_dir)
    assert stale_reason(index_copy) is None
    changed = index_copy.model_copy(update={"chunk_target_words": 90})
    assert stale_reason(changed) == "chunking changed"
    article = next(index_copy.corpus_dir.glob("*.md"))
    article.write_text(
        article.read_text(encoding="utf-8") + "\nOne more sentence about hips.\n", encoding="utf-8"
    )
    assert stale_reason(index_copy) == "corpus hash changed"


class FailingEncoder:
    """The real encoder, made to fail part-way, as a crash during a build would."""

    def __init__(self, real: SentenceTransformerEncoder) -> None:
        self.real = real
        self.model_id = real.model_id
        self.dimension = real.dimension

    def encode(self, texts, progress=None):
        self.real.encode(texts[:4])
        raise KeyboardInterrupt


def test_failed_build_leaves_previous_index_usable(index_copy: Settings, encoder) -> None:
    settings = index_copy
    before = json.loads((current_path(settings.index_dir) / "manifest.json").read_text())
    (settings.corpus_dir / "99-extra.md").write_text("---\ntitle: X\nslug: x\nkind: article\n---\n\nHips.\n")
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, FailingEncoder(encoder))
    after = load_index(settings.index_dir)
    assert after.manifest["built_at"] == before["built_at"]
    assert not list(settings.index_dir.glob(".build-*"))


class CountingEncoder:
    """The real encoder, noting every text it is asked to embed."""

    def __init__(self, real: SentenceTransformerEncoder) -> None:
        self.real, self.texts = real, []
        self.model_id, self.dimension = real.model_id, real.dimension

    def encode(self, texts, progress=None):
        self.texts += texts
        return self.real.encode(texts, progress)


def test_a_rebuild_embeds_only_what_changed(index_copy: Settings, encoder) -> None:
    from hipbot.embedding_cache import encode_reusing, load_vectors

    (index_copy.corpus_dir / "12-stairs.md").write_text(
        "---\ntitle: Hip pain on stairs\nslug: hip-pain-stairs\nkind: article\n---\n\n"
        "Climbing stairs loads the hip more than walking on the flat. Take them one at a time.\n",
        encoding="utf-8",
    )
    counting = CountingEncoder(encoder)
    manifest = build_index(index_copy, counting)
    assert counting.texts and all("stairs" in t.lower() or "one at a time" in t for t in counting.texts)
    assert manifest["reused_vectors"] == manifest["embedded_texts"] - len(counting.texts)
    built = load_index(index_copy.index_dir)
    # A reused vector is the one embedding the text again gives.
    sentences = [s for c in built.chunks[:3] for s in c.sentences]
    assert np.allclose(built.sentence_vectors[: len(sentences)], encoder.encode(sentences), atol=1e-4)
    assert load_vectors(built.path, "another/model", encoder.dimension) == {}

    counting.texts = []
    known = load_vectors(built.path, encoder.model_id, encoder.dimension)
    again, reused = encode_reusing(counting, sentences, known)
    assert counting.texts == [] and reused == len(sentences)  # nothing new, nothing embedded
    assert np.array_equal(again, built.sentence_vectors[: len(sentences)])


def test_corrupt_index_names_the_fix(index_copy: Settings) -> None:
    settings = index_copy
    (current_path(settings.index_dir) / "vectors.faiss").write_bytes(b"not a faiss file")
    with pytest.raises(IndexCorrupt, match="run `hipbot index build`"):
        load_index(settings.index_dir)


def test_training_steps_get_one_bar_each_and_every_bar_is_closed() -> None:
    from hipbot.index import StepBars

    class Bar:
        def __init__(self, total: int, label: str) -> None:
            self.label, self.total, self.done, self.closed = label, total, 0, False

        def update(self, n: int = 1) -> None:
            self.done += n

        def close(self) -> None:
            self.closed = True

    made: list[Bar] = []

    def factory(total: int, label: str) -> Bar:
        made.append(Bar(total, label))
        return made[-1]

    with StepBars(factory) as step:
        step("encoding examples", 10)(10)
        assert not made[0].closed
        step("cross-validation", 5)(2)
        assert made[0].closed and not made[1].closed
    assert [(b.label, b.total, b.done, b.closed) for b in made] == [
        ("encoding examples", 10, 10, True),
        ("cross-validation", 5, 2, True),
    ]
