"""Figures of the zoo stage."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .architecture import architecture_of  # noqa: E402
from .publish import atomic_path  # noqa: E402
from .zoo import Zoo  # noqa: E402


def _save(fig, path):
    """Write to a temporary name, then rename; a failed save leaves no partial file."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)


def plot_zoo_accuracy(zoo: Zoo, path, name: str | None = None) -> None:
    """Test accuracy per epoch as box plots (2021 App. Fig. 3, row one), diverged models
    counted in the title."""
    acc = zoo.metric("test_acc") * 100
    chance = 100 / architecture_of(zoo.layout).n_classes
    n_div = int(zoo.models()["diverged"].astype(bool).sum())
    epochs = np.arange(acc.shape[1])
    data = [a[np.isfinite(a)] for a in acc.T]
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(epochs) + 2), 4))
    ax.boxplot(data, positions=epochs, widths=0.6, showfliers=True, flierprops={"markersize": 2})
    ax.plot(epochs, [np.median(d) if len(d) else np.nan for d in data], color="tab:red", lw=1,
            label="median")
    ax.axhline(chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0f}%)")
    ax.set_xlabel("epoch (0 = initialisation)")
    ax.set_ylabel("test accuracy (%)")
    step = max(1, len(epochs) // 15)
    ax.set_xticks(epochs[::step], [str(e) for e in epochs[::step]])
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    label = f"zoo {name} ({zoo.dataset})" if name else zoo.dataset
    ax.set_title(f"{label}: {zoo.n_models} models, {n_div} diverged")
    _save(fig, path)


def plot_zoo_diagnostics(by_width, by_models, per_model, summary: dict, path,
                         name: str | None = None) -> None:
    """The zoo-structure diagnostics (:mod:`hyperreps.diagnostics`) in three panels: the
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
        _no_data(ax, "no held-out models")
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
    _save(fig, path)


# --- autoencoder stage ------------------------------------------------------------------------

_ORIGINAL_COLOR = "0.45"  # grey: the models as trained
_ALL_COLOR = "tab:blue"  # all models (embedding figure)
_TOP_COLOR = "tab:red"  # the top-30% of models by accuracy
_MAX_PAIR_POINTS = 2000  # embeddings subsampled for the pairwise cosine distances
_PAIR_SEED = 0


def _variant_colors(names) -> dict[str, str]:
    palette = [c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]
               if c not in ("#7f7f7f",)]  # skip tab:grey, reserved for the original weights
    return {n: palette[i % len(palette)] for i, n in enumerate(names)}


def _as_2d(name: str, x, n_rows: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array [N, ...], got shape {x.shape}")
    if n_rows is not None and x.shape[0] != n_rows:
        raise ValueError(f"{name}: expected {n_rows} rows, got shape {x.shape}")
    return x


def _as_1d(name: str, x, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), got {x.shape}")
    return x


def _shared_bins(arrays, n_bins: int = 50, central: float | None = 99.8) -> np.ndarray | None:
    """Common histogram bins for ``arrays`` (finite values only): the union of each array's
    central ``central`` percent (the full range when None); None when nothing is finite."""
    lows, highs = [], []
    for a in arrays:
        a = np.asarray(a, dtype=float).ravel()
        a = a[np.isfinite(a)]
        if a.size == 0:
            continue
        if central is None:
            lo, hi = a.min(), a.max()
        else:
            q = (100 - central) / 2
            lo, hi = np.percentile(a, [q, 100 - q])
        lows.append(lo)
        highs.append(hi)
    if not lows:
        return None
    lo, hi = float(min(lows)), float(max(highs))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n_bins + 1)


def _n_bins(n: int, lo: int = 10, hi: int = 40) -> int:
    """A histogram bin count for ``n`` values."""
    return int(np.clip(2 * np.sqrt(max(n, 1)), lo, hi))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _r2(rec: np.ndarray, orig: np.ndarray) -> float:
    """1 - mse(rec, orig) / mse(mean(orig), orig), the mean taken over models per parameter."""
    if orig.shape[0] == 0:
        return float("nan")
    denom = np.mean((orig - orig.mean(axis=0, keepdims=True)) ** 2)
    if denom <= 0:
        return float("nan")
    return float(1.0 - np.mean((rec - orig) ** 2) / denom)


def _no_data(ax, text: str = "no finite values") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=8,
            color="0.4")


def plot_layer_reconstruction(original: np.ndarray, reconstructed: dict[str, np.ndarray],
                              layer_slices: dict[str, slice], acc_original: np.ndarray,
                              acc_reconstructed: dict[str, np.ndarray], path,
                              title: str = "") -> None:
    """Weight distribution per layer before (w) and after reconstruction (ŵ), and the accuracy
    distribution of the original and reconstructed models (2022 App. C Fig. 9/10).

    One row per variant of ``reconstructed``; one panel per layer of ``layer_slices`` with the
    layer's R² in its title, and a last panel with the accuracies. Rows of ``original`` or of a
    reconstruction with a non-finite value are dropped (for that variant); non-finite accuracies
    are dropped and counted in the legend."""
    original = _as_2d("original", original)
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
    acc_o = _as_1d("acc_original", acc_original, n)
    if not isinstance(acc_reconstructed, dict):
        raise ValueError("acc_reconstructed: expected a dict variant -> [N] array")
    missing = [k for k in rec if k not in acc_reconstructed]
    if missing:
        raise ValueError(f"acc_reconstructed: no accuracies for variant(s) {missing}")
    acc_r = {k: _as_1d(f"acc_reconstructed[{k!r}]", acc_reconstructed[k], n) for k in rec}

    finite_o = np.isfinite(original).all(axis=1)
    keep = {k: finite_o & np.isfinite(v).all(axis=1) for k, v in rec.items()}
    layers = list(layer_slices)
    bins = {}
    for layer, s in layer_slices.items():
        bins[layer] = _shared_bins([original[finite_o][:, s]]
                                   + [rec[k][keep[k]][:, s] for k in rec])
    acc_bins = _shared_bins([acc_o] + list(acc_r.values()), n_bins=_n_bins(n), central=None)
    colors = _variant_colors(rec)

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
            r2 = _r2(wr[:, s], w[:, s])
            r2_text = "n/a" if np.isnan(r2) else f"{r2:.3f}"
            ax.set_title(f"{layer}   R²={r2_text}", fontsize=9)
            if m.sum() == 0 or bins[layer] is None:
                _no_data(ax, "no finite rows")
            else:
                ax.hist(w[:, s].ravel(), bins=bins[layer], density=True, histtype="stepfilled",
                        color=_ORIGINAL_COLOR, alpha=0.45)
                ax.hist(wr[:, s].ravel(), bins=bins[layer], density=True, histtype="step",
                        color=color, lw=1.4)
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
            if row == nrows - 1:
                ax.set_xlabel("weight value", fontsize=8)
        dropped = int(n - m.sum())
        label = f"{variant}\n(n={int(m.sum())}"
        label += f", {_plural(dropped, 'NaN row')} dropped)" if dropped else ")"
        axes[row, 0].set_ylabel(label, fontsize=10, fontweight="bold")

        ax = axes[row, -1]
        handles = []
        for acc, lab, c, style in ((acc_o, "original w", _ORIGINAL_COLOR, "stepfilled"),
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
            _no_data(ax)
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
    _save(fig, path)


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
    emb = {k: _as_2d(f"embeddings[{k!r}]", v, n_rows=n) for k, v in embeddings.items()}
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
        label += f", {_plural(dropped, 'NaN row')} dropped)" if dropped else ")"
        ax_n, ax_c, ax_b = axes[row]
        ax_n.set_ylabel(label, fontsize=10, fontweight="bold")

        # (a) norms
        norms = np.linalg.norm(z, axis=1)
        nb = _shared_bins([norms], n_bins=_n_bins(norms.size), central=None)
        if nb is None:
            _no_data(ax_n, "no finite rows")
        else:
            ax_n.hist(norms, bins=nb, density=True, color=_ALL_COLOR, alpha=0.5,
                      label=f"all (n={norms.size})")
            if t.any():
                ax_n.hist(norms[t], bins=nb, density=True, histtype="step", color=_TOP_COLOR,
                          lw=1.6, label=f"top-30% (n={int(t.sum())})")
            ax_n.legend(fontsize=7)
        ax_n.set_title("(a) embedding norm", fontsize=9)
        ax_n.set_xlabel("‖z‖₂", fontsize=8)

        # (b) pairwise cosine distances
        d_all, d_top, used = _cosine_distances(z, t, np.random.default_rng(_PAIR_SEED))
        if d_all.size == 0:
            _no_data(ax_c, "fewer than 2 rows")
        else:
            cb = _shared_bins([d_all], n_bins=_n_bins(d_all.size), central=None)
            ax_c.hist(d_all, bins=cb, density=True, color=_ALL_COLOR, alpha=0.5,
                      label=f"all pairs ({d_all.size})")
            if d_top.size:
                ax_c.hist(d_top, bins=cb, density=True, histtype="step", color=_TOP_COLOR,
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
                patch.set(facecolor=_ALL_COLOR, alpha=0.6)
            handles.append(plt.Rectangle((0, 0), 1, 1, color=_ALL_COLOR, alpha=0.6, label="all"))
        if t.any():
            b = ax_b.boxplot([z[t, j] for j in range(k)], positions=pos + 0.2, **style)
            for patch in b["boxes"]:
                patch.set(facecolor=_TOP_COLOR, alpha=0.8)
            handles.append(plt.Rectangle((0, 0), 1, 1, color=_TOP_COLOR, alpha=0.8,
                                         label="top-30%"))
        if not handles:
            _no_data(ax_b, "no finite rows")
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
    _save(fig, path)


# --- generative stage: sampled and fine-tuned populations (2022 §4.2) ----------------------------

import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .reports import (ENS_COLUMNS, SCRATCH, check_columns, order_populations,  # noqa: E402
                      population_color)

_CHANCE = 10.0  # accuracy (%) of guessing among the 10 classes of every dataset of the paper
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
                            path, scratch_epoch: int | None = None) -> None:
    """Test accuracy of each population at one epoch (2022 Fig. 4 at epoch 0: the samples as
    decoded, against B_T trained from scratch for 25 epochs): a box plot per population in
    :data:`~hyperreps.reports.POPULATION_ORDER` with every model as a jittered point; the
    models without a finite accuracy are counted under their population. B_T is read at
    ``scratch_epoch`` (default: ``epoch``)."""
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
    chance = ax.axhline(_CHANCE, color="grey", ls=":", lw=1, label="chance (10%)")
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
    _save(fig, path)


def plot_accuracy_over_epochs(acc: pd.DataFrame, source: str, target: str, path,
                              populations=None, offset: int = 0) -> None:
    """Test accuracy over epochs per population (2022 Figs. 7, 14-21): the median as a line and
    the 25-75% quantiles as a band, non-finite accuracies left out; B_T over all its epochs.
    ``populations`` (default: every population of the pair) picks the populations shown.
    ``offset`` puts a fine-tuned population's epoch e at e + offset on B_T's axis (in-dataset:
    the last epoch the hyper-representation was trained on, 25 in the paper, so samples start
    beside B_T at 25)."""
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
    ax.axhline(_CHANCE, color="grey", ls=":", lw=1, label="chance (10%)")
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
    _save(fig, path)


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
    _save(fig, path)


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
    _save(fig, path)


def plot_ensembles(ens: pd.DataFrame, source: str, path) -> None:
    """Ensemble test accuracy against ensemble size per population (2022 Fig. 5): the mean
    over random draws of members as a line, ± one std as a band; one panel per epoch where
    ``ens`` has an ``epoch`` column."""
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
        ax.axhline(_CHANCE, color="grey", ls=":", lw=1, label="chance (10%)")
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
    _save(fig, path)


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
    _save(fig, path)


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
    _save(fig, path)


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
    _save(fig, path)


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
            title = "in-distribution (test split)" if where == "test" else f"out-of-distribution: {where}"
            ax.set_title(f"{prop}, {title}", fontsize=8)
            ax.set_xlabel(f"true {prop}", fontsize=8)
            ax.set_ylabel(f"predicted {prop}", fontsize=8)
            ax.legend(fontsize=6, frameon=False)
    fig.suptitle(f"Probes fitted on zoo {source}: in- and out-of-distribution (2021 App. D.3)",
                 fontsize=10)
    _save(fig, path)


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
    _save(fig, path)
