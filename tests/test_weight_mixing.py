"""Generators that mix independent solutions (issue 32): hyperreps.sampling.weight_mixing,
the latent mixes, hyperreps.generative.mixing_populations (selection and its noise baseline),
the weight_alignment experiment and the generalisation check."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings as hsettings, strategies as st

from hyperreps.architecture import ARCHITECTURES, get_architecture
from hyperreps.generative.generalisation import QUANTITIES, disjoint_halves_check
from hyperreps.generative.mixing_populations import (SELECTED_NOISE, mixing_context,
                                                     mixing_population, select_novel_accurate,
                                                     selection_score)
from hyperreps.generative.novelty_at_accuracy import compare_populations, curve_reference
from hyperreps.generative.novelty_measures import error_masks, paired_error_iou
from hyperreps.generative.weight_alignment import align_zoo, load_aligned, save_aligned
from hyperreps.sampling.latent_priors import latent_mix_draw
from hyperreps.sampling.weight_mixing import (mix_parents, pca_gaussian, repair_activations,
                                              unit_statistics)

from helpers import make_zoo

SETTINGS = {"pca_scale": 1.0, "concentration": 1.0, "repair_images": 32, "pool_factor": 3,
            "floor_quantile": 0.1, "alignment_rounds": 2, "selection_score": "product"}


def test_pca_gaussian_has_the_models_mean_and_spread():
    g = torch.Generator().manual_seed(0)
    models = torch.randn(6, 40, generator=g) * torch.linspace(0.1, 2.0, 40)
    draws = pca_gaussian(models, 20000, seed=1)
    assert torch.allclose(draws.mean(0), models.mean(0), atol=0.05)
    assert torch.allclose(draws.var(0), models.var(0), rtol=0.06, atol=1e-3)
    # the draws stay in the models' affine span (rank N - 1)
    centred = (draws[:50] - models.mean(0)).double()
    basis = torch.linalg.svd((models - models.mean(0)).double(), full_matrices=False)[2][:5]
    assert torch.allclose(centred @ basis.T @ basis, centred, atol=1e-4)
    assert torch.equal(pca_gaussian(models, 3, seed=1), pca_gaussian(models, 3, seed=1))


def test_parent_mixes_are_convex_and_skip_non_finite_models():
    models = torch.randn(5, 12)
    models[2] = float("nan")
    mixes, parents, weights = mix_parents(models, 50, 3, 1.0, seed=0)
    assert (parents != 2).all() and all(len(set(p)) == 3 for p in parents)
    assert np.allclose(weights.sum(1), 1) and (weights >= 0).all()
    expected = (torch.from_numpy(weights).float()[:, :, None] * models[parents]).sum(1)
    assert torch.allclose(mixes, expected, atol=1e-6)
    # one draw of weights per layer: each layer is its own convex mix of the same parents
    from hyperreps.architecture import zoo_cnn_layout
    layout = zoo_cnn_layout(1)
    models = torch.randn(4, layout.n_params)
    mixes, parents, weights = mix_parents(models, 5, 2, 1.0, seed=1, layout=layout)
    assert weights.shape == (5, len(layout.layers), 2)
    for li, layer in enumerate(layout.layers):
        cut = layout.layer_slice(layer.name)
        expected = (torch.from_numpy(weights[:, li]).float()[:, :, None]
                    * models[parents][:, :, cut]).sum(1)
        assert torch.allclose(mixes[:, cut], expected, atol=1e-6)
    with pytest.raises(ValueError, match="at least 3 finite"):
        mix_parents(torch.full((3, 5), float("nan")), 2, 3, 1.0, seed=0)


@hsettings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(sorted(ARCHITECTURES)),
       activation=st.sampled_from(["tanh", "relu"]))
def test_repair_gives_every_hidden_unit_the_target_statistics(seed, name, activation):
    arch = get_architecture(name)
    layout = arch.layout
    gen = torch.Generator().manual_seed(seed)
    models = torch.randn(2, layout.n_params, generator=gen) * 0.3
    images = torch.randn(16, *arch.input_shape, generator=gen)
    target = unit_statistics(models[1:], layout, activation, images)
    repaired = repair_activations(models[:1], target, layout, activation, images)
    after = unit_statistics(repaired, layout, activation, images)
    for layer, stats in target.items():
        has_bias = layout.layers[[la.name for la in layout.layers].index(layer)].bias
        rows = slice(None) if has_bias else slice(1, 2)  # without a bias, only the std
        assert torch.allclose(after[layer][:, rows], stats[:, rows], rtol=1e-3, atol=1e-4), layer


def test_latent_mixes_join_an_anchor_with_a_distant_one():
    rng = np.random.default_rng(0)
    anchors = np.concatenate([rng.normal(-0.5, 0.01, (10, 3)), rng.normal(0.5, 0.01, (10, 3))])
    codes, pick = latent_mix_draw(anchors, 200, seed=1, k=2, distant=0.5)
    # the partner is in the other cluster: the mix lies between them, on the segment's line
    first_cluster = pick < 10
    assert (np.abs(codes[:, 0]) <= 0.55).all()
    assert np.corrcoef(codes[first_cluster, 0], codes[first_cluster, 1])[0, 1] > 0.9
    with pytest.raises(ValueError, match="distant"):
        latent_mix_draw(anchors, 2, seed=0, distant=1.0)


def test_paired_iou_and_population_difference():
    a = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    b = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], dtype=bool)
    assert np.allclose(paired_error_iou(a, b), [1 / 3, 1.0])
    rng = np.random.default_rng(0)
    acc = rng.uniform(0.1, 0.9, 400)
    ref = curve_reference(acc, acc, n_resamples=200, seed=0)
    same = compare_populations(acc[:100], acc[:100], acc[100:200], acc[100:200], ref, seed=1)
    assert same["ci_low"] < 0 < same["ci_high"]
    better = compare_populations(acc[:100], acc[:100] - 0.1, acc[100:200], acc[100:200], ref)
    assert better["difference"] == pytest.approx(0.1, abs=1e-6) and better["ci_low"] > 0


def _trained_like_zoo():
    zoo = make_zoo(n_models=8, n_epochs=3, seed=3)
    zoo.weights.mul_(0.2)
    split = {"train": list(range(6)), "val": [6], "test": [7]}
    return zoo, split


def test_weight_alignment_keeps_functions_and_round_trips(tmp_path, small_digits):
    zoo, split = _trained_like_zoo()
    result = align_zoo(zoo, split, epoch=2, rounds=2)
    row = result.summary.iloc[0]
    assert row["models"] == 6 and row["mean_pairwise_l2_aligned"] <= row["mean_pairwise_l2_raw"]
    assert list(result.model_ids) == list(range(6))
    before = error_masks(zoo.weights[:6, 2], "tanh", small_digits.test, layout=zoo.layout)[0]
    after = error_masks(result.models, "tanh", small_digits.test, layout=zoo.layout)[0]
    assert (before == after).all()
    save_aligned(tmp_path / "aligned", result)
    back = load_aligned(tmp_path / "aligned", zoo.layout.n_params)
    assert torch.equal(back.models, result.models) and list(back.model_ids) == list(range(6))
    with pytest.raises(ValueError, match="expected"):
        load_aligned(tmp_path / "aligned", zoo.layout.n_params + 1)


def test_selection_keeps_models_above_the_floor_and_noise_is_selected_alike(small_digits):
    zoo, split = _trained_like_zoo()
    anchors = zoo.weights[:6].reshape(-1, zoo.layout.n_params)
    top = np.zeros(len(anchors), dtype=bool)
    top[:4] = True
    ctx = mixing_context(zoo.weights[:6, 2], anchors, top, zoo.layout, "tanh",
                         small_digits.train, small_digits.val, [0.0, 0.5], SETTINGS)
    pool = torch.cat([anchors[:3], torch.zeros(3, zoo.layout.n_params)])  # 3 constant models
    keep, above = select_novel_accurate(pool, ctx, 3)
    acc = 1 - error_masks(pool, "tanh", small_digits.val, layout=zoo.layout)[0].mean(1)
    assert above == int((acc >= ctx.val_floor).sum())
    assert (acc[keep] >= ctx.val_floor).sum() == min(3, above)
    noise = mixing_population(SELECTED_NOISE, ctx, 4, seed=5)
    assert noise.shape == (4, zoo.layout.n_params)
    assert torch.equal(noise, mixing_population(SELECTED_NOISE, ctx, 4, seed=5))
    mixes = mixing_population("W_Mix2_QD", ctx, 4, seed=5)
    assert mixes.shape == (4, zoo.layout.n_params) and torch.isfinite(mixes).all()
    # ΔIoU on validation: against the selection's own noise curve on validation
    by_delta = mixing_context(zoo.weights[:6, 2], anchors, top, zoo.layout, "tanh",
                              small_digits.train, small_digits.val, [0.0, 0.5],
                              dict(SETTINGS, selection_score="delta_iou"))
    assert by_delta.val_curve is not None
    acc = np.array([by_delta.val_curve.low, by_delta.val_curve.high, 2.0])
    score = selection_score(acc, np.array([0.0, 1.0, 0.0]), by_delta)
    assert score[0] == pytest.approx(by_delta.val_curve.y[0])
    assert score[1] == pytest.approx(by_delta.val_curve.y[-1] - 1.0)
    assert score[2] == pytest.approx(by_delta.val_curve.y[-1])  # clipped to the range


def test_generalisation_check_tells_copying_from_a_generator_that_ignores_its_data(
        small_digits):
    zoo, split = _trained_like_zoo()
    parents = zoo.weights[:6, 2]
    ids = np.arange(6)

    def copy(models, n, seed):  # returns its own training models: it memorises
        return models[np.random.default_rng(seed).integers(len(models), size=n)]

    def fixed(models, n, seed):  # ignores its data: both halves give the same samples
        return torch.randn(n, models.shape[1], generator=torch.Generator().manual_seed(seed))

    copied = disjoint_halves_check(zoo, split, (2, 2), parents, ids, copy, 6, 0, "tanh",
                                   small_digits.test, zoo.layout, 100).set_index("quantity")
    assert list(copied.index) == list(QUANTITIES)
    assert copied.loc["own_half_iou", "mean"] == pytest.approx(1.0)
    assert copied.loc["other_half_iou", "mean"] < 1.0
    same = disjoint_halves_check(zoo, split, (2, 2), parents, ids, fixed, 6, 0, "tanh",
                                 small_digits.test, zoo.layout, 100).set_index("quantity")
    assert same.loc["paired_iou", "mean"] == pytest.approx(1.0)
