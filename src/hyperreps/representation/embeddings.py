"""A zoo's hyper-representations: every model and epoch embedded, stored pickle-free, and
turned into the inputs of the property probes and figures.

``embeddings.safetensors`` holds ``z`` ``[models, epochs, latent]`` (NaN where a checkpoint
is not finite: diverged models) and ``model_ids`` ``[models]`` in the zoo's order; the header's
metadata names the zoo, the variant and the autoencoder it came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open

from ..architecture import architecture_of
from ..publish import atomic_path
from ..autoencoder.model import HyperAutoencoder
from ..autoencoder.train import encode_weights
from ..trainer.evaluate import class_probabilities
from ..zoo import Zoo
from ..splits import rows_by_split
from ..tensor_files import save_tensors



class EmbeddingFileError(ValueError):
    """An embedding file is missing, unreadable or does not belong to the zoo."""


@dataclass
class ZooEmbeddings:
    z: torch.Tensor  # [models, epochs, latent]
    model_ids: list[int]
    metadata: dict[str, str]


def embed_zoo(model: HyperAutoencoder, zoo: Zoo, device="cpu", batch_size: int = 1024,
              progress: bool = False) -> torch.Tensor:
    """``z`` ``[models, epochs, latent]`` of every checkpoint of the zoo."""
    flat = zoo.weights.reshape(-1, zoo.layout.n_params)
    z = encode_weights(model, flat, batch_size=batch_size, device=device, progress=progress)
    return z.reshape(zoo.n_models, zoo.n_epochs, -1)


def save_embeddings(path: str | os.PathLike, z: torch.Tensor, model_ids, metadata: dict) -> None:
    with atomic_path(path) as tmp:
        save_tensors({"z": z.float().contiguous(), "model_ids": torch.tensor(list(model_ids))},
                     tmp, metadata={k: str(v) for k, v in metadata.items()})


def load_embeddings(path: str | os.PathLike, zoo: Zoo | None = None) -> ZooEmbeddings:
    """Read and check an embedding file (against ``zoo``'s models and epochs when given)."""
    path = Path(path)
    if not path.exists():
        raise EmbeddingFileError(f"{path}: missing (run the embed_zoo rule)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            z, ids = f.get_tensor("z"), f.get_tensor("model_ids")
    except (SafetensorError, OSError) as e:
        raise EmbeddingFileError(f"{path}: unreadable ({e})") from None
    if z.dim() != 3 or ids.dim() != 1 or len(ids) != z.shape[0]:
        raise EmbeddingFileError(f"{path}: expected z [models, epochs, latent] and model_ids")
    if zoo is not None and (ids.tolist() != [int(m) for m in zoo.info["model_ids"]]
                            or z.shape[1] != zoo.n_epochs):
        raise EmbeddingFileError(f"{path}: does not match the zoo's models and epochs")
    return ZooEmbeddings(z, ids.tolist(), meta)


def load_embeddings_by_variant(paths, zoo: Zoo) -> dict[str, torch.Tensor]:
    """The codes ``z`` [models, epochs, latent] of several embedding files of ``zoo``, by
    autoencoder variant."""
    out = {}
    for path in paths:
        e = load_embeddings(path, zoo)
        out[e.metadata["variant"]] = e.z
    return out


def checkpoint_f_scores(zoo: Zoo, test, epochs: tuple[int, int], device="cpu") -> np.ndarray:
    """Per-class test F1 ``[models, epochs, classes]`` of the checkpoints in ``epochs``
    (inclusive; NaN elsewhere and for non-finite checkpoints): the 2021 F_c targets."""
    from .probes import class_f_scores  # imported here: sklearn is heavy

    n_classes = architecture_of(zoo.layout).n_classes
    out = np.full((zoo.n_models, zoo.n_epochs, n_classes), np.nan)
    activations = zoo.models()["activation"].to_numpy()
    labels = test.y.numpy()
    span = zoo.positions_between(*epochs)  # checkpoints whose epoch number is in the window
    for act in np.unique(activations):
        rows = np.flatnonzero(activations == act)
        w = zoo.weights[rows][:, span]
        flat = w.reshape(-1, w.shape[-1])
        pred = class_probabilities(flat, str(act), test, device, zoo.layout).argmax(-1).numpy()
        f1 = class_f_scores(pred, labels, n_classes)
        f1[~torch.isfinite(flat).all(dim=1).numpy()] = np.nan
        out[np.ix_(rows, span)] = f1.reshape(len(rows), len(span), n_classes)
    return out


def checkpoint_properties(zoo: Zoo, f_scores: np.ndarray | None = None
                          ) -> tuple[dict[str, np.ndarray], set[str]]:
    """Per-checkpoint properties ``[models, epochs]`` to probe, and which are categorical:
    test accuracy, epoch, generalisation gap (train - test accuracy), per-class F-scores
    ``f_c0, f_c1, ...`` where ``f_scores`` (:func:`checkpoint_f_scores`) is given, and the
    zoo's hyperparameters (the probes skip those that do not vary)."""
    acc = zoo.metric("test_acc")
    props = {"test_acc": acc,
             "epoch": np.broadcast_to(zoo.epochs.astype(float), acc.shape),
             "ggap": zoo.metric("train_acc") - acc}
    if f_scores is not None:
        props.update({f"f_c{c}": f_scores[..., c] for c in range(f_scores.shape[-1])})
    models = zoo.models()
    categorical = set()
    for col in ("activation", "init", "optimizer", "lr", "weight_decay", "dropout"):
        if col not in models:
            continue
        values = models[col].to_numpy()
        if col in ("activation", "init", "optimizer"):
            categorical.add(col)
            values = values.astype(str)
        else:
            values = values.astype(float)
        props[col] = np.repeat(values[:, None], zoo.n_epochs, axis=1)
    return props, categorical


def probe_inputs(zoo: Zoo, split: dict, embeddings: dict[str, torch.Tensor],
                 epochs: tuple[int, int] | None = None, f_scores: np.ndarray | None = None):
    """Features and properties for :func:`hyperreps.representation.probes.run_probes`,
    row-aligned per split:
    raw weights "W", weight statistics "s(W)" and each variant's embeddings."""
    from .probes import layer_slices, weight_statistics  # imported here: sklearn is heavy

    rows = rows_by_split(zoo, split, epochs)
    props, categorical = checkpoint_properties(zoo, f_scores)
    w = zoo.weights.numpy()
    features: dict[str, dict[str, np.ndarray]] = {"W": {}, "s(W)": {}}
    features.update({v: {} for v in embeddings})
    properties: dict[str, dict[str, np.ndarray]] = {k: {} for k in props}
    slices = layer_slices(zoo.layout)
    for name, (m, e) in rows.items():
        features["W"][name] = w[m, e]
        with np.errstate(invalid="ignore"):
            features["s(W)"][name] = weight_statistics(w[m, e], slices)
        for variant, z in embeddings.items():
            features[variant][name] = z.numpy()[m, e]
        for k, v in props.items():
            properties[k][name] = v[m, e]
    return features, properties, categorical
