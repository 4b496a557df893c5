"""Figures of what the hyper-representations hold: the embeddings' geometry (2022 App. Figs.
11-13) and property probes in and out of distribution (2021 App. Figs. 7-10)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import (checked_2d, ALL_COLOR, TOP_COLOR, bin_count, mark_no_data, plural,
                    save_figure, shared_bins)

_MAX_PAIR_POINTS = 2000  # embeddings subsampled for the pairwise cosine distances
_PAIR_SEED = 0


def _cosine_distances(z: np.ndarray, top: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairwise cosine distances of all pairs and of pairs within ``top``, on at most
    ``_MAX_PAIR_POINTS`` rows (zero vectors left out); returns (all, top, rows used)."""
    norms = np.linalg.norm(z, axis=1)
    idx = np.flatnonzero(norms > 0)
    if idx.size > _MAX_PAIR_POINTS:
        idx = np.sort(rng.choice(idx, _MAX_PAIR_POINTS, replace=False))
    u = z[idx] / norms[idx, None]
    dist = 1.0 - np.clip(u @ u.T, -1.0, 1.0)
    iu = np.triu_indices(idx.size, k=1)
    both_top = top[idx][iu[0]] & top[idx][iu[1]]
    d = dist[iu]
    return d, d[both_top], idx.size


