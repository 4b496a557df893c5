"""The noise frontier (hyperreps.generative.novelty_curves):
curve members, monotone curves, interpolation at
equal novelty and the bootstrap comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hyperreps.generative.novelty_curves import (above_frontier, accuracy_at, compare_to_curve,
                                                 curve_points, frontier_table, noise_members)
from hyperreps.generative.novelty_measures import audit_measures, error_masks
from hyperreps.metrics import nearest_anchor
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings
from hyperreps.architecture import zoo_cnn_layout


def test_noise_members_share_picks_and_draws():
    base = torch.arange(12.0).reshape(3, 4)
    w, sigma, pick = noise_members(base, [0.0, 0.5, 1.0], 5, seed=0)
    assert w.shape == (15, 4) and sigma.tolist() == [0.0] * 5 + [0.5] * 5 + [1.0] * 5
    np.testing.assert_array_equal(w[:5].numpy(), base[pick[:5]].numpy())
    # the same draw at every sigma: the displacement scales exactly with sigma
    torch.testing.assert_close(w[10:] - w[:5], 2 * (w[5:10] - w[:5]))
    with pytest.raises(ValueError, match="sigmas"):
        noise_members(base, [-0.1], 2, 0)


@pytest.fixture(scope="module")
def trained(digits):
    """Eight digits CNNs after three epochs: a synthetic zoo that is well above chance."""
    layout = zoo_cnn_layout(1)
    specs = [ModelSpec(seed=s, lr=0.01) for s in range(8)]
    res = train_population(specs, TrainSettings(epochs=3), digits.train, {}, layout)
    return res.weights[:, -1].float()


def test_noise_curve_is_monotone_in_sigma(trained, digits):
    sigmas = [0.0, 0.1, 0.3, 0.6, 1.2]
    w, sigma, _ = noise_members(trained, sigmas, 60, seed=1)
    masks, finite = error_masks(w, "tanh", digits.test)
    ref_masks, _ = error_masks(trained, "tanh", digits.test)
    m = audit_measures(masks, finite, ref_masks)
    members = pd.DataFrame({"curve": "noise_raw", "sigma": sigma, "test_acc": 1 - m["error_rate"],
                            "max_error_iou": m["max_error_iou"],
                            "l2_checkpoint": nearest_anchor(w, trained)[0]})
    pts = curve_points(members)
    assert pts["n"].tolist() == [60] * 5
    assert pts["test_acc"].iloc[0] > 0.4  # trained: chance is 0.1
    assert np.all(np.diff(pts["test_acc"]) < 0)
    assert np.all(np.diff(pts["max_error_iou"]) < 0)
    assert np.all(np.diff(pts["l2_checkpoint"]) > 0)
    assert pts["max_error_iou"].iloc[0] == 1.0 and pts["l2_checkpoint"].iloc[0] < 1e-4


def test_accuracy_at_interpolates_inside_and_refuses_outside():
    nov, acc = np.array([0.9, 0.5, 0.7]), np.array([0.8, 0.4, 0.6])  # unsorted on purpose
    assert accuracy_at(nov, acc, 0.6) == pytest.approx(0.5)
    assert np.isnan(accuracy_at(nov, acc, 0.3)) and np.isnan(accuracy_at(nov, acc, 1.0))


def _curve(rng, offsets=(0.0, 0.0)):
    xs = np.linspace(0, 1, 6)
    return ([1 - x + offsets[0] + 0.01 * rng.standard_normal(50) for x in xs],
            [x + offsets[1] + 0.01 * rng.standard_normal(50) for x in xs])


def test_compare_to_curve_finds_a_population_above_and_one_on_the_curve():
    rng = np.random.default_rng(0)
    acc, nov = _curve(rng)
    above = compare_to_curve(0.7 + 0.01 * rng.standard_normal(40),
                             0.5 + 0.01 * rng.standard_normal(40), acc, nov, 300, 0)
    assert above["curve_acc"] == pytest.approx(0.5, abs=0.01)
    assert above["difference"] == pytest.approx(0.2, abs=0.01)
    assert 0 < above["ci_low"] < above["difference"] < above["ci_high"]
    on = compare_to_curve(0.5 + 0.05 * rng.standard_normal(40),
                          0.5 + 0.05 * rng.standard_normal(40), acc, nov, 300, 0)
    assert on["ci_low"] < 0 < on["ci_high"]
    outside = compare_to_curve(np.full(5, 0.5), np.full(5, 3.0), acc, nov, 300, 0)
    assert np.isnan(outside["difference"]) and np.isnan(outside["ci_low"])


def test_frontier_table_rows_and_sign():
    rng = np.random.default_rng(0)
    acc, nov = _curve(rng)
    members = pd.concat([pd.DataFrame({"curve": c, "sigma": s, "test_acc": a,
                                       "max_error_iou": 1 - v, "l2_checkpoint": v,
                                       "l2_reconstruction": v})
                         for c in ("noise_raw", "noise_reconstructed")
                         for s, a, v in zip(range(6), acc, nov)])
    models = pd.DataFrame({"population": ["good"] * 30 + ["bad"] * 30,
                           "test_acc": np.r_[np.full(30, 0.8), np.full(30, 0.2)]
                           + 0.01 * rng.standard_normal(60),
                           "max_error_iou": 0.5 + 0.01 * rng.standard_normal(60),
                           "l2_checkpoint": 0.5 + 0.01 * rng.standard_normal(60),
                           "l2_reconstruction": 0.5 + 0.01 * rng.standard_normal(60)})
    table = frontier_table(models, members, 200, 0)
    assert len(table) == 4 and set(table["curve"]) == {"noise_raw", "noise_reconstructed"}
    assert above_frontier(table)["population"].unique().tolist() == ["good"]
    assert above_frontier(table, "l2")["population"].unique().tolist() == ["good"]
    assert (table.loc[table.population == "bad", "ci_high_delta"] < 0).all()


def test_verdicts_say_where_each_population_stands():
    from hyperreps.generative.novelty_frontier import verdict

    assert [verdict(0.01, 0.05), verdict(-0.05, -0.01), verdict(-0.01, 0.02),
            verdict(np.nan, np.nan)] == ["above", "below", "level", ""]
