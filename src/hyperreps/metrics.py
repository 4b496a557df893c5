"""The quantities that tables and figures share, each defined once.

- ``METRICS``: the per-epoch metric columns of every zoo (training, validation, test).
- ``r_squared``: the coefficient of determination against a *given* baseline prediction. The
  reconstruction R² of the papers uses the training models' mean as that baseline (what an
  autoencoder that learned nothing would predict); a probe's R² uses the targets' own mean
  (scikit-learn's ``r2_score``), which is the same formula with another baseline.
- ``nearest_anchor``: the Euclidean distance of each row to its nearest anchor row, and that
  anchor's index (novelty in weight space and in latent space alike).
"""

from __future__ import annotations

import numpy as np
import torch

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")


def r_squared(pred, target, baseline=None) -> float:
    """``1 - mse(pred, target) / mse(baseline, target)`` in float64.

    ``baseline`` broadcasts against ``target`` (a training mean of shape ``[P]`` for ``[N, P]``
    targets); ``None`` means the targets' own mean over everything. NaN where there are no
    targets, where the baseline's error is zero, and, with the targets' own mean, where all
    targets are equal (their computed mean need not equal them exactly in floating point)."""
    p = torch.as_tensor(pred).double()
    t = torch.as_tensor(target).double()
    if t.numel() == 0:
        return float("nan")
    if baseline is None and bool((t == t.flatten()[0]).all()):
        return float("nan")
    b = t.mean() if baseline is None else torch.as_tensor(baseline).double()
    base = float(((b.expand_as(t) - t) ** 2).mean())
    if not base > 0:
        return float("nan")
    return float(1.0 - float(((p - t) ** 2).mean()) / base)


@torch.no_grad()
def nearest_anchor(points, anchors, block: int = 256, groups=None, anchor_groups=None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance of each row of ``points`` ``[N, D]`` to its nearest row of ``anchors``
    ``[A, D]`` (float64), and that anchor's index; rows that are not finite get NaN and -1.
    With ``groups`` ``[N]`` and ``anchor_groups`` ``[A]`` (e.g. model ids), anchors of a row's
    own group are left out (a training model against its own checkpoints)."""
    x = torch.as_tensor(points)
    a = torch.as_tensor(anchors).double()
    if x.ndim != 2 or a.ndim != 2 or x.shape[1] != a.shape[1]:
        raise ValueError(f"points [N, D] and anchors [A, D] must share D, got {tuple(x.shape)} "
                         f"and {tuple(a.shape)}")
    if len(a) == 0:
        raise ValueError("no anchors")
    if (groups is None) != (anchor_groups is None):
        raise ValueError("give both groups and anchor_groups, or neither")
    n = len(x)
    dist, idx = np.full(n, np.nan), np.full(n, -1)
    rows = torch.nonzero(torch.isfinite(x).all(dim=1)).flatten()
    for i in range(0, len(rows), block):
        r = rows[i:i + block]
        d = torch.cdist(x[r].double(), a)
        if groups is not None:
            same = np.asarray(groups)[r.numpy(), None] == np.asarray(anchor_groups)[None, :]
            d = d.masked_fill(torch.from_numpy(same), float("inf"))
        best = d.min(dim=1)
        ok = torch.isfinite(best.values).numpy()
        dist[r.numpy()[ok]] = best.values.numpy()[ok]
        idx[r.numpy()[ok]] = best.indices.numpy()[ok]
    return dist, idx
