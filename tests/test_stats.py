"""Tests of hyperreps.stats against SciPy and brute-force definitions."""

import math
import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest
import scipy.stats

from hyperreps.stats import (
    SUMMARY_FIELDS,
    mann_whitney,
    median_ci,
    summarize,
)

NO_TIES = (np.array([0.81, 0.79, 0.86, 0.90, 0.84]), np.array([0.70, 0.83, 0.75, 0.80, 0.72, 0.77]))
TIES = (np.array([0.8, 0.8, 0.9, 0.7, 0.85, 0.9, 0.6]), np.array([0.8, 0.7, 0.7, 0.75, 0.9, 0.65]))


def brute_cles(a, b):
    return sum((x > y) + 0.5 * (x == y) for x in a for y in b) / (len(a) * len(b))


def test_pingouin_columns_are_known():
    columns = set(pingouin.mwu(*NO_TIES).columns)
    assert {"U_val", "p_val", "CLES"} <= columns or {"U-val", "p-val", "CLES"} <= columns


@pytest.mark.parametrize(("a", "b", "method"), [(*NO_TIES, "exact"), (*TIES, "asymptotic")])
def test_mann_whitney_matches_scipy(a, b, method):
    ref = scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method=method,
                                   use_continuity=True)
    res = mann_whitney(a, b)
    assert res["u"] == pytest.approx(ref.statistic, abs=1e-12)
    assert res["p_value"] == pytest.approx(ref.pvalue, abs=1e-12)
    assert (res["n_a"], res["n_b"]) == (len(a), len(b))


@pytest.mark.parametrize(("a", "b"), [NO_TIES, TIES])
def test_cles_is_pairwise_probability_of_a_greater(a, b):
    res = mann_whitney(a, b)
    assert res["cles"] == pytest.approx(brute_cles(a, b), abs=1e-12)
    assert res["u"] == pytest.approx(res["cles"] * len(a) * len(b), abs=1e-9)
    assert mann_whitney(b, a)["cles"] == pytest.approx(1 - res["cles"], abs=1e-12)


def test_mann_whitney_drops_nonfinite_and_handles_empty():
    a, b = TIES
    res = mann_whitney(np.append(a, [np.nan, np.inf]), np.append(b, np.nan))
    assert res == pytest.approx(mann_whitney(a, b))
    empty = mann_whitney([np.nan], b)
    assert (empty["n_a"], empty["n_b"]) == (0, len(b))
    assert all(math.isnan(empty[k]) for k in ("u", "p_value", "cles"))


def test_median_ci_contains_median_and_is_reproducible():
    x = np.random.default_rng(0).normal(0.8, 0.05, size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = median_ci(x)
    assert low <= np.median(x) <= high and low < high
    assert median_ci(x, seed=42) == (low, high)
    ref = scipy.stats.bootstrap((x,), np.median, confidence_level=0.95,
                                random_state=np.random.RandomState(42)).confidence_interval
    assert (low, high) == (ref.low, ref.high)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_median_ci_degenerate():
    assert median_ci([0.5]) == (0.5, 0.5)
    assert median_ci([0.3, 0.3, 0.3, np.nan]) == (0.3, 0.3)
    assert all(math.isnan(v) for v in median_ci([]))
    assert all(math.isnan(v) for v in median_ci([np.nan, np.nan]))
    with pytest.warns(scipy.stats.DegenerateDataWarning):
        undefined = median_ci([0.1, 0.1, 0.1, 0.1, 0.2])  # every jackknife median is 0.1
    assert all(math.isnan(v) for v in undefined)


def test_summarize_excludes_and_counts_nonfinite():
    x = np.array([0.1, 0.4, 0.2, 0.3, 0.5, 0.9, 0.7])
    s = summarize(np.concatenate([x, [np.nan, np.nan, np.inf]]))
    assert tuple(s) == SUMMARY_FIELDS
    assert (s["n"], s["n_nonfinite"]) == (7, 3)
    assert s["mean"] == pytest.approx(x.mean())
    assert s["std"] == pytest.approx(x.std(ddof=1))
    assert s["median"] == s["q50"] == 0.4
    assert (s["q0"], s["q100"]) == (0.1, 0.9)
    assert s["q30"] == pytest.approx(pd.Series(x).quantile(0.3))
    assert s["median_ci_low"] <= s["median"] <= s["median_ci_high"]


def test_summarize_degenerate():
    one = summarize([0.5])
    assert (one["n"], one["mean"], one["median"], one["q95"]) == (1, 0.5, 0.5, 0.5)
    assert math.isnan(one["std"])
    assert (one["median_ci_low"], one["median_ci_high"]) == (0.5, 0.5)
    same = summarize([0.2] * 5)
    assert (same["std"], same["median_ci_low"], same["median_ci_high"]) == (0.0, 0.2, 0.2)
    none = summarize([np.nan, np.nan])
    assert (none["n"], none["n_nonfinite"]) == (0, 2)
    assert all(math.isnan(none[k]) for k in SUMMARY_FIELDS[2:])
