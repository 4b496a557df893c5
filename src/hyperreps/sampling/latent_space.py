"""The latent space every sampler works in, and the checks samplers share.

The encoder ends in tanh, so codes lie in the box ``[-1, 1]^d``; samplers see embeddings only
(numpy arrays ``[N, d]``, the anchors) and return ``float32 [n, d]``. Which anchors a "30"
sampler is fitted on is :func:`top_fraction_mask`.
"""

from __future__ import annotations

import numpy as np

MIN_ANCHORS = 2


def check_anchors(anchors: np.ndarray, min_anchors: int = MIN_ANCHORS) -> np.ndarray:
    a = np.asarray(anchors)
    if a.ndim != 2:
        raise ValueError(f"anchors must be a 2-D array [N, d], got shape {a.shape}")
    if a.shape[1] < 1:
        raise ValueError(f"anchors must have at least one latent dimension, got shape {a.shape}")
    if a.shape[0] < min_anchors:
        raise ValueError(f"need at least {min_anchors} anchors, got {a.shape[0]}")
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
        raise ValueError("anchors must be finite numbers (found NaN, inf or non-numeric values)")
    return a.astype(np.float64)


def check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (number of samples) must be a positive integer, got {n!r}")
    return int(n)


def check_positive(name: str, value: float) -> float:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def positive_ints(name: str, values) -> list[int]:
    values = [values] if isinstance(values, (int, np.integer)) else list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                         for v in values):
        raise ValueError(f"{name} must be positive integers, got {values!r}")
    return [int(v) for v in values]



def top_fraction_mask(acc: np.ndarray, fraction: float = 0.3) -> np.ndarray:
    """Boolean mask of the anchors whose accuracy is at or above the ``1 - fraction``
    quantile (``fraction=0.3``: the anchors of the "30" samplers, e.g. S_KDE30)."""
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim != 1 or acc.size == 0 or not np.isfinite(acc).all():
        raise ValueError(f"acc must be a non-empty 1-D array of finite values, got shape "
                         f"{acc.shape}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    return acc >= np.quantile(acc, 1 - fraction)
