"""Figures of the generative stage (2022 §4.2): the populations' test accuracy at one epoch
(Fig. 4) and over epochs (Figs. 7, 14-21), ensembles (Fig. 5), the latent GAN's losses (App.
E.2), fine-tuning of reconstructed models (Fig. 6) and models generated for unseen
architectures (Table 4, drawn)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..generative.populations import SCRATCH
from ..generative.tables import ENS_COLUMNS, check_columns, order_populations
from .style import draw_chance, population_color, save_figure

_JITTER_SEED = 0


def _pair_rows(acc: pd.DataFrame, source: str, target: str) -> pd.DataFrame:
    """The rows of one (source, target) pair, ``test_acc`` in % with non-finite values NaN."""
    check_columns(acc, ("source", "target", "population", "model", "epoch", "test_acc"))
    rows = acc[(acc["source"] == source) & (acc["target"] == target)].copy()
    if rows.empty:
        pairs = sorted(set(zip(acc["source"], acc["target"])))
        raise ValueError(f"acc: no rows for source {source!r} -> target {target!r}; "
                         f"pairs: {pairs}")
    pct = rows["test_acc"].astype(float) * 100
    rows["test_acc"] = pct.where(np.isfinite(pct))
    return rows


def _pair_label(source: str, target: str) -> str:
    return f"{source} (in-dataset)" if source == target else f"{source} → {target}"


def _no_data_at(ax, x: float) -> None:
    ax.text(x, 50, "no finite\nvalues", ha="center", va="center", fontsize=7, color="0.4")


def plot_sampler_comparison(acc: pd.DataFrame, source: str, target: str, epoch: int,
                            path, n_classes: int, scratch_epoch: int | None = None) -> None:
    """Test accuracy of each population at one epoch (2022 Fig. 4 at epoch 0: the samples as
    decoded, against B_T trained from scratch for 25 epochs): a box plot per population, in the
    order of :func:`~hyperreps.generative.tables.order_populations`, with every model as a
    jittered point; the models without a finite accuracy are counted under their population.
    B_T is read at ``scratch_epoch`` (default: ``epoch``); the chance line is that of the target
    dataset's ``n_classes``."""
    scratch_epoch = epoch if scratch_epoch is None else scratch_epoch
    rows = _pair_rows(acc, source, target)
    is_bt = rows["population"] == SCRATCH
    at = rows[(~is_bt & (rows["epoch"] == epoch)) | (is_bt & (rows["epoch"] == scratch_epoch))]
    if at.empty:
        raise ValueError(f"acc: no rows at epoch {epoch} for {_pair_label(source, target)}; "
                         f"epochs {sorted(set(rows['epoch']))}")
    names = order_populations(at["population"])
    rng = np.random.default_rng(_JITTER_SEED)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(names) + 2), 4.6))
    ticks = []
    for i, name in enumerate(names):
        values = at.loc[at["population"] == name, "test_acc"].to_numpy()
        finite = values[np.isfinite(values)]
        color = population_color(name)
        if finite.size:
            box = ax.boxplot([finite], positions=[i], widths=0.6, patch_artist=True,
                             showfliers=False, manage_ticks=False,
                             medianprops={"color": "black", "lw": 1.2})
            box["boxes"][0].set(facecolor=color, alpha=0.3, edgecolor=color)
            ax.scatter(i + rng.uniform(-0.2, 0.2, finite.size), finite, s=12, color=color,
                       alpha=0.8, edgecolors="none", zorder=3)
        else:
            _no_data_at(ax, i)
        n_bad = values.size - finite.size
        ticks.append(f"{name}\nn={values.size}" + (f", {n_bad} NaN" if n_bad else ""))
    chance = draw_chance(ax, n_classes)
    ax.set_xticks(range(len(names)), ticks, fontsize=8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_xlabel("population")
    ax.set_ylabel("test accuracy (%)")
    handles = [Patch(facecolor="0.85", edgecolor="0.4", label="quartiles, whiskers 1.5 IQR"),
               Line2D([], [], color="black", lw=1.2, label="median"),
               Line2D([], [], color="0.4", marker="o", ls="", ms=4, label="one model (jittered)"),
               chance]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)
    state = "as sampled, no fine-tuning" if epoch == 0 else f"after {epoch} epochs"
    title = f"{_pair_label(source, target)}: test accuracy at epoch {epoch} ({state})"
    if SCRATCH in names:
        trained = (f"trained from scratch on {target} for {scratch_epoch} epochs"
                   if scratch_epoch else "at initialisation, before training on " + target)
        title += f"\n{SCRATCH}: {trained}"
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)


