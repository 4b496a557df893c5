"""Do reconstructed models still work? (2022 §3.1, App. C, Figs. 2/9/10)

The test split's checkpoints at one epoch are encoded and decoded by each autoencoder variant,
and the decoded weights are evaluated on the zoo's test images next to the originals. The
papers' claim: with the plain MSE, layers with small weights are reconstructed poorly and the
reconstructed models fall to chance; layer-wise loss normalisation keeps them functional.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..autoencoder.loss import r2_scores
from ..autoencoder.model import HyperAutoencoder
from ..autoencoder.train import decode_latents, encode_weights
from ..data import SplitData
from ..trainer.evaluate import evaluate_weights
from ..zoo import Zoo
from ..splits import checkpoint_sets


@dataclass
class ReconstructionResult:
    table: pd.DataFrame  # one row per population: original and each variant
    original: np.ndarray  # [N, P] weights of the test models
    reconstructed: dict[str, np.ndarray]  # variant -> [N, P]
    acc_original: np.ndarray  # [N]
    acc_reconstructed: dict[str, np.ndarray]  # variant -> [N]
    layer_slices: dict[str, slice]


def evaluate_reconstruction(zoo: Zoo, split: dict, autoencoders: dict[str, tuple[HyperAutoencoder,
                            dict, dict]], test_data: SplitData, epoch: int,
                            device="cpu", ceiling: dict | None = None) -> ReconstructionResult:
    """``autoencoders`` maps a variant to :func:`~hyperreps.autoencoder.io.load_autoencoder`'s
    (model, info, tensors). Models of the test split that diverged before ``epoch`` are left
    out (they are excluded from the split already). ``ceiling`` (the zoo diagnostics'
    ``ceiling_by_width``: lists ``k`` and ``r2_test``) adds each variant's PCA ceiling at its
    own code width and its test R² as a fraction of it."""
    w, acts, _ = zoo.select(split["test"]).finite_at(epoch)  # ValueError naming the epochs
    _, acc_orig = evaluate_weights(w, acts, test_data, device, layout=zoo.layout)
    slices = {layer.name: zoo.layout.layer_slice(layer.name) for layer in zoo.layout.layers}
    rows = [dict(population="original", n_models=len(w), acc_mean=np.nanmean(acc_orig),
                 acc_std=np.nanstd(acc_orig, ddof=1))]
    recon, acc_recon = {}, {}
    for variant, (model, info, tensors) in autoencoders.items():
        y = decode_latents(model, encode_weights(model, w, device=device), device=device)
        _, acc = evaluate_weights(y, acts, test_data, device, layout=zoo.layout)
        recon[variant], acc_recon[variant] = y.numpy(), acc
        r2 = r2_scores(y, w, tensors["train_mean"], zoo.layout)
        metrics = info["metrics"]
        row = dict(population=variant, n_models=len(w), acc_mean=np.nanmean(acc),
                   acc_std=np.nanstd(acc, ddof=1))
        # R² both ways (issue: raw weight space, and the reference's sigma-scaled space)
        for space, key in (("", "r2"), ("_lwln", "r2_lwln")):
            for s in ("train", "val", "test"):
                row[f"r2{space}_{s}"] = metrics.get(key, {}).get(s, {}).get("overall", np.nan)
        sigma = metrics.get("layer_sigma")
        row["r2_lwln_epoch"] = (r2_scores(y, w, tensors["train_mean"], zoo.layout,
                                          torch.tensor(sigma))["overall"]
                                if sigma is not None else np.nan)
        row.update({f"r2_epoch_{k}": v for k, v in r2.items()})
        if ceiling is not None:
            width = model.arch.code_width
            if width in ceiling["k"] and "r2_test" in ceiling:
                c = ceiling["r2_test"][ceiling["k"].index(width)]
                row["code_width"], row["pca_ceiling"] = width, c
                row["of_ceiling"] = row["r2_test"] / c if c > 0 else np.nan
        row["best_epoch"] = info["metrics"]["best_epoch"]
        rows.append(row)
    return ReconstructionResult(pd.DataFrame(rows), w.numpy(), recon, acc_orig, acc_recon, slices)


def cross_zoo_reconstruction(model: HyperAutoencoder, info: dict, tensors: dict, zoo: Zoo,
                             split: dict, window: tuple[int, int], test_data: SplitData,
                             device="cpu") -> dict:
    """2022 App. D, Table 9: how well an autoencoder trained on one zoo reconstructs the test
    split of another zoo of the same architecture (checkpoints in ``window``). R² against the
    autoencoder's own training mean, raw and sigma-scaled (as in its own test R²), and the
    accuracy of the test models at the window's last epoch, original and decoded."""
    if zoo.layout != model.layout:
        raise ValueError("the zoo's architecture differs from the autoencoder's")
    w = checkpoint_sets(zoo, split, window)["test"]
    if len(w) == 0:
        raise ValueError("the zoo's test split has no finite checkpoints in the window")
    y = decode_latents(model, encode_weights(model, w, device=device), device=device)
    sigma = info["metrics"].get("layer_sigma")
    last, acts, _ = zoo.select(split["test"]).finite_at(window[1])
    _, acc = evaluate_weights(last, acts, test_data, device, layout=zoo.layout)
    dec = decode_latents(model, encode_weights(model, last, device=device), device=device)
    _, acc_dec = evaluate_weights(dec, acts, test_data, device, layout=zoo.layout)
    return dict(
        n_checkpoints=len(w),
        r2=r2_scores(y, w, tensors["train_mean"], zoo.layout)["overall"],
        r2_lwln=(r2_scores(y, w, tensors["train_mean"], zoo.layout,
                           torch.tensor(sigma))["overall"] if sigma is not None else np.nan),
        acc_original=float(np.nanmean(acc)), acc_decoded=float(np.nanmean(acc_dec)))