def plot_embedding_geometry(embeddings: dict[str, np.ndarray], top_mask: np.ndarray, path,
                            title: str = "", max_dims: int = 16) -> None:
    """Geometry of the embeddings of all models and of the top-30% by accuracy (2022 App.
    Figs. 11-13): per variant one row with (a) the distribution of embedding norms, (b) pairwise
    cosine distances (at most 2000 rows, fixed seed) and (c) per-dimension box plots of the first
    ``max_dims`` dimensions. Rows with a non-finite value are dropped (for that variant)."""
    if not isinstance(embeddings, dict) or not embeddings:
        raise ValueError("embeddings: expected a non-empty dict variant -> [N, Z] array")
    top = np.asarray(top_mask)
    if top.ndim != 1:
        raise ValueError(f"top_mask: expected a 1-d boolean array [N], got shape {top.shape}")
    if top.dtype != bool:
        if not (np.issubdtype(top.dtype, np.number) and np.isin(top, (0, 1)).all()):
            raise ValueError(f"top_mask: expected booleans, got dtype {top.dtype}")
        top = top.astype(bool)
    n = top.shape[0]
    emb = {k: checked_2d(f"embeddings[{k!r}]", v, n_rows=n) for k, v in embeddings.items()}
    for k, v in emb.items():
        if v.shape[1] == 0:
            raise ValueError(f"embeddings[{k!r}]: no embedding dimensions, shape {v.shape}")
    if isinstance(max_dims, bool) or not isinstance(max_dims, (int, np.integer)) or max_dims < 1:
        raise ValueError(f"max_dims: expected a positive integer, got {max_dims!r}")

    dims = {k: min(int(max_dims), v.shape[1]) for k, v in emb.items()}
    width_c = max(3.5, 0.45 * max(dims.values()) + 1)
    fig, axes = plt.subplots(len(emb), 3, figsize=(7 + width_c, 2.8 * len(emb) + 0.5),
                             squeeze=False, gridspec_kw={"width_ratios": [3, 3, width_c]})
    for row, (variant, z_all) in enumerate(emb.items()):
        keep = np.isfinite(z_all).all(axis=1)
        z, t = z_all[keep], top[keep]
        dropped = int(n - keep.sum())
        label = f"{variant}\n(n={z.shape[0]}, top {int(t.sum())}"
        label += f", {plural(dropped, 'NaN row')} dropped)" if dropped else ")"
        ax_n, ax_c, ax_b = axes[row]
        ax_n.set_ylabel(label, fontsize=10, fontweight="bold")

        # (a) norms
        norms = np.linalg.norm(z, axis=1)
        nb = shared_bins([norms], n_bins=bin_count(norms.size), central=None)
        if nb is None:
            mark_no_data(ax_n, "no finite rows")
        else:
            ax_n.hist(norms, bins=nb, density=True, color=ALL_COLOR, alpha=0.5,
                      label=f"all (n={norms.size})")
            if t.any():
                ax_n.hist(norms[t], bins=nb, density=True, histtype="step", color=TOP_COLOR,
                          lw=1.6, label=f"top-30% (n={int(t.sum())})")
            ax_n.legend(fontsize=7)
        ax_n.set_title("(a) embedding norm", fontsize=9)
        ax_n.set_xlabel("‖z‖₂", fontsize=8)

        # (b) pairwise cosine distances
        d_all, d_top, used = _cosine_distances(z, t, np.random.default_rng(_PAIR_SEED))
        if d_all.size == 0:
            mark_no_data(ax_c, "fewer than 2 rows")
        else:
            cb = shared_bins([d_all], n_bins=bin_count(d_all.size), central=None)
            ax_c.hist(d_all, bins=cb, density=True, color=ALL_COLOR, alpha=0.5,
                      label=f"all pairs ({d_all.size})")
            if d_top.size:
                ax_c.hist(d_top, bins=cb, density=True, histtype="step", color=TOP_COLOR,
                          lw=1.6, label=f"top-30% pairs ({d_top.size})")
            ax_c.legend(fontsize=7)
        sub = f", {used} of {z.shape[0]} rows" if used < z.shape[0] else ""
        ax_c.set_title(f"(b) pairwise cosine distance{sub}", fontsize=9)
        ax_c.set_xlabel("1 − cos(zᵢ, zⱼ)", fontsize=8)

        # (c) per-dimension distributions
        k = dims[variant]
        pos = np.arange(k)
        style = dict(widths=0.36, patch_artist=True, showfliers=False, manage_ticks=False,
                     medianprops={"color": "black", "lw": 1})
        handles = []
        if z.shape[0]:
            b = ax_b.boxplot([z[:, j] for j in range(k)], positions=pos - 0.2, **style)
            for patch in b["boxes"]:
                patch.set(facecolor=ALL_COLOR, alpha=0.6)
            handles.append(plt.Rectangle((0, 0), 1, 1, color=ALL_COLOR, alpha=0.6, label="all"))
        if t.any():
            b = ax_b.boxplot([z[t, j] for j in range(k)], positions=pos + 0.2, **style)
            for patch in b["boxes"]:
                patch.set(facecolor=TOP_COLOR, alpha=0.8)
            handles.append(plt.Rectangle((0, 0), 1, 1, color=TOP_COLOR, alpha=0.8,
                                         label="top-30%"))
        if not handles:
            mark_no_data(ax_b, "no finite rows")
        else:
            ax_b.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                        frameon=False)
        ax_b.set_xticks(pos, [str(j) for j in pos], fontsize=7)
        ax_b.set_xlim(-0.7, k - 0.3)
        ax_b.set_xlabel("embedding dimension", fontsize=8)
        ax_b.set_ylabel("value", fontsize=8)
        shown = f"first {k} of {z_all.shape[1]}" if k < z_all.shape[1] else f"all {k}"
        ax_b.set_title(f"(c) per-dimension distribution ({shown} dims; outliers hidden)",
                       fontsize=9)
        for ax in (ax_n, ax_c, ax_b):
            ax.tick_params(labelsize=7)
        for ax in (ax_n, ax_c):
            ax.set_yticks([])
    head = title or "Embedding geometry: all models vs top-30% by accuracy"
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_probe_transfer(predictions: dict, table: pd.DataFrame, source: str, path) -> None:
    """2021 App. Figs. 7-10: probes fitted on ``source``, true vs predicted property on its own
    test split (in-distribution) and on other zoos (out-of-distribution); one row per
    property, one column per evaluation set, one colour per feature set (R² and τ in the
    legend)."""
    props = list(dict.fromkeys(k[0] for k in predictions))
    sets = list(dict.fromkeys(k[1] for k in predictions))
    wheres = list(dict.fromkeys(k[2] for k in predictions))
    fig, axes = plt.subplots(len(props), len(wheres), figsize=(3.6 * len(wheres),
                             3.2 * len(props)), squeeze=False, layout="constrained")
    colors = dict(zip(sets, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    stats = table.set_index(["property", "feature_set", "evaluated_on"])
    for i, prop in enumerate(props):
        for j, where in enumerate(wheres):
            ax = axes[i][j]
            lo, hi = np.inf, -np.inf
            for fs in sets:
                if (prop, fs, where) not in predictions:
                    continue
                y, pred = predictions[prop, fs, where]
                s = stats.loc[(prop, fs, where)]
                ax.scatter(y, pred, s=5, alpha=0.4, color=colors[fs],
                           label=f"{fs}: R² {s.r2:.2f}, τ {s.kendall_tau:.2f}")
                if len(y):
                    lo, hi = min(lo, np.min(y)), max(hi, np.max(y))
            if np.isfinite(lo):
                ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
            title = ("in-distribution (test split)" if where == "test"
                     else f"out-of-distribution: {where}")
            ax.set_title(f"{prop}, {title}", fontsize=8)
            ax.set_xlabel(f"true {prop}", fontsize=8)
            ax.set_ylabel(f"predicted {prop}", fontsize=8)
            ax.legend(fontsize=6, frameon=False)
    fig.suptitle(f"Probes fitted on zoo {source}: in- and out-of-distribution (2021 App. D.3)",
                 fontsize=10)
    save_figure(fig, path)
