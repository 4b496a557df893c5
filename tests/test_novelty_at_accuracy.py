"""Novelty at equal accuracy (hyperreps.generative.novelty_at_accuracy): noise drawn as the
curve sits on it, a pool of mixed sigma too, and a U-shaped IoU curve gives one answer."""

import numpy as np
import pytest

from hyperreps.generative.novelty_at_accuracy import (compare_at_accuracy, curve_reference,
                                                      delta_iou, fit_iou_given_accuracy)

SIGMAS = np.linspace(0.0, 1.25, 11)


def noise_models(rng, sigmas, n=60):
    """Synthetic noise models: accuracy falls with sigma, max error-IoU falls to 0.48 at sigma
    0.45 and rises again towards chance (the demo's shape); each model scatters around it."""
    s = np.repeat(sigmas, n)
    acc = 0.10 + 0.67 * np.exp(-(s / 0.5) ** 2) + 0.02 * rng.standard_normal(len(s))
    iou = np.where(s < 0.45, 1 - 0.52 * np.sqrt(s / 0.45), 0.48 + 0.01 * (s - 0.45))
    return s, acc, iou + 0.015 * rng.standard_normal(len(s))


def independent_models(rng, n=100):
    return 0.77 + 0.02 * rng.standard_normal(n), 0.52 + 0.02 * rng.standard_normal(n)


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(0)
    _, acc, iou = noise_models(rng, SIGMAS)
    return curve_reference(acc, iou, *independent_models(rng), n_resamples=300, seed=1)


def test_the_regression_is_increasing_and_defined_only_inside_the_noise_range():
    rng = np.random.default_rng(2)
    _, acc, iou = noise_models(rng, SIGMAS)
    fit = fit_iou_given_accuracy(acc, iou)
    grid = np.linspace(fit.low, fit.high, 50)
    assert (np.diff(fit(grid)) >= 0).all()
    assert np.isnan(fit(np.array([fit.low - 0.01, fit.high + 0.01, np.nan]))).all()
    assert fit_iou_given_accuracy([0.5, 0.5], [0.1, 0.2]) is None


@pytest.mark.parametrize("sigmas", [SIGMAS, SIGMAS[[2, 5, 9]], SIGMAS[[7]]],
                         ids=["curve", "mixed", "one_sigma_on_the_flat_bottom"])
def test_noise_drawn_as_the_curve_sits_on_it(reference, sigmas):
    """A fresh draw of noise models, of every sigma, of mixed sigma, or of one sigma where
    IoU no longer falls with accuracy: ΔIoU's CI spans 0 (one answer, on the curve)."""
    rng = np.random.default_rng(3)
    _, acc, iou = noise_models(rng, sigmas, n=80)
    out = compare_at_accuracy(acc, iou, reference, seed=4)
    assert out["ci_low"] <= 0 <= out["ci_high"], out
    assert abs(out["delta_iou"]) < 0.02 and out["in_range"] > 0.9


def test_independent_models_close_the_whole_gap_and_a_copy_none(reference):
    rng = np.random.default_rng(5)
    ind_acc, ind_iou = independent_models(rng)
    out = compare_at_accuracy(ind_acc, ind_iou, reference, seed=6)
    assert out["ci_low"] > 0.1 and out["gap_closed"] == pytest.approx(1.0, abs=0.15)
    assert out["acc_share"] == pytest.approx(1.0, abs=0.02)
    half = compare_at_accuracy(ind_acc, ind_iou + out["delta_iou"] / 2, reference, seed=6)
    assert half["gap_closed"] == pytest.approx(0.5, abs=0.1)
    assert half["gap_ci_low"] < 0.5 < half["gap_ci_high"]
    copy = compare_at_accuracy(ind_acc, np.ones_like(ind_iou), reference, seed=6)
    assert copy["ci_high"] < 0 and copy["gap_closed"] < 0


def test_models_outside_the_noise_accuracy_range_are_counted_out(reference):
    acc = np.r_[np.full(10, 0.99), np.full(10, 0.5)]
    d = delta_iou(acc, np.full(20, 0.5), reference.fit)
    assert np.isnan(d[:10]).all() and np.isfinite(d[10:]).all()
    out = compare_at_accuracy(acc, np.full(20, 0.5), reference, seed=0)
    assert out["in_range"] == pytest.approx(0.5)
    nothing = compare_at_accuracy(np.full(5, 0.99), np.full(5, 0.5), reference, seed=0)
    assert np.isnan(nothing["delta_iou"]) and np.isnan(nothing["ci_low"])
