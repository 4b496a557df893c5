"""The generalisation check of a weight-space generator (issue 32; the disjoint-split test of
Kadkhodaie et al., ICLR 2024): the generator fitted on two disjoint halves of the training
models, drawn from the same seeds. A generator that generalises produces alike samples from
the same seed whichever half it saw; one that copies makes each sample alike to its own half.

Measured on the test split with the frontier's behavioural measure (error IoU): the IoU of each
pair of samples drawn with the same seed, of unpaired samples (a baseline: how alike any two
samples are), and the max IoU of each sample with the window's checkpoints of its own half and
of the other half.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch

from ..data import SplitData
from ..layout import ParameterLayout
from ..splits import rows_by_split
from ..zoo import Zoo
from .novelty_measures import error_masks, max_error_iou, paired_error_iou

QUANTITIES = ("paired_iou", "unpaired_iou", "own_half_iou", "other_half_iou", "test_acc")


def _ci(values: np.ndarray, n_resamples: int, rng) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    idx = rng.integers(len(values), size=(n_resamples, len(values)))
    means = values[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def disjoint_halves_check(zoo: Zoo, split: dict, window: tuple[int, int], aligned: torch.Tensor,
                          model_ids: np.ndarray,
                          draw: Callable[[torch.Tensor, int, int], torch.Tensor], n: int,
                          seed: int, activation: str, data: SplitData,
                          layout: ParameterLayout, n_resamples: int = 1000) -> pd.DataFrame:
    """``draw(parents, n, seed)`` fitted on each half of ``aligned`` (rows = ``model_ids``,
    split at random by ``seed``) with the same ``seed``; one row per quantity of
    :data:`QUANTITIES` with its mean over the samples of both halves and a 95% bootstrap CI."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(aligned))
    halves = [np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2:])]
    pos, ep = rows_by_split(zoo, split, window)["train"]
    ids = zoo.model_ids[pos]
    checkpoints = zoo.weights[pos, ep].float()
    samples, masks, refs = [], [], []
    for half in halves:
        samples.append(draw(aligned[half], n, seed))
        masks.append(error_masks(samples[-1], activation, data, "cpu", layout)[0])
        own = np.isin(ids, model_ids[half])
        refs.append(error_masks(checkpoints[torch.from_numpy(own)], activation, data, "cpu",
                                layout)[0])
    values = {
        "paired_iou": paired_error_iou(masks[0], masks[1]),
        "unpaired_iou": paired_error_iou(masks[0], np.roll(masks[1], 1, axis=0)),
        "own_half_iou": np.concatenate([max_error_iou(masks[h], refs[h])[0] for h in (0, 1)]),
        "other_half_iou": np.concatenate([max_error_iou(masks[h], refs[1 - h])[0]
                                          for h in (0, 1)]),
        "test_acc": np.concatenate([1.0 - m.mean(1) for m in masks]),
    }
    rows = []
    for name in QUANTITIES:
        low, high = _ci(values[name], n_resamples, rng)
        rows.append({"quantity": name, "mean": float(np.nanmean(values[name])),
                     "ci_low": low, "ci_high": high, "n": int(np.isfinite(values[name]).sum()),
                     "half_models": f"{len(halves[0])}+{len(halves[1])}"})
    return pd.DataFrame(rows)
