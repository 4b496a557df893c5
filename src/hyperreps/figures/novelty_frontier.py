"""The accuracy-novelty frontier figure (the 2025 audit's Fig. 6a, on two axes, and the reading
at equal accuracy): accuracy against max error-IoU and against L2 distance to the nearest
training checkpoint, the noise curves with their spread (and on the IoU panel the noise
models' IoU given accuracy, the regression every model is compared with), each population with
its spread, the zoo's own models as clouds; a third panel gives each population's ΔIoU at
equal accuracy with its CI and the share of the gap to independent models it closes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..generative.novelty_at_accuracy import fit_iou_given_accuracy
from ..generative.novelty_curves import BEHAVIOUR, INDEPENDENT_MODELS, TEST_MODELS, TRAINING_MODELS
from .style import chance_accuracy, population_color, save_figure

CURVE_STYLE = {"noise_raw": ("0.15", "-", "noise on checkpoints"),
               "noise_reconstructed": ("0.55", "--", "noise on reconstructions R(W)")}
CLOUD_STYLE = {TRAINING_MODELS: ("0.6", "training models (own checkpoints excluded)"),
               TEST_MODELS: ("tab:olive", "test models (never seen)")}
PANELS = (("max_error_iou", "max error-IoU with any training checkpoint (lower: more novel)",
           True),
          ("l2_checkpoint", "L2 distance to the nearest training checkpoint", False))


def plot_novelty_frontier(models: pd.DataFrame, points: pd.DataFrame, path, title: str,
                          n_classes: int | None = None, table: pd.DataFrame | None = None,
                          curve: str = "noise_raw") -> None:
    """``models``: one row per measured model (``population``, ``test_acc`` and the axes; the
    noise curves' members under their curve's name); ``points``:
    :func:`hyperreps.generative.novelty_curves.curve_points`; ``table``:
    :func:`hyperreps.generative.novelty_curves.frontier_table`, whose rows of ``curve`` give
    the third panel (none without it)."""
    fig, axes = plt.subplots(1, 3 if table is not None else 2, figsize=(19 if table is not None
                                                                          else 13, 5.2))
    members = models[models["population"] == curve]
    fit = fit_iou_given_accuracy(members["test_acc"], members[BEHAVIOUR]) \
        if not members.empty else None
    for ax, (axis, label, invert) in zip(axes, PANELS):
        if axis == BEHAVIOUR and fit is not None:
            grid = np.linspace(fit.low, fit.high, 200)
            ax.plot(fit(grid), grid, color="tab:red", lw=1, alpha=0.8,
                    label=f"{CURVE_STYLE[curve][2]}: IoU given accuracy (isotonic)")
        for name_of_curve, (color, style, name) in CURVE_STYLE.items():
            c = points[points["curve"] == name_of_curve].sort_values("sigma")
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
    if table is not None:
        _plot_gap(axes[2], table[table["curve"] == curve], CURVE_STYLE[curve][2])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_gap(ax, rows: pd.DataFrame, curve_name: str) -> None:
    """ΔIoU at equal accuracy per population with its CI, noise at 0 and the independent
    models' level; each bar labelled with the gap closed."""
    rows = rows[np.isfinite(rows["delta_iou"])]
    independent = rows[rows["population"] == INDEPENDENT_MODELS]
    rows = rows[rows["population"] != INDEPENDENT_MODELS].iloc[::-1]
    y = np.arange(len(rows))
    low = (rows["delta_iou"] - rows["ci_low_delta"]).clip(lower=0).fillna(0)
    high = (rows["ci_high_delta"] - rows["delta_iou"]).clip(lower=0).fillna(0)
    colors = [CLOUD_STYLE[p][0] if p in CLOUD_STYLE else population_color(p)
              for p in rows["population"]]
    ax.barh(y, rows["delta_iou"], xerr=[low, high], color=colors, alpha=0.8, capsize=2)
    for yi, (_, r) in zip(y, rows.iterrows()):
        if np.isfinite(r["gap_closed"]):
            end = np.nanmax([r["delta_iou"], r["ci_high_delta"], 0.0])
            ax.annotate(f"{100 * r['gap_closed']:.0f}%", (end, yi),
                        xytext=(4, -3), textcoords="offset points", fontsize=7)
    ax.axvline(0, color="0.15", lw=1, label="noise (0% of the gap)")
    if not independent.empty:
        ax.axvline(float(independent["delta_iou"].iloc[0]), color="tab:olive", ls="--", lw=1,
                   label="independent models (100%)")
    ax.set_yticks(y, rows["population"], fontsize=8)
    ax.set_xlabel(f"ΔIoU at equal accuracy vs {curve_name} (> 0: more novel than noise)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
