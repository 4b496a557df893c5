"""Population statistics and pairwise tests for the paper's Tables 10-13.

Sources. The reference implementation of "Hyper-Representations as Generative Models"
(Schürholt et al., NeurIPS 2022) reports, per population (a set of models) and epoch, the
mean, standard deviation, median and the quantiles ``[0, .05, .3, .5, .7, .95, 1]`` of a
metric; a bootstrapped 95% confidence interval of the median computed with
``scipy.stats.bootstrap((x,), np.median, confidence_level=0.95, random_state=42)``
(9,999 resamples, BCa); and pairwise Mann-Whitney U tests with ``pingouin.mwu``
(two-sided), from which it keeps the p-value and the common-language effect size (CLES).

Choices made here, where the reference leaves room:

* Non-finite values (NaN or +-inf: diverged models) are excluded from every statistic and
  test; :func:`summarize` counts them in ``n_nonfinite``, and ``n`` is the number of finite
  values used.
* ``std`` is the sample standard deviation (``ddof=1``, as ``pandas.Series.std``): the
  "mean +- std" of the paper describes the spread of a population of models, a sample of the
  models the method can produce. It is NaN for fewer than two values.
* Quantiles use numpy's default linear interpolation (as ``pandas.Series.quantile``).
* Seeding the bootstrap: SciPy 1.17 accepts both ``rng`` and the older ``random_state``
  keyword (no deprecation warning yet). ``rng=42`` is normalised with
  ``numpy.random.default_rng`` (a PCG64 stream), whereas ``random_state=42`` seeds a legacy
  ``numpy.random.RandomState(42)``, the stream the reference drew its resamples from. This
  module passes ``random_state=seed`` so its resamples are the reference's.
* ``pingouin.mwu`` (0.7.0) returns one row with the columns ``U_val``, ``alternative``,
  ``p_val``, ``RBC`` and ``CLES`` (earlier versions named them ``U-val`` and ``p-val``). It
  calls ``scipy.stats.mannwhitneyu(x, y, alternative=...)`` with SciPy's defaults,
  ``use_continuity=True, method="auto"``: the exact distribution when one sample has at most
  8 values and there are no ties, otherwise the normal approximation with tie correction and
  continuity correction. ``U`` is the statistic of the first sample ``x``, and
  ``CLES = P(x > y) + 0.5 * P(x == y)`` over all pairs, so ``U = CLES * n_x * n_y``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.stats

QUANTILES: dict[str, float] = {
    "q0": 0.0, "q05": 0.05, "q30": 0.3, "q50": 0.5, "q70": 0.7, "q95": 0.95, "q100": 1.0,
}
SUMMARY_FIELDS: tuple[str, ...] = (
    "n", "n_nonfinite", "mean", "std", "median", *QUANTILES, "median_ci_low", "median_ci_high",
)


def _finite(values: npt.ArrayLike) -> tuple[np.ndarray, int]:
    """The finite values of a 1-D sample as float64, and how many were not finite."""
    x = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(x)
    return x[keep], int(x.size - keep.sum())


def _pick(row: pd.Series, *names: str) -> float:
    """The first of ``names`` present in a pingouin result row (its columns were renamed
    across versions: ``p-val``/``p_val``, ``U-val``/``U_val``)."""
    for name in names:
        if name in row.index:
            return float(row[name])
    raise KeyError(f"pingouin.mwu output has none of {names}: columns {list(row.index)}")


def median_ci(values: npt.ArrayLike, confidence: float = 0.95,
              seed: int = 42) -> tuple[float, float]:
    """BCa bootstrap confidence interval of the median (9,999 resamples), as the reference.

    Non-finite values are dropped first. Degenerate samples do not reach the bootstrap:
    no values give ``(nan, nan)``; one value, or values all equal, give ``(median, median)``,
    the interval of a bootstrap distribution that is a single point. Where BCa is otherwise
    undefined (e.g. every jackknife median equal), SciPy warns and returns NaN bounds, which
    are passed on.
    """
    x, _ = _finite(values)
    if x.size == 0:
        return float("nan"), float("nan")
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = scipy.stats.bootstrap((x,), np.median, confidence_level=confidence,
                                random_state=seed)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(values: npt.ArrayLike) -> dict[str, float | int]:
    """Statistics of one population's metric: the fields of :data:`SUMMARY_FIELDS`.

    ``n`` counts the finite values the statistics use, ``n_nonfinite`` the values excluded
    (NaN or inf, i.e. diverged models). With no finite values every statistic is NaN.
    """
    x, n_nonfinite = _finite(values)
    out: dict[str, float | int] = {"n": int(x.size), "n_nonfinite": n_nonfinite}
    if x.size == 0:
        out.update({k: float("nan") for k in SUMMARY_FIELDS[2:]})
        return out
    out["mean"] = float(np.mean(x))
    out["std"] = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
    out["median"] = float(np.median(x))
    out.update(zip(QUANTILES, map(float, np.quantile(x, list(QUANTILES.values())))))
    out["median_ci_low"], out["median_ci_high"] = median_ci(x)
    return out


def mann_whitney(a: npt.ArrayLike, b: npt.ArrayLike) -> dict[str, float | int]:
    """Two-sided Mann-Whitney U test of ``a`` against ``b`` with ``pingouin.mwu``.

    Returns ``u`` (the U statistic of ``a``), ``p_value``, ``cles`` (``P(a > b) + 0.5 P(a ==
    b)`` over all pairs: above 0.5 when ``a`` tends to be larger) and the sample sizes
    ``n_a``, ``n_b`` after dropping non-finite values. If either sample is then empty, ``u``,
    ``p_value`` and ``cles`` are NaN.
    """
    x, _ = _finite(a)
    y, _ = _finite(b)
    out: dict[str, float | int] = {"u": float("nan"), "p_value": float("nan"),
                                   "cles": float("nan"), "n_a": int(x.size), "n_b": int(y.size)}
    if x.size == 0 or y.size == 0:
        return out
    import pingouin  # here: importing it takes 1.6 s (matplotlib, statsmodels) in every job

    row = pingouin.mwu(x, y, alternative="two-sided").iloc[0]
    out["u"] = _pick(row, "U_val", "U-val")
    out["p_value"] = _pick(row, "p_val", "p-val")
    out["cles"] = _pick(row, "CLES")
    return out
