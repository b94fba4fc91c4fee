"""The learned detector's head: attention pooling over the encoder's token states, run with numpy.

The encoder pass that gives a message its sentence vector also gives every token a contextual state.
The head projects those states, optionally mixes them with one small transformer layer, pools them with a
few learned attention heads (so a red flag in one clause of a long story can dominate) next to the plain
mean, and classifies the result with a small MLP. Training (torch) lives in `train.py`; inference here
needs only numpy, so replies never import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HEAD_FILE = "head.npz"
LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class HeadShape:
    """Sizes of the head: projected width, attention heads, transformer heads (0 = no layer), classes."""

    width: int = 128
    pools: int = 4
    layer_heads: int = 4
    hidden: int = 128
    classes: int = 5


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    out: np.ndarray = e / e.sum(axis=axis, keepdims=True)
    return out


class AttentionHead:
    """Numpy inference of a trained head; `weights` use torch's parameter names."""

    def __init__(self, shape: HeadShape, weights: dict[str, np.ndarray]) -> None:
        self.shape = shape
        self.w = {name: np.asarray(value, dtype=np.float32) for name, value in weights.items()}

    def _mix(self, z: np.ndarray) -> np.ndarray:
        """One post-norm transformer encoder layer over the tokens of one text (torch's layout)."""
        w, heads = self.w, self.shape.layer_heads
        tokens, width = z.shape
        qkv = z @ w["layer.self_attn.in_proj_weight"].T + w["layer.self_attn.in_proj_bias"]
        q, k, v = (
            part.reshape(tokens, heads, width // heads).transpose(1, 0, 2) for part in np.split(qkv, 3, 1)
        )
        attention = _softmax(q @ k.transpose(0, 2, 1) / np.sqrt(width // heads), axis=-1)
        mixed = (attention @ v).transpose(1, 0, 2).reshape(tokens, width)
        mixed = mixed @ w["layer.self_attn.out_proj.weight"].T + w["layer.self_attn.out_proj.bias"]
        z = _layer_norm(z + mixed, w["layer.norm1.weight"], w["layer.norm1.bias"])
        hidden = np.maximum(z @ w["layer.linear1.weight"].T + w["layer.linear1.bias"], 0.0)
        ff = hidden @ w["layer.linear2.weight"].T + w["layer.linear2.bias"]
        return _layer_norm(z + ff, w["layer.norm2.weight"], w["layer.norm2.bias"])

    def features(self, states: np.ndarray) -> np.ndarray:
        """The pooled representation of one text's token states (tokens, dimension)."""
        w = self.w
        z = np.tanh(states @ w["proj.weight"].T + w["proj.bias"])
        if self.shape.layer_heads:
            z = self._mix(z)
        attention = _softmax(z @ w["att.weight"].T + w["att.bias"], axis=0)  # (tokens, pools)
        pooled = (attention.T @ z).reshape(-1)
        return np.concatenate([pooled, states.mean(axis=0)])

    def probabilities(self, states: list[np.ndarray]) -> np.ndarray:
        """Class probabilities for each text, (len(states), classes)."""
        if not states:
            return np.zeros((0, self.shape.classes), dtype=np.float32)
        w = self.w
        x = np.vstack([self.features(s.astype(np.float32)) for s in states])
        hidden = np.maximum(x @ w["mlp.1.weight"].T + w["mlp.1.bias"], 0.0)
        return _softmax(hidden @ w["mlp.4.weight"].T + w["mlp.4.bias"], axis=1)

    def save(self, folder: Path) -> None:
        """Write the weights as plain arrays."""
        arrays: dict[str, Any] = dict(self.w)
        np.savez_compressed(folder / HEAD_FILE, **arrays)

    @classmethod
    def load(cls, folder: Path, shape: HeadShape) -> AttentionHead:
        """Read weights written by `save`."""
        with np.load(folder / HEAD_FILE) as data:
            return cls(shape, {name: data[name] for name in data.files})
