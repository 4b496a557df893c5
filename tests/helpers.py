"""Factories the test modules share: small zoos, Ray Tune model folders, data subsets, a tiny
autoencoder shape and the repository root. Plain functions and constants (fixtures live in
tests/conftest.py); no test module imports another test module."""

import functools
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

from hyperreps.architecture import SingleModel, init_parameters, zoo_cnn_layout, zoo_cnn_name
from hyperreps.autoencoder.model import AutoencoderShape
from hyperreps.data import DatasetSplits, SplitData
from hyperreps.metrics import METRICS
from hyperreps.zoo import Zoo, metadata_table

ROOT = Path(__file__).resolve().parents[1]

# the smallest autoencoder that runs every code path (the tiny workflow config's shape)
TINY = AutoencoderShape(d_model=8, n_layers=1, n_heads=2, d_ff=16, latent_dim=4, dropout=0.0,
                        projection_layers=1, projection_width=8, projection_dim=4)


def make_zoo(n_models=6, n_epochs=3, channels=1, diverged=(), first_id=0, seed=0,
             activation="tanh"):
    layout = zoo_cnn_layout(channels)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n_models, n_epochs, layout.n_params, generator=g)
    metrics = {k: np.random.default_rng(seed).uniform(0, 1, (n_models, n_epochs))
               for k in METRICS}
    div = np.full(n_models, -1)
    for i in diverged:
        div[i] = 1
        w[i, 1:] = float("nan")
        for v in metrics.values():
            v[i, 1:] = np.nan
    ids = list(range(first_id, first_id + n_models))
    rows = [dict(model_id=m, seed=m + 1, activation=activation, init="uniform", optimizer="adam",
                 lr=3e-4, weight_decay=0.0, dropout=0.0, batch_size=10) for m in ids]
    return Zoo(w, metadata_table(rows, metrics, div), layout, "digits", {"model_ids": ids})


def small_split(data: SplitData, n=64) -> SplitData:
    """The first ``n`` images of a split."""
    return SplitData(data.x[:n], data.y[:n])


def small_dataset(data: DatasetSplits, n=64) -> DatasetSplits:
    """Every split of ``data`` cut to its first ``n`` images."""
    return DatasetSplits(data.name, small_split(data.train, n), small_split(data.val, n),
                         small_split(data.test, n))


def reference_state_dict(flat, dropout=False):
    """A state dict with the reference CNN's keys (module_list.{i}); dropout shifts indices."""
    m = SingleModel(zoo_cnn_name(1)).load_flat(flat)
    idx = [0, 4, 8, 12, 15] if dropout else [0, 3, 6, 9, 11]
    mods = [m.conv1, m.conv2, m.conv3, m.fc1, m.fc2]
    out = {}
    for i, mod in zip(idx, mods):
        out[f"module_list.{i}.weight"] = mod.weight.detach().clone()
        out[f"module_list.{i}.bias"] = mod.bias.detach().clone()
    return out


def write_raytune_model(root, name, seed, epochs=3, start=0, dropout=False, nan_from=None):
    """A model folder ``root/name`` in the reference Ray Tune layout (params.json, result.json,
    checkpoint_NNNNNN/checkpoints); returns its weights ``[epochs, P]``. Wrote the two models
    committed in config/test/raytune/ (model_a seed 1, model_b seed 2)."""
    d = root / name
    d.mkdir(parents=True)
    (d / "params.json").write_text(json.dumps({
        "model::nlin": "tanh", "model::init_type": "uniform",
        "model::dropout": 0.5 if dropout else 0.0,
        "optim::optimizer": "adam", "optim::lr": 3e-4, "optim::wd": 0.0, "seed": seed,
        "training::batchsize": 10, "model::channels_in": 1}))
    lines, flats = [], []
    for e in range(epochs):
        flat = init_parameters(SingleModel(zoo_cnn_name(1)).layout, "normal", seed * 100 + e)
        if nan_from is not None and e >= nan_from:
            flat[5] = float("nan")
        flats.append(flat)
        ck = d / f"checkpoint_{e + start:06d}"
        ck.mkdir()
        torch.save(reference_state_dict(flat, dropout), ck / "checkpoints")
        lines.append(json.dumps({"training_iteration": e + 1, "train_loss": 1.0 / (e + 1),
                                 "train_acc": 0.1 * e, "test_loss": 1.1, "test_acc": 0.1 * e + 0.05,
                                 "trial_id": "x"}))
    (d / "result.json").write_text("\n".join(lines) + "\n")
    return torch.stack(flats)


@functools.cache
def local_snakemake_env() -> dict:
    """The environment for Snakemake runs with the local executor: no SLURM controller to ask.

    The SLURM executor plugin (installed for tests/test_slurm.py) runs `scontrol show config`
    whenever Snakemake starts; where SLURM's client is installed but no controller runs (as
    after the cluster tests) that call waits 9 s before it gives up. A `scontrol` that fails at
    once, first on PATH, answers it for the runs that never use SLURM."""
    fake = Path(tempfile.mkdtemp(prefix="no-slurm-")) / "scontrol"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    return dict(os.environ, PATH=f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                PYTHONWARNINGS="ignore")


def rule_bodies() -> dict[str, str]:
    """{rule name: its text} over rules/*.smk."""
    out = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name, body = block.split(":", 1)
            out[name.strip()] = body
    return out
