"""The 2025 audit's behavioural novelty (hyperreps.generative.novelty_measures) on
hand-made error masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperreps.generative.novelty_measures import (audit_measures, error_masks,
                                                   independent_error_iou, max_error_iou)
from tests.helpers import make_zoo


def masks(*rows: str) -> np.ndarray:
    return np.array([[c == "x" for c in r] for r in rows])


def test_max_error_iou_by_hand():
    refs = masks("xx....", "..xx..", "x.x.x.")
    got, arg = max_error_iou(masks("xx....", "x..x..", "......"), refs)
    # row 0 copies ref 0; row 1: {0,3} vs ref 0 {0,1}: 1/3, ref 1 {2,3}: 1/3, ref 2 {0,2,4}: 1/4
    np.testing.assert_allclose(got[:2], [1.0, 1 / 3])
    assert arg[0] == 0 and arg[1] == 0  # first of the tied maxima
    # a perfect model: every union is the reference's errors, every intersection empty
    assert got[2] == 0.0


def test_two_perfect_models_are_identical():
    got, _ = max_error_iou(masks("...."), masks("....", "x..."))
    assert got[0] == 1.0


def test_own_checkpoints_are_excluded():
    refs = masks("xx....", "xx...x", "..xxxx")
    groups = np.array([7, 8])
    ref_groups = np.array([7, 7, 8])  # model 7 has two checkpoints, model 8 one
    got, arg = max_error_iou(masks("xx....", "..xxxx"), refs, groups=groups,
                             reference_groups=ref_groups)
    # model 7 only sees model 8's checkpoint: {0,1} vs {2,3,4,5} share nothing
    assert got[0] == 0.0 and arg[0] == 2
    # model 8 sees model 7's two: best is {0,1,5}: 1 / 6
    np.testing.assert_allclose(got[1], 1 / 6)
    assert arg[1] == 1
    # without the rule each would find itself
    np.testing.assert_allclose(max_error_iou(masks("xx....", "..xxxx"), refs)[0], [1.0, 1.0])


def test_everything_excluded_or_not_finite_gives_nan():
    got, arg = max_error_iou(masks("x.", "x."), masks("x.", ".x"), groups=np.array([2, 2]),
                             reference_groups=np.array([1, 1]), finite=np.array([True, False]))
    assert got[0] == 1.0 and np.isnan(got[1]) and arg[1] == -1
    got, arg = max_error_iou(masks("x."), masks("x."), groups=np.array([1]),
                             reference_groups=np.array([1]))
    assert np.isnan(got[0]) and arg[0] == -1


def test_blocks_do_not_change_the_result():
    rng = np.random.default_rng(0)
    a, r = rng.random((37, 50)) < 0.3, rng.random((11, 50)) < 0.3
    np.testing.assert_array_equal(max_error_iou(a, r, block=5)[0], max_error_iou(a, r)[0])


def test_independent_error_iou_matches_simulation():
    rng = np.random.default_rng(0)
    p, q = 0.2, 0.5
    a, b = rng.random(200_000) < p, rng.random(200_000) < q
    simulated = (a & b).sum() / (a | b).sum()
    np.testing.assert_allclose(independent_error_iou(p, q), simulated, atol=0.005)
    assert independent_error_iou(0.0, 0.0) == 1.0


def test_audit_measures_chance_is_against_the_best_reference():
    refs = masks("xx..", "xxxx")
    m = audit_measures(masks("xx.."), np.array([True]), refs)
    assert m["iou_reference"][0] == 0 and m["max_error_iou"][0] == 1.0
    np.testing.assert_allclose(m["chance_iou"], independent_error_iou(0.5, 0.5))
    np.testing.assert_allclose(m["iou_over_chance"], 1.0 - 1 / 3)


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros(3, dtype=bool)])
def test_masks_must_be_2d_booleans(bad):
    with pytest.raises(ValueError, match="boolean"):
        max_error_iou(bad, np.zeros((1, 3), dtype=bool))


def test_error_masks_agree_with_accuracy(small_digits):
    from hyperreps.trainer.evaluate import evaluate_weights

    zoo = make_zoo(n_models=4, n_epochs=1)
    w = zoo.weights[:, 0].clone()
    w[3] = float("nan")
    got, finite = error_masks(w, "tanh", small_digits.test)
    _, acc = evaluate_weights(w, "tanh", small_digits.test)
    assert finite.tolist() == [True, True, True, False]
    np.testing.assert_allclose(1 - got[:3].mean(1), acc[:3], atol=1e-6)
    assert got[3].all()
    assert torch.isfinite(w[:3]).all()


def test_nearest_anchor_leaves_out_the_own_group():
    from hyperreps.metrics import nearest_anchor

    anchors = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    points = np.array([[0.1, 0.0], [0.1, 0.0]])
    dist, idx = nearest_anchor(points, anchors, groups=np.array([1, 3]),
                               anchor_groups=np.array([1, 1, 2]))
    np.testing.assert_allclose(dist, [4.9, 0.1])
    assert idx.tolist() == [2, 0]
    dist, idx = nearest_anchor(points[:1], anchors[:1], groups=np.array([1]),
                               anchor_groups=np.array([1]))
    assert np.isnan(dist[0]) and idx[0] == -1
