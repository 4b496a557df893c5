"""The novelty frontier experiment (issue 22): every population of a source zoo, the zoo's own
models and the noise curves measured on the 2025 memorisation audit's axes at epoch 0.

What is measured is defined in :mod:`hyperreps.generative.novelty_measures` (error masks, max
error IoU, chance IoU) and :mod:`hyperreps.generative.novelty_curves` (noise curves, comparison
at equal novelty);
this module wires them to a zoo:

- references: the zoo's training-split checkpoints of the autoencoder's window (all of them,
  the audit's "all training checkpoints"), their error masks on the test split, and their
  reconstructions R(W) by the autoencoder;
- measured groups: each population (as sampled; B_F is left out, it is the training models),
  the training models at the window's end (every checkpoint of the same model excluded from
  their references, for the IoU and both distances alike), the test models at the window's
  end, and the members of both noise curves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..autoencoder.model import HyperAutoencoder
from ..autoencoder.train import decode_latents
from ..data import SplitData
from .novelty_curves import (TEST_MODELS, TRAINING_MODELS, curve_points, frontier_table,
                             noise_members)
from .novelty_measures import audit_measures, error_masks
from ..metrics import nearest_anchor
from .populations import FINE_TUNED_SOURCE
from ..publish import staged_dir
from ..sampling.samplers import top_fraction_mask
from ..tables import write_csv
from ..zoo import Zoo
from ..splits import rows_by_split
from ..tensor_files import save_tensors

log = logging.getLogger(__name__)

# the audit's fixed noise levels on reconstructed checkpoints (its Fig. 6a)
AUDIT_SIGMAS = (0.02, 0.04)


@dataclass
class FrontierResult:
    models: pd.DataFrame  # one row per measured model: group, accuracy, every novelty measure
    points: pd.DataFrame  # the noise curves: per curve and sigma, means and stds
    table: pd.DataFrame  # every group against every curve on both axes (frontier_table)
    masks: dict[str, np.ndarray]  # group -> bool [models, images] misclassified test images
    settings: dict  # what it was measured with (window, noise curves, bootstrap), for audits


def _measure(name: str, weights: torch.Tensor, refs: dict, activation: str, data: SplitData,
             device, layout, groups=None) -> tuple[pd.DataFrame, np.ndarray]:
    masks, finite = error_masks(weights, activation, data, device, layout)
    m = audit_measures(masks, finite, refs["masks"], groups=groups,
                       reference_groups=None if groups is None else refs["groups"])
    own = {} if groups is None else {"groups": groups, "anchor_groups": refs["groups"]}
    df = pd.DataFrame({"population": name, "model": np.arange(len(weights)),
                       "test_acc": 1.0 - m["error_rate"],
                       "l2_checkpoint": nearest_anchor(weights, refs["weights"], **own)[0],
                       "l2_reconstruction": nearest_anchor(weights, refs["reconstructions"],
                                                           **own)[0],
                       **{k: v for k, v in m.items() if k != "error_rate"}})
    return df, masks


def frontier_references(zoo: Zoo, split: dict, window: tuple[int, int],
                        autoencoder: HyperAutoencoder, embeddings: torch.Tensor,
                        data: SplitData, activation: str, device="cpu") -> dict:
    """What every model is measured against: the zoo's training-split checkpoints of the
    window (``weights``), their reconstructions R(W) (``reconstructions``), their error masks
    on ``data`` (``masks``), their models (``groups``) and test accuracies (``accuracy``)."""
    m, e = rows_by_split(zoo, split, window)["train"]
    w = zoo.weights[m, e].float()
    z = embeddings[m, e]
    ok = torch.isfinite(w).all(1) & torch.isfinite(z).all(1)
    w, z, groups = w[ok], z[ok], m[ok.numpy()]
    recon = decode_latents(autoencoder, z, device=device)
    ref_masks, _ = error_masks(w, activation, data, device, zoo.layout)
    return {"weights": w, "reconstructions": recon, "masks": ref_masks, "groups": groups,
            "accuracy": 1.0 - ref_masks.mean(1), "activation": activation, "data": data,
            "device": device, "layout": zoo.layout}


def measure_models(name: str, weights: torch.Tensor, refs: dict, groups=None) -> tuple:
    """One group of models measured against ``refs``: a frame (one row per model: accuracy,
    every novelty measure) and its error masks. ``groups``: each model's own id among the
    references' (its own checkpoints are then left out of its references)."""
    df, masks = _measure(name, weights, refs, refs["activation"], refs["data"], refs["device"],
                         refs["layout"], groups)
    log.info("%s: %d models, accuracy %.3f, max error-IoU %.3f, L2 to checkpoint %.2f",
             name, len(df), df["test_acc"].mean(), df["max_error_iou"].mean(),
             df["l2_checkpoint"].mean())
    return df, masks


