"""Saving and loading a trained autoencoder: a directory, pickle-free.

- ``autoencoder.safetensors``: the model's state (``model.*``), the layer sigmas and the
  training mean;
- ``autoencoder.json``: format and version, shape, training settings, the parameter layout,
  the image model's registered architecture, the training metrics and the caller's extras;
- ``history.csv``: the per-epoch training history.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..architecture import architecture_of, get_architecture
from ..layout import Layer, ParameterLayout
from ..publish import staged_dir
from .model import AutoencoderShape, HyperAutoencoder
from .train import TrainedAutoencoder

WEIGHTS_FILE, INFO_FILE, HISTORY_FILE = "autoencoder.safetensors", "autoencoder.json", "history.csv"
# speeds stay in the training job's log (train_zoo_autoencoder logs them), not in the saved
# model: two trainings of the same config write the same bytes
TIMING_METRICS = ("train_seconds", "checkpoints_per_second")


class AutoencoderFileError(ValueError):
    """A saved autoencoder is missing, inconsistent or not what the caller expects."""


def save_autoencoder(path: str | os.PathLike, trained: TrainedAutoencoder, extra: dict) -> Path:
    """A directory with the weights (safetensors), settings and metrics (JSON) and the
    training history (CSV), written atomically."""
    tensors = {f"model.{k}": v.detach().contiguous().cpu()
               for k, v in trained.model.state_dict().items()}
    tensors["sigma"] = trained.sigma.contiguous()
    tensors["train_mean"] = trained.train_mean.contiguous()
    s = asdict(trained.settings)
    info = {"format": "hyperreps-autoencoder", "version": 1,
            "architecture": asdict(trained.model.arch), "training": s,
            "layers": [asdict(layer) for layer in trained.model.layout.layers],
            "model_architecture": architecture_of(trained.model.layout).name,
            "metrics": {k: v for k, v in trained.metrics.items() if k not in TIMING_METRICS},
            **extra}
    with staged_dir(path) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE))
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1))
        trained.history.to_csv(tmp / HISTORY_FILE, index=False)
    return Path(path)


def load_autoencoder(path: str | os.PathLike) -> tuple[HyperAutoencoder, dict, dict]:
    """(model, info, tensors) from :func:`save_autoencoder`'s directory; pickle-free, with
    every tensor's shape checked against the architecture the JSON describes."""
    path = Path(path)
    for name in (INFO_FILE, WEIGHTS_FILE):
        if not (path / name).exists():
            raise AutoencoderFileError(f"{path / name}: missing")
    info = json.loads((path / INFO_FILE).read_text())
    if info.get("format") != "hyperreps-autoencoder":
        raise AutoencoderFileError(f"{path / INFO_FILE}: not a hyperreps autoencoder")
    try:
        layout = ParameterLayout([Layer(**d) for d in info["layers"]])
        if info.get("model_architecture"):  # its permutation groups, skips included
            registered = get_architecture(info["model_architecture"]).layout
            if registered != layout:
                raise ValueError(f"layers differ from {info['model_architecture']}")
            layout = registered
    except (TypeError, ValueError) as e:
        raise AutoencoderFileError(f"{path / INFO_FILE}: bad model layout ({e})") from None
    model = HyperAutoencoder(layout, AutoencoderShape(**info["architecture"]))
    tensors = load_file(str(path / WEIGHTS_FILE))
    state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise AutoencoderFileError(f"{path / WEIGHTS_FILE}: does not match the architecture "
                                   f"in {INFO_FILE} ({e})") from None
    for k in ("sigma", "train_mean"):
        if k not in tensors or not torch.isfinite(tensors[k]).all():
            raise AutoencoderFileError(f"{path / WEIGHTS_FILE}: {k} missing or not finite")
    return model.eval(), info, {k: tensors[k] for k in ("sigma", "train_mean")}


def load_autoencoders(paths) -> dict[str, tuple[HyperAutoencoder, dict, dict]]:
    """Several saved autoencoders of one zoo by variant: {variant: (model, info, tensors)}."""
    out = {}
    for path in paths:
        model, info, tensors = load_autoencoder(path)
        out[info["variant"]] = (model, info, tensors)
    return out
