"""What an import learns from a zoo's weights themselves: where a model diverged, and its
checkpoints' loss and accuracy measured on data. One definition each, for every format (and
for the models the pipeline exports)."""

from __future__ import annotations

import numpy as np
import torch

from ..layout import ParameterLayout

SPLIT_METRICS = {"train": ("train_loss", "train_acc"), "val": ("val_loss", "val_acc"),
                 "test": ("test_loss", "test_acc")}


def mark_diverged(weights, epochs, metrics: dict | None = None) -> np.ndarray:
    """Each model's diverged epoch (-1: never): the epoch number of its first checkpoint with a
    non-finite weight. In place, from that checkpoint on, its weights ``[M, E, P]`` (a tensor
    or an array) and its ``metrics`` (``{name: [M, E]}``) become NaN: a diverged model is
    recorded, never dropped."""
    values = weights.numpy() if isinstance(weights, torch.Tensor) else np.asarray(weights)
    finite = np.isfinite(values).all(axis=2)
    diverged = np.full(len(finite), -1)
    for i in np.flatnonzero(~finite.all(axis=1)):
        first = int(np.argmin(finite[i]))
        diverged[i] = int(epochs[first])
        weights[i, first:] = float("nan")
        for values_ in (metrics or {}).values():
            values_[i, first:] = np.nan
    return diverged


def measure_checkpoints(weights: torch.Tensor, activations, data, layout: ParameterLayout,
                        splits=("train", "test"), device="cpu") -> dict[str, np.ndarray]:
    """Loss and accuracy of every checkpoint ``weights [..., P]`` on the ``splits`` of ``data``
    (a :class:`~hyperreps.data.SplitData`), as ``{metric: [...]}`` (NaN for a non-finite
    checkpoint); ``activations``: one for all, or one per leading row."""
    from ..trainer.evaluate import evaluate_weights

    shape = weights.shape[:-1]
    flat = weights.reshape(-1, layout.n_params)
    acts = activations
    if not isinstance(activations, str) and len(shape) > 1:  # one per model: repeat per epoch
        acts = np.repeat(np.asarray(activations), int(np.prod(shape[1:])))
    out = {}
    for split in splits:
        loss, acc = evaluate_weights(flat, acts, getattr(data, split), device, layout=layout)
        loss_key, acc_key = SPLIT_METRICS[split]
        out[loss_key], out[acc_key] = loss.reshape(shape), acc.reshape(shape)
    return out
