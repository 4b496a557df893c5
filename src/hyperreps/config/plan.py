"""A zoo's models and shards: every model's seed and hyperparameters (the config's grid x
seeds), and the groups of models trained together in one job."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..data import dataset_info

HYPERPARAMETERS = ("activation", "init", "optimizer", "lr", "weight_decay", "dropout")
SHARED_IN_SHARD = ("activation", "optimizer")  # per-model: seed, init, lr, weight_decay, dropout


@dataclass(frozen=True)
class Shard:
    index: int
    model_ids: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"{self.index:04d}"


def hyperparameter_grid(zoo_cfg: dict) -> dict[str, list]:
    """Each hyperparameter's values in a zoo's grid: the config's (a list, or one value) or
    the dataset's paper setting."""
    defaults = dataset_info(zoo_cfg["dataset"]).defaults
    given = zoo_cfg.get("hyperparameters", {})
    return {k: v if isinstance(v, list) else [v]
            for k, v in ((k, given.get(k, defaults[k])) for k in HYPERPARAMETERS)}


def expand_models(zoo_cfg: dict) -> list[dict]:
    """Every model of a zoo: model_id, seed and full hyperparameters (grid x seeds)."""
    axes = list(hyperparameter_grid(zoo_cfg).values())
    seeds_cfg = zoo_cfg.get("seeds", {})
    first, count = seeds_cfg.get("first", 1), seeds_cfg.get("count", 1000)
    rng = np.random.default_rng(first) if seeds_cfg.get("random", False) else None
    models = []
    for combo in itertools.product(*axes):
        seeds = (rng.integers(1, 10**6, size=count).tolist() if rng is not None
                 else range(first, first + count))
        for seed in seeds:
            row = dict(model_id=len(models), seed=int(seed))
            row.update(zip(HYPERPARAMETERS, combo))
            row["batch_size"] = zoo_cfg.get("batch_size", 10)
            models.append(row)
    return models


def plan_shards(zoo_cfg: dict) -> list[Shard]:
    """Models grouped by the settings one vectorised computation must share, then chunked."""
    size = zoo_cfg.get("shard_size", 100)
    groups: dict[tuple, list[int]] = {}
    for m in expand_models(zoo_cfg):
        groups.setdefault(tuple(m[k] for k in SHARED_IN_SHARD), []).append(m["model_id"])
    shards = []
    for ids in groups.values():
        for i in range(0, len(ids), size):
            shards.append(Shard(len(shards), tuple(ids[i : i + size])))
    return shards