def plot_accuracy_over_epochs(acc: pd.DataFrame, source: str, target: str, path,
                              n_classes: int, populations=None, offset: int = 0) -> None:
    """Test accuracy over epochs per population (2022 Figs. 7, 14-21): the median as a line and
    the 25-75% quantiles as a band, non-finite accuracies left out; B_T over all its epochs.
    ``populations`` (default: every population of the pair) picks the populations shown.
    ``offset`` puts a fine-tuned population's epoch e at e + offset on B_T's axis (in-dataset:
    the last epoch the hyper-representation was trained on, 25 in the paper, so samples start
    beside B_T at 25). The chance line is that of the target dataset's ``n_classes``."""
    rows = _pair_rows(acc, source, target)
    present = order_populations(rows["population"])
    if populations is None:
        names = present
    else:
        missing = [p for p in populations if p not in present]
        if missing:
            raise ValueError(f"populations: {missing} not in acc for "
                             f"{_pair_label(source, target)}; present: {present}")
        names = order_populations(populations)
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    for name in names:
        pop = rows[rows["population"] == name]
        q = pop.groupby("epoch")["test_acc"].quantile([0.25, 0.5, 0.75]).unstack()
        epochs = q.index.to_numpy() + (0 if name == SCRATCH else offset)
        color = population_color(name)
        ax.plot(epochs, q[0.5], color=color, lw=2.2 if name == SCRATCH else 1.5, marker="o",
                ms=2.5, zorder=1.9 if name == SCRATCH else 2.1,
                label=f"{name} (n={pop['model'].nunique()})")
        ax.fill_between(epochs, q[0.25], q[0.75], color=color, alpha=0.15, lw=0)
    draw_chance(ax, n_classes)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, 100)
    if offset:
        ax.axvline(offset, color="0.6", lw=0.8, ls="--")
        ax.set_xlabel(f"epochs of training (B_T from scratch; the other populations start at "
                      f"{offset} as sampled, the last epoch the hyper-representation saw)")
    else:
        ax.set_xlabel("epoch (0 = as sampled; B_T: initialisation)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="median, band 25-75%", title_fontsize=8)
    ax.set_title(f"{_pair_label(source, target)}: test accuracy during fine-tuning",
                 fontsize=10)
    save_figure(fig, path)


def plot_gan_losses(losses: pd.DataFrame, name: str, path) -> None:
    """The latent GAN's training per epoch (2022 App. E.2): discriminator and generator loss
    (left) and the mean probability the discriminator gives real and generated codes (right;
    0.5 for both at the equilibrium)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(losses["epoch"], losses["d_loss"], label="discriminator", color="#1f77b4")
    left.plot(losses["epoch"], losses["g_loss"], label="generator", color="#d62728")
    left.axhline(2 * np.log(2), color="grey", ls=":", lw=1, label="D at equilibrium (2 ln 2)")
    left.set_xlabel("epoch")
    left.set_ylabel("loss (BCE)")
    left.legend(fontsize=8, frameon=False)
    right.plot(losses["epoch"], losses["d_real"], label="D(real codes)", color="#2ca02c")
    right.plot(losses["epoch"], losses["d_fake"], label="D(generated codes)", color="#ff7f0e")
    right.axhline(0.5, color="grey", ls=":", lw=1)
    right.set_ylim(0, 1)
    right.set_xlabel("epoch")
    right.set_ylabel("mean discriminator output")
    right.legend(fontsize=8, frameon=False)
    fig.suptitle(f"latent GAN of {name}: training per epoch", fontsize=10)
    save_figure(fig, path)


def plot_ensembles(ens: pd.DataFrame, source: str, path, n_classes: int) -> None:
    """Ensemble test accuracy against ensemble size per population (2022 Fig. 5): the mean
    over random draws of members as a line, ± one std as a band; one panel per epoch where
    ``ens`` has an ``epoch`` column. The chance line is that of the dataset's ``n_classes``."""
    check_columns(ens, ENS_COLUMNS, "ens")
    rows = ens[ens["source"] == source]
    if rows.empty:
        raise ValueError(f"ens: no rows for source {source!r}; sources "
                         f"{sorted(set(ens['source']))}")
    key = [c for c in ("population", "epoch", "size") if c in rows.columns]
    if rows.duplicated(key).any():
        raise ValueError(f"ens: duplicated rows per ({', '.join(key)}) for source {source!r}")
    panels = sorted(set(rows["epoch"])) if "epoch" in rows.columns else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.6, 4.4),
                             squeeze=False, sharey=True)
    for ax, epoch in zip(axes[0], panels):
        sub = rows if epoch is None else rows[rows["epoch"] == epoch]
        for name in order_populations(sub["population"]):
            pop = sub[sub["population"] == name].sort_values("size")
            size = pop["size"].to_numpy()
            mean = pop["accuracy_mean"].to_numpy(dtype=float) * 100
            std = pop["accuracy_std"].to_numpy(dtype=float) * 100
            color = population_color(name)
            ax.plot(size, mean, color=color, marker="o", ms=3,
                    lw=2.2 if name == SCRATCH else 1.5, zorder=1.9 if name == SCRATCH else 2.1,
                    label=name)
            ax.fill_between(size, mean - std, mean + std, color=color, alpha=0.15, lw=0)
        draw_chance(ax, n_classes)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("ensemble size (models)")
        if epoch is not None:
            state = "no fine-tuning" if epoch == 0 else "fine-tuned; B_T trained from scratch"
            ax.set_title(f"epoch {epoch} ({state})", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    axes[0, 0].set_ylabel("ensemble test accuracy (%)")
    axes[0, 0].set_ylim(0, 100)
    fig.suptitle(f"Ensembles on {source}: mean ± std over random draws of members",
                 fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def _median_band(ax, frame: pd.DataFrame, x: str, y: str, color: str, label: str) -> None:
    """Median line with the 25-75% band of column ``y`` (fractions, drawn in %) per ``x``."""
    q = frame.groupby(x)[y].quantile([0.25, 0.5, 0.75]).unstack()
    ax.plot(q.index, 100 * q[0.5], color=color, marker="o", ms=3, label=label)
    ax.fill_between(q.index, 100 * q[0.25], 100 * q[0.75], color=color, alpha=0.2)


def plot_reconstructed_finetuning(acc: pd.DataFrame, dist: pd.DataFrame, title: str,
                                  path) -> None:
    """2022 Fig. 6: test accuracy of original (w) and reconstructed (w_hat) test models over
    fine-tuning epochs, median and 25-75% band (left), and the distance between each pair's
    weights (right, median and band; cosine similarity of the pair on the twin axis)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for pop, color, label in (("w", "#1f77b4", "w (original)"),
                              ("w_hat", "#ff7f0e", "ŵ (reconstructed)")):
        _median_band(left, acc[acc.population == pop], "epoch", "test_acc", color, label)
    left.set_xlabel("fine-tuning epoch")
    left.set_ylabel("test accuracy (%)")
    left.legend(fontsize=8, frameon=False)
    q = dist.groupby("epoch")["distance"].quantile([0.25, 0.5, 0.75]).unstack()
    right.plot(q.index, q[0.5], color="#2ca02c", marker="o", ms=3, label="||w - ŵ||")
    right.fill_between(q.index, q[0.25], q[0.75], color="#2ca02c", alpha=0.2)
    right.set_xlabel("fine-tuning epoch")
    right.set_ylabel("Euclidean distance of the pair", color="#2ca02c")
    twin = right.twinx()
    twin.plot(q.index, dist.groupby("epoch")["cosine"].median(), color="#9467bd", ls="--",
              label="cos(w, ŵ)")
    twin.set_ylabel("cosine similarity (median)", color="#9467bd")
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def plot_unseen_architectures(acc: pd.DataFrame, path) -> None:
    """2022 Table 4 drawn: per (source -> target, architecture), test accuracy of the generated
    (gen.) and randomly initialised (r.i.) populations over training epochs (median and
    25-75% band)."""
    groups = list(acc.groupby(["source", "target", "architecture"], sort=False))
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.4), squeeze=False,
                             layout="constrained", sharey=True)
    for ax, ((source, target, arch), block) in zip(axes[0], groups):
        for pop, color in (("r.i.", "#7f7f7f"), ("gen.", "#d62728")):
            _median_band(ax, block[block.population == pop], "epoch", "test_acc", color,
                         f"{arch} ({pop})")
        ax.set_title(f"{arch}: {source} -> {target}", fontsize=9)
        ax.set_xlabel("training epoch")
        ax.legend(fontsize=7, frameon=False)
    axes[0][0].set_ylabel("test accuracy (%)")
    fig.suptitle("Unseen architectures (2022 Table 4): generated vs random initialisation",
                 fontsize=10)
    save_figure(fig, path)
