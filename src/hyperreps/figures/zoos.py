"""Figures of the zoo stage: test accuracy per epoch (2021 App. Fig. 3, row one), the
zoo-structure diagnostics, permutation equivalence (2021 App. Fig. 1) and the zoo's properties
(2021 App. Fig. 3, rows 2-5)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..architecture import architecture_of
from ..zoo import Zoo
from .style import draw_chance, mark_no_data, save_figure


def plot_zoo_accuracy(zoo: Zoo, path, name: str | None = None) -> None:
    """Test accuracy per epoch as box plots (2021 App. Fig. 3, row one), diverged models
    counted in the title."""
    acc = zoo.metric("test_acc") * 100
    n_div = int(zoo.models()["diverged"].astype(bool).sum())
    epochs = np.arange(acc.shape[1])  # one box per checkpoint, labelled with its epoch number
    labels = zoo.epochs
    data = [a[np.isfinite(a)] for a in acc.T]
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(epochs) + 2), 4))
    ax.boxplot(data, positions=epochs, widths=0.6, showfliers=True, flierprops={"markersize": 2})
    ax.plot(epochs, [np.median(d) if len(d) else np.nan for d in data], color="tab:red", lw=1,
            label="median")
    draw_chance(ax, architecture_of(zoo.layout).n_classes)
    ax.set_xlabel("epoch (0 = initialisation)")
    ax.set_ylabel("test accuracy (%)")
    step = max(1, len(epochs) // 15)
    ax.set_xticks(epochs[::step], [str(e) for e in labels[::step]])
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    label = f"zoo {name} ({zoo.dataset})" if name else zoo.dataset
    ax.set_title(f"{label}: {zoo.n_models} models, {n_div} diverged")
    save_figure(fig, path)


def plot_zoo_diagnostics(by_width, by_models, per_model, summary: dict, path,
                         name: str | None = None) -> None:
    """The zoo-structure diagnostics (:mod:`hyperreps.zoos.diagnostics`) in three panels: the
    held-out PCA ceiling against code width, against the number of training models, and the
    per-model init-deviation correlation against test accuracy."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    ax = axes[0]
    for split, style in (("train", ":"), ("val", "--"), ("test", "-")):
        col = f"r2_{split}"
        if col in by_width:
            ax.plot(by_width["k"], by_width[col], style, marker="o", ms=3, label=split)
    ax.plot(by_width["k"], by_width["random_subspace"], color="0.6", ls=":",
            label="random k-dim subspace (k / P)")
    ax.axvline(summary["code_width"], color="tab:red", lw=1,
               label=f"autoencoder code width {summary['code_width']}")
    ax.set_xscale("log", base=2)
    ax.set_ylim(min(0.0, float(np.nanmin(by_width.filter(like="r2_").to_numpy()))), 1.02)
    ax.set_xlabel("code width k (PCA components)")
    ax.set_ylabel("R² of the rank-k projection")
    ax.set_title("PCA ceiling vs code width")
    ax.legend(fontsize=8)
    ax = axes[1]
    if len(by_models):
        for full, label in ((False, f"k = {summary['code_width']}"), (True, "full rank")):
            part = by_models[by_models["full_rank"] == full]
            ax.plot(part["n_train_models"], part["r2_test"], marker="o", ms=3, label=label)
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=8)
    else:
        mark_no_data(ax, "no held-out models")
    ax.set_xlabel("training models (random subsets of the training split)")
    ax.set_ylabel(f"held-out ({summary['pca_ceiling_split']}) R²")
    ax.set_title("PCA ceiling vs number of training models")
    ax = axes[2]
    ax.scatter(per_model["init_correlation"], per_model["test_acc"] * 100, s=8)
    ax.axvline(summary["init_correlation_median"], color="tab:red", lw=1,
               label=f"median {summary['init_correlation_median']:.2f}")
    ax.set_xlim(-0.05, 1.0)
    ax.set_xlabel("init-deviation correlation\n(deviation from the zoo mean: init vs last epoch)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("how much of each model is its init")
    ax.legend(fontsize=8)
    label = f"zoo {name}" if name else "zoo"
    fig.suptitle(f"{label}: {summary['n_models']} models, window {summary['window'][0]}-"
                 f"{summary['window'][1]}, PCA ceiling at the code width "
                 f"{summary['pca_ceiling_at_code_width']:.3f}")
    save_figure(fig, path)


def plot_permutation_equivalence(table: pd.DataFrame, title: str, path) -> None:
    """2021 App. Fig. 1: test accuracy of A, of its permuted copy Ap and of B (trained from
    Ap's start) per epoch (left), and how far B drifts from the permuted A (right, log
    scale: float rounding, amplified where training is chaotic)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    e = table["epoch"]
    left.plot(e, 100 * table["test_acc_A"], color="#1f77b4", lw=3, alpha=0.5, label="A")
    left.plot(e, 100 * table["test_acc_Ap"], color="#ff7f0e", ls="--", marker="o", ms=3,
              label="Ap = P(A) (forward)")
    left.plot(e, 100 * table["test_acc_B"], color="#2ca02c", ls=":", marker="s", ms=3,
              label="B, trained from Ap at 0 (backward)")
    left.set_xlabel("epoch")
    left.set_ylabel("test accuracy (%)")
    left.legend(fontsize=8, frameon=False)
    drift = table["rel_diff"].where(table["rel_diff"] > 0)
    right.semilogy(e, drift, color="#2ca02c", marker="s", ms=3, label="max |B - P(A)| / max |A|")
    right.axhline(np.finfo(np.float32).eps, color="grey", ls=":", lw=1, label="float32 eps")
    right.set_xlabel("epoch")
    right.set_ylabel("relative weight difference")
    right.legend(fontsize=8, frameon=False)
    fig.suptitle(f"permutation equivalence, {title}", fontsize=10)
    save_figure(fig, path)


def plot_zoo_properties(props: pd.DataFrame, title: str, path) -> None:
    """2021 App. Fig. 3 rows 2-5 for one zoo: accuracy over the mean of the weights (coloured
    by epoch), and a 2-D UMAP of the weights coloured by activation, initialisation and
    epoch."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), layout="constrained")
    sc = axes[0].scatter(props["mean_weight"], 100 * props["test_acc"], c=props["epoch"], s=4,
                         cmap="viridis", alpha=0.6)
    axes[0].set_xlabel("mean of the weights")
    axes[0].set_ylabel("test accuracy (%)")
    fig.colorbar(sc, ax=axes[0], label="epoch")
    for ax, col in zip(axes[1:3], ("activation", "init")):
        values = props[col].astype(str) if col in props else pd.Series(["n/a"] * len(props))
        for v in sorted(values.unique()):
            m = (values == v).to_numpy()
            ax.scatter(props["umap_1"][m], props["umap_2"][m], s=4, alpha=0.6, label=v)
        ax.legend(fontsize=7, markerscale=3, frameon=False, title=col, title_fontsize=8)
    sc = axes[3].scatter(props["umap_1"], props["umap_2"], c=props["epoch"], s=4, cmap="viridis",
                         alpha=0.6)
    fig.colorbar(sc, ax=axes[3], label="epoch")
    for ax, what in zip(axes[1:], ("activation", "initialisation", "epoch")):
        ax.set_xlabel("UMAP 1")
        ax.set_ylabel("UMAP 2")
        ax.set_title(f"UMAP of the weights by {what}", fontsize=9)
    axes[0].set_title("accuracy vs mean weight", fontsize=9)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