def novelty_frontier(zoo: Zoo, split: dict, window: tuple[int, int],
                     populations: dict[str, torch.Tensor], autoencoder: HyperAutoencoder,
                     embeddings: torch.Tensor, data: SplitData, activation: str,
                     settings: dict, top_fraction: float = 0.3, device="cpu"
                     ) -> FrontierResult:
    """Measure everything on ``data`` (the zoo's test split). ``embeddings``: the autoencoder's
    codes of every checkpoint ``[models, epochs, Z]``; ``settings``: ``n_models`` (per noise
    sigma), ``sigmas``, ``reconstructed_sigmas``, ``bootstrap`` (resamples), ``seed``."""
    refs = frontier_references(zoo, split, window, autoencoder, embeddings, data, activation,
                               device)
    top = top_fraction_mask(refs["accuracy"], top_fraction)
    log.info("references: %d training checkpoints (%d in the top %.0f%%), epochs %d-%d",
             len(refs["weights"]), int(top.sum()), 100 * top_fraction, *window)
    frames, masks = [], {}

    def add(name, weights, groups=None):
        df, masks[name] = measure_models(name, weights, refs, groups)
        frames.append(df)
        return df

    for name, weights in populations.items():
        if name != FINE_TUNED_SOURCE:
            add(name, weights)
    end = rows_by_split(zoo, split, (window[1], window[1]))
    for name, part in ((TRAINING_MODELS, "train"), (TEST_MODELS, "test")):
        pos, ep = end[part]
        add(name, zoo.weights[pos, ep].float(), pos if part == "train" else None)
    curves = {"noise_raw": (refs["weights"][top], settings["sigmas"]),
              "noise_reconstructed": (refs["reconstructions"][top],
                                      settings["reconstructed_sigmas"])}
    members = []
    for i, (curve, (base, sigmas)) in enumerate(curves.items()):
        weights, sigma, _ = noise_members(base, sigmas, settings["n_models"],
                                          settings["seed"] + i)
        df = add(curve, weights)
        df.insert(1, "sigma", sigma)
        members.append(df.assign(curve=curve))
    members = pd.concat(members, ignore_index=True)
    models = pd.concat(frames, ignore_index=True)
    measured = models[~models["population"].isin(list(curves))]
    table = frontier_table(measured, members, settings["bootstrap"], settings["seed"])
    info = {"window": list(window), "top_fraction": top_fraction, "activation": activation,
            **{k: settings[k] for k in ("n_models", "sigmas", "reconstructed_sigmas",
                                        "bootstrap", "seed")}}
    return FrontierResult(models, curve_points(members), table, masks, info)


MASKS_FILE = "error_masks.safetensors"
SETTINGS_FILE = "settings.json"


def save_frontier(folder, result: FrontierResult) -> None:
    """``models.csv`` (every measured model), ``curves.csv`` (the noise curves' points),
    ``error_masks.safetensors`` (uint8 ``[models, images]`` per group, rows in ``models.csv``
    order within the group) and ``settings.json`` (what it was measured with: what
    ``hyperreps audit`` needs to place other models on the same frontier), written to a
    temporary folder and renamed."""
    with staged_dir(folder) as tmp:
        tmp = Path(tmp)
        # exact: an audit reads the curves back and must see the accuracies the run compared
        # with (8 digits moved a model at the edge of a curve's accuracy range outside it)
        write_csv(result.models, tmp / "models.csv", exact=True)
        write_csv(result.points, tmp / "curves.csv")
        (tmp / SETTINGS_FILE).write_text(json.dumps(result.settings, indent=1))
        save_tensors({k: torch.from_numpy(v.astype(np.uint8)) for k, v in result.masks.items()},
                     tmp / MASKS_FILE, metadata={"format": "hyperreps-error-masks",
                                                 "meaning": "1 = misclassified test image"})


def table_for_display(table: pd.DataFrame) -> pd.DataFrame:
    """The frontier table to read: accuracies and shares in %, CIs as ``[low, high]`` strings,
    short column names, a verdict per comparison."""
    pct = 100.0

    def ci(low, high, scale=1.0, digits=3):
        return [f"[{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]" if np.isfinite(lo)
                and np.isfinite(hi) else "" for lo, hi in zip(low, high)]

    out = pd.DataFrame({"population": table["population"], "curve": table["curve"],
                        "n": table["n"], "acc": pct * table["test_acc"],
                        "acc_share": pct * table["acc_share"],
                        "max_iou": table["max_error_iou"], "chance_iou": table["chance_iou"],
                        "l2_ckpt": table["l2_checkpoint"], "l2_recon": table["l2_reconstruction"],
                        "delta_iou": table["delta_iou"],
                        "ci_delta": ci(table["ci_low_delta"], table["ci_high_delta"]),
                        "vs_noise_iou": [verdict(lo, hi) for lo, hi in
                                         zip(table["ci_low_delta"], table["ci_high_delta"])],
                        "gap_closed": pct * table["gap_closed"],
                        "ci_gap": ci(table["ci_low_gap"], table["ci_high_gap"], pct, 0),
                        "in_range": pct * table["in_range"]})
    # a selected population against noise under the same selection (W_Mix2_QD - N_noise_QD)
    out["vs_selected_noise"] = [f"{d:+.3f} {c}" if np.isfinite(d) else "" for d, c in zip(
        table["delta_vs_baseline"], ci(table["ci_low_vs_baseline"],
                                       table["ci_high_vs_baseline"]))]
    out["noise_acc_l2"] = pct * table["curve_acc_l2"]
    out["diff_l2"] = pct * table["difference_l2"]
    out["ci_l2"] = ci(table["ci_low_l2"], table["ci_high_l2"], pct, 1)
    out["vs_noise_l2"] = [verdict(lo, hi) for lo, hi in zip(table["ci_low_l2"],
                                                             table["ci_high_l2"])]
    return out


def verdict(low: float, high: float) -> str:
    """``above`` / ``below`` the noise curve where the CI excludes 0 (on the behavioural axis:
    more / less novel than noise at equal accuracy; on a weight axis: more / less accurate at
    equal distance), ``level`` where it spans it, empty where there is no CI (outside the
    curve, or at its edge)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return "above" if low > 0 else "below" if high < 0 else "level"
