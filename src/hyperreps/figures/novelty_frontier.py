"""The accuracy-novelty frontier figure (the 2025 audit's Fig. 6a, on two axes): accuracy
against max error-IoU and against L2 distance to the nearest training checkpoint, the noise
curves with their spread, each population with its spread, the zoo's own models as clouds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..generative.novelty_curves import TEST_MODELS, TRAINING_MODELS
from .style import chance_accuracy, population_color, save_figure

CURVE_STYLE = {"noise_raw": ("0.15", "-", "noise on checkpoints"),
               "noise_reconstructed": ("0.55", "--", "noise on reconstructions R(W)")}
CLOUD_STYLE = {TRAINING_MODELS: ("0.6", "training models (own checkpoints excluded)"),
               TEST_MODELS: ("tab:olive", "test models (never seen)")}
PANELS = (("max_error_iou", "max error-IoU with any training checkpoint (lower: more novel)",
           True),
          ("l2_checkpoint", "L2 distance to the nearest training checkpoint", False))


def plot_novelty_frontier(models: pd.DataFrame, points: pd.DataFrame, path, title: str,
                          n_classes: int | None = None) -> None:
    """``models``: one row per measured model (``population``, ``test_acc`` and the axes);
    ``points``: :func:`hyperreps.generative.novelty_curves.curve_points`."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax, (axis, label, invert) in zip(axes, PANELS):
        for curve, (color, style, name) in CURVE_STYLE.items():
            c = points[points["curve"] == curve].sort_values("sigma")
            if c.empty:
                continue
            ax.plot(c[axis], c["test_acc"], style, color=color, marker=".", label=name)
            ax.fill_between(c[axis], c["test_acc"] - c["test_acc_std"],
                            c["test_acc"] + c["test_acc_std"], color=color, alpha=0.12, lw=0)
            for _, row in c.iloc[[0, -1]].iterrows():
                ax.annotate(f"σ {row['sigma']:g}", (row[axis], row["test_acc"]), fontsize=7,
                            color=color, xytext=(3, 3), textcoords="offset points")
        for cloud, (color, name) in CLOUD_STYLE.items():
            c = models[models["population"] == cloud]
            ax.scatter(c[axis], c["test_acc"], s=8, color=color, alpha=0.6, label=name, lw=0)
        for pop, g in models[~models["population"].isin([*CLOUD_STYLE, *CURVE_STYLE])] \
                .groupby("population", sort=False):
            x, y = g[axis].to_numpy(), g["test_acc"].to_numpy()
            if not np.isfinite(x).any():
                continue
            ax.errorbar(np.nanmean(x), np.nanmean(y), xerr=np.nanstd(x), yerr=np.nanstd(y),
                        fmt="o", ms=5, color=population_color(pop), capsize=2, label=pop)
        if n_classes:
            ax.axhline(chance_accuracy(n_classes) / 100, color="grey", ls=":", lw=1,
                       label="chance")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy at epoch 0")
        if invert:
            ax.invert_xaxis()
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
