"""The torch-free query path: ONNX vectors match sentence-transformers, and queries never import torch."""

import json
import os
import subprocess
import sys

import numpy as np
import onnx

from hipbot.bench import benchmark_questions
from hipbot.embedding import OnnxEncoder
from hipbot.index import ENCODER_DIR, embedding_texts


def test_the_index_carries_an_onnx_encoder(bot) -> None:
    assert isinstance(bot.encoder, OnnxEncoder)
    assert bot.index.manifest["query_encoder"] == "onnx"


def test_onnx_vectors_match_sentence_transformers(bot, encoder) -> None:
    texts = embedding_texts(bot.index.chunks) + benchmark_questions(300)
    reference = encoder.encode(texts)
    onnx = bot.encoder.encode(texts)
    cosine = (reference * onnx).sum(axis=1)
    assert len(texts) > 500
    assert float(cosine.min()) >= 0.999


def test_onnx_encoder_pads_a_batch_like_single_texts(bot) -> None:
    texts = ["hip", "Why does my lower back ache after a long day at my desk and a drive home?"]
    together = bot.encoder.encode(texts)
    apart = np.vstack([bot.encoder.encode([t]) for t in texts])
    assert np.allclose(together, apart, atol=1e-5)


def test_texts_that_tokenise_alike_are_encoded_once(bot) -> None:
    texts = ["Why does my hip ache?", "sciatica when sitting", "why does my hip ache?"]
    runs = []
    session = bot.encoder._session

    class Counting:
        def run(self, outputs, feeds):
            runs.append(len(feeds["input_ids"]))
            return session.run(outputs, feeds)

    bot.encoder._session = Counting()
    counted: list[int] = []
    try:
        vectors, states = bot.encoder.encode_with_tokens(texts)
        bot.encoder.encode(texts, progress=counted.append)
    finally:
        bot.encoder._session = session
    assert sum(runs) == 4  # two distinct texts, twice
    assert sum(counted) == len(texts)
    assert np.array_equal(vectors[0], vectors[2]) and np.array_equal(states[0], states[2])
    assert float(vectors[0] @ vectors[1]) < 0.9


def test_the_exported_encoder_is_the_optimised_graph(bot) -> None:
    folder = bot.index.path / ENCODER_DIR
    config = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
    assert config["optimized"] is True
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    assert any(node.domain == "com.microsoft" for node in graph.graph.node)  # fused by ONNX Runtime


def test_answering_does_not_import_torch(settings, bot) -> None:
    code = (
        "import sys, json\n"
        "from hipbot.cli import main\n"
        "main(['ask', '--json', 'why do my hips ache after cycling?'], standalone_mode=False)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers', "
        "'transformers'))\n"
        "sys.stderr.write(json.dumps(heavy))\n"
    )
    env = {
        **os.environ,
        "HIPBOT_INDEX_DIR": str(settings.index_dir),
        "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["passages"]
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_torch_setting_falls_back_to_sentence_transformers(settings, bot) -> None:
    from hipbot.assistant import query_encoder
    from hipbot.embedding import SentenceTransformerEncoder

    torch_settings = settings.model_copy(update={"encoder": "torch"})
    assert isinstance(query_encoder(torch_settings, bot.index), SentenceTransformerEncoder)
    assert (bot.index.path / ENCODER_DIR / "model.onnx").exists()
