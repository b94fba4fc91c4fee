"""Shared fixtures: one real index, built once per session from the real corpus with the bundled model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hipbot.api import create_app
from hipbot.assistant import Hipbot
from hipbot.config import REPO_ROOT, Settings, configure_offline
from hipbot.embedding import SentenceTransformerEncoder

CORPUS = REPO_ROOT / "corpus"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    configure_offline()
    return Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def encoder(settings: Settings) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(settings.model)


@pytest.fixture(scope="session")
def bot(settings: Settings, encoder: SentenceTransformerEncoder) -> Hipbot:
    from hipbot.assistant import ensure_index, query_encoder
    from hipbot.triage.artifact import ensure_model

    index, _ = ensure_index(settings, encoder)
    return Hipbot(settings, index, query_encoder(settings, index), ensure_model(settings.index_dir, None))


@pytest.fixture(scope="session")
def client(settings: Settings, bot: Hipbot) -> Iterator[TestClient]:
    with TestClient(create_app(settings, bot=bot, watch=False)) as test_client:
        yield test_client


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the real corpus."""
    target = tmp_path / "corpus"
    target.mkdir()
    for path in CORPUS.glob("*.md"):
        (target / path.name).write_bytes(path.read_bytes())
    return target


@pytest.fixture()
def index_copy(settings: Settings, bot: Hipbot, corpus_copy: Path, tmp_path: Path) -> Settings:
    """Settings for a writable copy of the corpus and of the session's index built from it."""
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir, symlinks=True)
    return settings.model_copy(update={"corpus_dir": corpus_copy, "index_dir": index_dir})
