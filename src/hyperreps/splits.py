"""Model splits of a zoo (train / val / test by model, never by checkpoint) and the
checkpoints of a split in an epoch window, by the zoo's real epoch numbers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .zoo import Zoo


def split_counts(n: int, fractions) -> dict[str, int]:
    """Models in train, val and test when ``n`` models are split by ``fractions`` (train and
    val rounded, test the rest)."""
    n_train = int(round(fractions[0] * n))
    n_val = min(int(round(fractions[1] * n)), n - n_train)
    return {"train": n_train, "val": n_val, "test": n - n_train - n_val}


def split_models(zoo: Zoo, fractions=(0.7, 0.15, 0.15), seed: int = 42) -> dict:
    """Split by model (never by checkpoint); diverged models are excluded and counted. A zoo
    that brings its own split (``zoo.info["split"]``: the field's split of an imported Small
    CNN Zoo) keeps it, and the models it leaves out are in no split."""
    models = zoo.models()
    diverged = models.loc[models["diverged"].astype(bool), "model_id"].astype(int).tolist()
    given = zoo.info.get("split")
    if given is not None:
        out = {k: sorted(int(m) for m in given[k] if int(m) not in set(diverged))
               for k in ("train", "val", "test")}
        out["diverged_excluded"] = sorted(diverged)
        out["counts"] = {k: len(v) for k, v in out.items() if k != "counts"}
        out["source"] = zoo.info.get("split_csv", "the zoo's own split")
        return out
    usable = models.loc[~models["diverged"].astype(bool), "model_id"].astype(int).to_numpy()
    rng = np.random.default_rng(seed)
    perm = rng.permutation(np.sort(usable))
    counts = split_counts(len(perm), fractions)
    n_train, n_val = counts["train"], counts["val"]
    parts = {"train": perm[:n_train], "val": perm[n_train:n_train + n_val],
             "test": perm[n_train + n_val:]}
    out = {k: sorted(int(m) for m in v) for k, v in parts.items()}
    out["diverged_excluded"] = sorted(diverged)
    out["counts"] = {k: len(v) for k, v in out.items() if k != "counts"}
    out["seed"], out["fractions"] = seed, list(fractions)
    return out


def rows_by_split(zoo: Zoo, split: dict, epochs: tuple[int, int] | None = None
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split: (model positions, epoch positions) of every checkpoint whose epoch number
    lies in ``epochs`` = (first, last), inclusive (all checkpoints by default). Index
    ``[models, epochs, ...]`` arrays with them."""
    pos = {int(m): i for i, m in enumerate(zoo.info["model_ids"])}
    ep = (np.arange(zoo.n_epochs) if epochs is None
          else zoo.positions_between(int(epochs[0]), int(epochs[1])))
    out = {}
    for name in ("train", "val", "test"):
        models = np.array([pos[int(m)] for m in split[name]], dtype=np.int64)
        out[name] = (np.repeat(models, len(ep)), np.tile(ep, len(models)))
    return out


def load_split(path: str | os.PathLike) -> dict:
    """A zoo's ``split.json`` (written by the split_zoo rule): model ids per split, counts."""
    return json.loads(Path(path).read_text())


def checkpoint_sets(zoo: Zoo, split: dict, epochs: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Flat weights ``[N, P]`` of every finite checkpoint of the split's models in the epoch
    window ``[first, last]`` (inclusive), per split."""
    first, last = epochs
    try:
        zoo.positions_between(first, last)
    except ValueError as e:
        raise ValueError(f"epoch window [{first}, {last}]: {e}") from None
    out = {}
    for name, (m, e) in rows_by_split(zoo, split, epochs).items():
        w = zoo.weights[m, e]
        out[name] = w[torch.isfinite(w).all(dim=1)].float()
    if len(out["train"]) < 2:
        raise ValueError("the training split has fewer than 2 finite checkpoints in the window")
    return out
