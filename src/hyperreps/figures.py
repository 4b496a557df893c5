"""Figures of the zoo stage."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .zoo import Zoo  # noqa: E402


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=130, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def plot_zoo_accuracy(zoo: Zoo, path, name: str | None = None) -> None:
    """Test accuracy per epoch as box plots (2021 App. Fig. 3, row one), diverged models
    counted in the title."""
    acc = zoo.metric("test_acc") * 100
    n_div = int(zoo.models()["diverged"].astype(bool).sum())
    epochs = np.arange(acc.shape[1])
    data = [a[np.isfinite(a)] for a in acc.T]
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(epochs) + 2), 4))
    ax.boxplot(data, positions=epochs, widths=0.6, showfliers=True, flierprops={"markersize": 2})
    ax.plot(epochs, [np.median(d) if len(d) else np.nan for d in data], color="tab:red", lw=1,
            label="median")
    ax.axhline(10, color="grey", ls=":", lw=1, label="chance (10%)")
    ax.set_xlabel("epoch (0 = initialisation)")
    ax.set_ylabel("test accuracy (%)")
    step = max(1, len(epochs) // 15)
    ax.set_xticks(epochs[::step], [str(e) for e in epochs[::step]])
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    label = f"zoo {name} ({zoo.dataset})" if name else zoo.dataset
    ax.set_title(f"{label}: {zoo.n_models} models, {n_div} diverged")
    _save(fig, path)
