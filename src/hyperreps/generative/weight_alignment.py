"""The weight_alignment experiment (issue 32): a source zoo's training models at the end of the
autoencoder's window, aligned to a common reference by weight matching (Git Re-Basin's
MergeMany, :func:`hyperreps.weight_matching.align_to_mean`), and their mean pairwise L2 before
and after. The aligned models are the parents of the weight-space generators
(:mod:`hyperreps.sampling.weight_mixing`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file

from ..architecture import architecture_of
from ..publish import staged_dir
from ..splits import rows_by_split
from ..tables import write_csv
from ..tensor_files import save_tensors
from ..weight_matching import align_to_mean, mean_pairwise_l2
from ..zoo import Zoo

log = logging.getLogger(__name__)

ALIGNED_FILE = "aligned.safetensors"
SUMMARY_FILE = "alignment.csv"


@dataclass
class AlignedModels:
    models: torch.Tensor  # [N, P] aligned window-end training models (finite)
    model_ids: np.ndarray  # [N] their model ids
    reference: torch.Tensor  # [P] the final reference: their mean
    summary: pd.DataFrame  # one row: models, epoch, L2 raw and aligned, rounds, reduction


def align_zoo(zoo: Zoo, split: dict, epoch: int, rounds: int = 3, seed: int = 0
              ) -> AlignedModels:
    """The zoo's finite training-split models at ``epoch`` aligned to their refined mean."""
    pos, ep = rows_by_split(zoo, split, (epoch, epoch))["train"]
    weights = zoo.weights[pos, ep].float()
    finite = torch.isfinite(weights).all(dim=1)
    weights, pos = weights[finite], pos[finite.numpy()]
    if len(weights) < 2:
        raise ValueError(f"weight alignment needs at least 2 finite training models at epoch "
                         f"{epoch}, got {len(weights)}")
    start = time.perf_counter()
    aligned, reference = align_to_mean(weights, zoo.layout, rounds=rounds, seed=seed)
    log.info("%d models aligned in %d rounds, %.1f s", len(weights), rounds,
             time.perf_counter() - start)  # timings go to the log, never into a table
    summary = pd.DataFrame([{
        "models": len(weights), "epoch": epoch, "architecture": architecture_of(zoo.layout).name,
        "mean_pairwise_l2_raw": mean_pairwise_l2(weights),
        "mean_pairwise_l2_aligned": mean_pairwise_l2(aligned), "rounds": rounds}])
    summary["reduction"] = 1 - summary["mean_pairwise_l2_aligned"] / summary[
        "mean_pairwise_l2_raw"]
    ids = np.asarray(zoo.model_ids[pos], dtype=np.int64)
    return AlignedModels(aligned, ids, reference, summary)


def save_aligned(folder, result: AlignedModels) -> None:
    """``aligned.safetensors`` (models, model ids, reference) and ``alignment.csv``, written to
    a temporary folder and renamed."""
    with staged_dir(folder) as tmp:
        save_tensors({"models": result.models.contiguous(),
                      "model_ids": torch.from_numpy(result.model_ids),
                      "reference": result.reference.contiguous()},
                     tmp / ALIGNED_FILE, metadata={"format": "hyperreps-aligned-models"})
        write_csv(result.summary, tmp / SUMMARY_FILE)


def load_aligned(folder, n_params: int) -> AlignedModels:
    """What :func:`save_aligned` wrote, shapes checked against ``n_params``."""
    folder = Path(folder)
    t = load_file(str(folder / ALIGNED_FILE))
    models = t["models"].float()
    if models.ndim != 2 or models.shape[1] != n_params or t["reference"].shape != (n_params,):
        raise ValueError(f"{folder / ALIGNED_FILE}: aligned models of shape "
                         f"{tuple(models.shape)}, expected [N, {n_params}]")
    return AlignedModels(models, t["model_ids"].numpy(), t["reference"].float(),
                         pd.read_csv(folder / SUMMARY_FILE))
