"""Figures of the autoencoder's decoding: weights and accuracies before and after
reconstruction (2022 Figs. 2/9/10), and robustness to noise on the embeddings and smoothness of
interpolations (2022 Fig. 3)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..metrics import r_squared
from .style import (ORIGINAL_COLOR, bin_count, checked_1d, checked_2d, mark_no_data, plural,
                    save_figure, shared_bins, variant_colors)


def plot_layer_reconstruction(original: np.ndarray, reconstructed: dict[str, np.ndarray],
                              layer_slices: dict[str, slice], acc_original: np.ndarray,
                              acc_reconstructed: dict[str, np.ndarray], train_mean: np.ndarray,
                              path, title: str = "") -> None:
    """Weight distribution per layer before (w) and after reconstruction (ŵ), and the accuracy
    distribution of the original and reconstructed models (2022 App. C Fig. 9/10).

    One row per variant of ``reconstructed``; one panel per layer of ``layer_slices`` with the
    layer's R² in its title (against ``train_mean`` [P], the training models' mean, as the
    reconstruction table's ``r2_epoch_<layer>``), and a last panel with the accuracies. Rows
    of ``original`` or of a reconstruction with a non-finite value are dropped (for that
    variant); non-finite accuracies are dropped and counted in the legend."""
    original = checked_2d("original", original)
    n, p = original.shape
    if not isinstance(reconstructed, dict) or not reconstructed:
        raise ValueError("reconstructed: expected a non-empty dict variant -> [N, P] array")
    rec = {}
    for k, v in reconstructed.items():
        v = np.asarray(v, dtype=float)
        if v.shape != (n, p):
            raise ValueError(f"reconstructed[{k!r}]: expected shape {(n, p)} like original, "
                             f"got {v.shape}")
        rec[k] = v
    if not isinstance(layer_slices, dict) or not layer_slices:
        raise ValueError("layer_slices: expected a non-empty dict layer name -> slice")
    for k, s in layer_slices.items():
        if not isinstance(s, slice):
            raise ValueError(f"layer_slices[{k!r}]: expected a slice, got {type(s).__name__}")
        if (s.stop is not None and s.stop > p) or (s.start is not None and s.start >= p) \
                or len(range(*s.indices(p))) == 0:
            raise ValueError(f"layer_slices[{k!r}]: {s} is empty or outside the {p} parameters "
                             "of original")
    acc_o = checked_1d("acc_original", acc_original, n)
    if not isinstance(acc_reconstructed, dict):
        raise ValueError("acc_reconstructed: expected a dict variant -> [N] array")
    missing = [k for k in rec if k not in acc_reconstructed]
    if missing:
        raise ValueError(f"acc_reconstructed: no accuracies for variant(s) {missing}")
    acc_r = {k: checked_1d(f"acc_reconstructed[{k!r}]", acc_reconstructed[k], n) for k in rec}
    train_mean = checked_1d("train_mean", train_mean, p)

    finite_o = np.isfinite(original).all(axis=1)
    keep = {k: finite_o & np.isfinite(v).all(axis=1) for k, v in rec.items()}
    layers = list(layer_slices)
    bins = {}
    for layer, s in layer_slices.items():
        bins[layer] = shared_bins([original[finite_o][:, s]]
                                  + [rec[k][keep[k]][:, s] for k in rec])
    acc_bins = shared_bins([acc_o] + list(acc_r.values()), n_bins=bin_count(n), central=None)
    colors = variant_colors(rec)

    ncols, nrows = len(layers) + 1, len(rec)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.7 * ncols, 2.4 * nrows + 0.6),
                             squeeze=False)
    for row, (variant, w_rec) in enumerate(rec.items()):
        m = keep[variant]
        w, wr = original[m], w_rec[m]
        color = colors[variant]
        for col, layer in enumerate(layers):
            ax = axes[row, col]
            s = layer_slices[layer]
            r2 = r_squared(wr[:, s], w[:, s], train_mean[s])
            r2_text = "n/a" if np.isnan(r2) else f"{r2:.3f}"
            ax.set_title(f"{layer}   R²={r2_text}", fontsize=9)
            if m.sum() == 0 or bins[layer] is None:
                mark_no_data(ax, "no finite rows")
            else:
                ax.hist(w[:, s].ravel(), bins=bins[layer], density=True, histtype="stepfilled",
                        color=ORIGINAL_COLOR, alpha=0.45)
                ax.hist(wr[:, s].ravel(), bins=bins[layer], density=True, histtype="step",
                        color=color, lw=1.4)
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
            if row == nrows - 1:
                ax.set_xlabel("weight value", fontsize=8)
        dropped = int(n - m.sum())
        label = f"{variant}\n(n={int(m.sum())}"
        label += f", {plural(dropped, 'NaN row')} dropped)" if dropped else ")"
        axes[row, 0].set_ylabel(label, fontsize=10, fontweight="bold")

        ax = axes[row, -1]
        handles = []
        for acc, lab, c, style in ((acc_o, "original w", ORIGINAL_COLOR, "stepfilled"),
                                   (acc_r[variant], "reconstructed ŵ", color, "step")):
            a = acc[np.isfinite(acc)] * 100
            n_nan = n - a.size
            text = f"{lab}: mean {a.mean():.1f}%" if a.size else f"{lab}: no finite values"
            if n_nan:
                text += f" ({n_nan} NaN dropped)"
            if a.size and acc_bins is not None:
                _, _, patches = ax.hist(a, bins=acc_bins * 100, density=True, histtype=style,
                                        color=c, alpha=0.45 if style == "stepfilled" else 1.0,
                                        lw=1.4, label=text)
                handles.append(patches[0])
            else:
                handles.append(plt.Rectangle((0, 0), 1, 1, color=c, label=text))
        if acc_bins is None:
            mark_no_data(ax)
        ax.set_title("test accuracy", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        if row == nrows - 1:
            ax.set_xlabel("accuracy (%)", fontsize=8)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                  frameon=False)
    head = title or "Weights before (w) and after reconstruction (ŵ)"
    fig.suptitle(f"{head}\nN={n} models; per-layer histograms over the central 99.8% of values",
                 fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_robustness_smoothness(noise: pd.DataFrame, smooth: pd.DataFrame, title: str,
                               path) -> None:
    """2022 Fig. 3, one row per autoencoder variant: (left) accuracy of decoded test models
    and reconstruction R² against relative noise on their embeddings; (right) accuracy along
    interpolations along a model's trajectory and between models (mean +- std)."""
    variants = list(dict.fromkeys(noise["variant"]))
    fig, axes = plt.subplots(len(variants), 2, figsize=(11.5, 4.2 * len(variants)),
                             squeeze=False, layout="constrained")
    for row, variant in zip(axes, variants):
        left, right = row
        n = noise[noise.variant == variant]
        x = n["relative_noise"].where(n["relative_noise"] > 0, np.nan)
        left.errorbar(x, 100 * n["acc_mean"], 100 * n["acc_std"], color="#ff7f0e", marker="o",
                      ms=3, capsize=2, label="accuracy of decoded models")
        left.axhline(100 * n["acc_original"].iloc[0], color="#ff7f0e", ls=":", lw=1,
                     label="original models")
        zero = n[n.relative_noise == 0]
        if len(zero):
            left.axhline(100 * zero["acc_mean"].iloc[0], color="#ff7f0e", ls="--", lw=1,
                         label="decoded, no noise")
        left.set_xscale("log")
        left.set_xlabel("relative noise on z")
        left.set_ylabel("test accuracy (%)", color="#ff7f0e")
        twin = left.twinx()
        twin.plot(x, n["r2"], color="#1f77b4", marker="s", ms=3, label="reconstruction R²")
        twin.set_ylabel("reconstruction R²", color="#1f77b4")
        left.legend(fontsize=7, frameon=False, loc="lower left")
        left.set_title(f"{variant}: robustness", fontsize=9)
        s = smooth[smooth.variant == variant]
        for scheme, color in (("trajectory", "#ff7f0e"), ("between", "#1f77b4")):
            d = s[s.scheme == scheme]
            if d.empty:
                continue
            right.plot(d["alpha"], 100 * d["acc_mean"], color=color, marker="o", ms=3,
                       label=f"{scheme} ({int(d['n_pairs'].iloc[0])} pairs)")
            right.fill_between(d["alpha"], 100 * (d["acc_mean"] - d["acc_std"]),
                               100 * (d["acc_mean"] + d["acc_std"]), color=color, alpha=0.15)
        right.set_xlabel("interpolation alpha")
        right.set_ylabel("test accuracy (%)")
        right.legend(fontsize=7, frameon=False)
        right.set_title(f"{variant}: smoothness", fontsize=9)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
