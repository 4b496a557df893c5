"""What every figure shares: how a figure is written, histogram bins, placeholders for empty
panels, chance lines and the colours.

- :func:`save_figure` writes a figure atomically (a failed save leaves no partial file) and
  closes it.
- :func:`shared_bins` and :func:`bin_count`: common histogram bins for several arrays, and a bin
  count for a number of values.
- :func:`mark_no_data` and :func:`plural`: the text of an empty panel, and "1 row" / "2 rows".
- :func:`draw_chance`: the chance-accuracy line of a dataset with ``n_classes`` classes.
- Colours: :data:`ORIGINAL_COLOR` (the models as trained), :func:`variant_colors` (one per
  autoencoder variant, never that grey), :data:`ALL_COLOR` / :data:`TOP_COLOR` (all models /
  the top 30% by accuracy), and :data:`POPULATION_COLORS` with :func:`population_color` (one
  fixed colour per generative population, the same in every figure). The populations' display
  order is :func:`hyperreps.generative.tables.order_populations` (that of
  :data:`hyperreps.generative.populations.ALL_POPULATIONS`), shared with the tables.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ..publish import atomic_path

matplotlib.use("Agg")

ORIGINAL_COLOR = "0.45"  # grey: the models as trained
ALL_COLOR = "tab:blue"  # all models (embedding figure)
TOP_COLOR = "tab:red"  # the top-30% of models by accuracy

# Samplers in hues (light: fitted on all anchors, dark: on the top 30%), the baseline
# autoencoder in purple, joint-structure priors in reds, novelty baselines in browns, B_F grey
# and B_T black.
POPULATION_COLORS: dict[str, str] = {
    "S_U": "#e377c2", "S_C": "#bcbd22",
    "S_KDE": "#6baed6", "S_KDE30": "#08519c", "S_KDE30_ref": "#17becf",
    "S_Neigh": "#74c476", "S_Neigh30": "#006d2c",
    "S_GAN": "#fd8d3c", "S_GAN30": "#a63603",
    "B_KDE30": "#9467bd",
    # the joint-structure priors of issue 22 in reds, the latent edit in bright red
    "S_Gauss30": "#fcbba1", "S_GMM30": "#fb6a4a", "S_Flow30": "#a50f15",
    "S_Near30": "#67000d", "S_Edit30": "#e7298a", "S_EditP30": "#ce1256",
    "S_LatMix30": "#fdae6b", "S_LatMixEdit30": "#e6550d",
    # weight-space mixes of aligned independent solutions (issue 32) in teals
    "W_PCA": "#c7e9c0", "W_Mix2": "#41ab5d", "W_Mix3": "#238b45", "W_Mix2_QD": "#00441b",
    "N_noise": "#8c564b", "N_avg": "#c49c94", "N_noise_QD": "#5a3a2e",
    "B_F": "#7f7f7f", "B_T": "#000000",
}
_EXTRA_COLORS: tuple[str, ...] = ("#17becf", "#d62728", "#ff9896", "#dbdb8d", "#9edae5",
                                  "#c5b0d5", "#f7b6d2", "#393b79")


def save_figure(fig, path) -> None:
    """Write to a temporary name, then rename; a failed save leaves no partial file."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)


def population_color(name: str) -> str:
    """The fixed colour of a population; unknown names get a colour derived from the name, so
    the same in every figure."""
    if name in POPULATION_COLORS:
        return POPULATION_COLORS[name]
    return _EXTRA_COLORS[zlib.crc32(name.encode()) % len(_EXTRA_COLORS)]


def variant_colors(names) -> dict[str, str]:
    """One colour per autoencoder variant of ``names``, from the colour cycle without the grey
    of :data:`ORIGINAL_COLOR`."""
    palette = [c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]
               if c not in ("#7f7f7f",)]  # skip tab:grey, reserved for the original weights
    return {n: palette[i % len(palette)] for i, n in enumerate(names)}


def chance_accuracy(n_classes: int) -> float:
    """Test accuracy (%) of guessing among ``n_classes`` classes."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 2:
        raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes!r}")
    return 100 / n_classes


def draw_chance(ax, n_classes: int):
    """The dotted grey chance line of a dataset with ``n_classes`` classes; returns the line."""
    chance = chance_accuracy(n_classes)
    return ax.axhline(chance, color="grey", ls=":", lw=1, label=f"chance ({chance:.0f}%)")


def shared_bins(arrays, n_bins: int = 50, central: float | None = 99.8) -> np.ndarray | None:
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


def bin_count(n: int, lo: int = 10, hi: int = 40) -> int:
    """A histogram bin count for ``n`` values."""
    return int(np.clip(2 * np.sqrt(max(n, 1)), lo, hi))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def mark_no_data(ax, text: str = "no finite values") -> None:
    """A grey note in the middle of an empty panel."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=8,
            color="0.4")


def checked_2d(name: str, x, n_rows: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array [N, ...], got shape {x.shape}")
    if n_rows is not None and x.shape[0] != n_rows:
        raise ValueError(f"{name}: expected {n_rows} rows, got shape {x.shape}")
    return x


def checked_1d(name: str, x, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), got {x.shape}")
    return x
