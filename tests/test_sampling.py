"""Latent samplers (hyperreps.sampling.samplers): novelty of S_KDE, low density of S_C, bounds,
UMAP round trip, GAN training, seeds, input validation.

Only test_neigh_round_trip fits UMAP: the first fit in a process compiles
UMAP's numba code, 10-30 s depending on the machine; its later fits take about a second.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity

from hyperreps.metrics import nearest_anchor
from hyperreps.sampling.samplers import (draw_latents, kde_log_density, sample_counterfactual,
                                         sample_gan, sample_kde, sample_kde_reference,
                                         sample_neigh, sample_uniform, scott_bandwidth,
                                         top_fraction_mask, train_latent_gan)

BW = 0.002


@pytest.fixture(scope="module")
def anchors() -> np.ndarray:
    """Three clusters in a tanh-bounded 16-D latent space, like encoder outputs."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 0.6, size=(3, 16))
    z = centres[rng.integers(0, 3, 60)] + rng.normal(0.0, 0.15, size=(60, 16))
    return np.tanh(z).astype(np.float32)


def shifted_copy(samples: np.ndarray, anchors: np.ndarray, tol: float) -> np.ndarray:
    """Per sample: is it its nearest anchor plus one constant in every dimension?"""
    _, idx = nearest_anchor(samples, anchors)
    residual = samples.astype(np.float64) - anchors[idx]
    return residual.std(axis=1) < tol


def reference_kde(anchors: np.ndarray, n: int) -> np.ndarray:
    """The reference implementation's S_KDE: every dimension sampled with random_state=42."""
    return np.stack([KernelDensity(kernel="gaussian", bandwidth=BW).fit(anchors[:, [j]])
                     .sample(n, random_state=42)[:, 0] for j in range(anchors.shape[1])], axis=1)


def test_copy_check_catches_the_reference_bug(anchors):
    buggy = reference_kde(anchors, 20)
    dist, _ = nearest_anchor(buggy, anchors)
    assert shifted_copy(buggy, anchors, tol=BW).all()
    assert dist.max() < 5 * BW * np.sqrt(anchors.shape[1])


def test_reference_kde_population_returns_near_copies(anchors):
    # S_KDE30_ref: the published procedure, kept as its own population
    ref = sample_kde_reference(anchors, 20, seed=1, bandwidth=BW)
    np.testing.assert_allclose(ref, reference_kde(anchors, 20), atol=1e-6)
    assert shifted_copy(ref, anchors, tol=BW).all()
    # the seed is ignored, as in the reference: a second "population" is the same copies
    np.testing.assert_array_equal(ref, sample_kde_reference(anchors, 20, seed=7, bandwidth=BW))
    # the corrected sampler with the same settings does not copy
    assert not shifted_copy(sample_kde(anchors, 20, seed=1, bandwidth=BW), anchors,
                            tol=10 * BW).any()


def test_kde_samples_are_not_anchor_copies(anchors):
    samples = sample_kde(anchors, 200, seed=1, bandwidth=BW)
    assert samples.shape == (200, 16) and samples.dtype == np.float32
    dist, _ = nearest_anchor(samples, anchors)
    assert dist.min() > 20 * BW * np.sqrt(anchors.shape[1])
    assert not shifted_copy(samples, anchors, tol=10 * BW).any()


def test_kde_samples_follow_the_marginals(anchors):
    samples = sample_kde(anchors, 200, seed=2, bandwidth=BW).astype(np.float64)
    gap = np.abs(samples[:, None, :] - anchors[None, :, :].astype(np.float64)).min(axis=1)
    assert gap.max() < 6 * BW


def test_counterfactual_has_lower_density_than_kde(anchors):
    kde = sample_kde(anchors, 100, seed=3)
    cf = sample_counterfactual(anchors, 100, seed=3)
    assert cf.shape == (100, 16) and cf.dtype == np.float32
    assert (cf >= anchors.min(axis=0)).all() and (cf <= anchors.max(axis=0)).all()
    assert kde_log_density(cf, anchors).mean() < kde_log_density(kde, anchors).mean()
    tanh = sample_counterfactual(anchors, 50, seed=3, box="tanh", bandwidth=0.1)
    assert np.abs(tanh).max() <= 1.0
    assert kde_log_density(tanh, anchors).mean() < kde_log_density(kde, anchors).mean()


def test_scott_bandwidth():
    a = np.random.default_rng(0).normal(size=(100, 4))
    assert scott_bandwidth(a) == pytest.approx(a.std(axis=0, ddof=1).mean() * 100 ** (-1 / 8))
    with pytest.raises(ValueError, match="zero spread"):
        scott_bandwidth(np.ones((5, 3)))


def test_uniform_stays_in_the_box(anchors):
    z = sample_uniform(anchors, 500, seed=0)
    assert z.shape == (500, 16) and z.dtype == np.float32
    assert np.abs(z).max() <= 1.0 and z.min() < -0.9 and z.max() > 0.9


def test_neigh_round_trip(anchors):
    z = sample_neigh(anchors, 10, seed=0)
    assert z.shape == (10, 16) and z.dtype == np.float32
    assert np.isfinite(z).all() and np.abs(z).max() <= 1.0
    tiny = anchors[:6]  # n_neighbors 15 clipped to 5; small fits are fast once compiled
    z = draw_latents("neigh", tiny, 4, 1, {})
    assert z.shape == (4, 16) and np.isfinite(z).all() and np.abs(z).max() <= 1.0
    np.testing.assert_array_equal(z, sample_neigh(tiny, 4, seed=1))
    with pytest.raises(ValueError, match="at least 5 anchors"):
        sample_neigh(anchors[:4], 4, seed=1)


def test_gan_has_the_sizes_of_2022_appendix_e2(anchors):
    """App. E.2: generator 16 -> 128 -> 256 -> 512 -> D, discriminator D -> 1024 -> 512 -> 256
    -> 1, ReLU between, spectral norm on the discriminator; Adam 1e-4 / 2e-4; batch 32."""
    import inspect

    from torch import nn

    defaults = {k: p.default for k, p in inspect.signature(train_latent_gan).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults == dict(noise_dim=16, generator_hidden=(128, 256, 512),
                            discriminator_hidden=(1024, 512, 256), epochs=1000, batch_size=32,
                            lr_generator=1e-4, lr_discriminator=2e-4, device="auto")
    gen, history, _ = train_latent_gan(anchors, seed=0, epochs=3, device="cpu")
    linears = [m for m in gen if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (16, 128), (128, 256), (256, 512), (512, anchors.shape[1])]
    assert sum(isinstance(m, nn.ReLU) for m in gen) == 3
    # the schema's defaults are the same numbers
    from hyperreps.config.schema import load_schema

    gan = load_schema()["properties"]["generative"]["properties"]["gan"]["properties"]
    assert {k: v["default"] for k, v in gan.items()} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items() if k != "device"}
    # losses per epoch, recorded and finite
    assert list(history.columns) == ["epoch", "d_loss", "g_loss", "d_real", "d_fake"]
    assert history["epoch"].tolist() == [1, 2, 3]
    assert np.isfinite(history.to_numpy()).all()


def test_gan_discriminator_sizes_and_spectral_norm(anchors, monkeypatch):
    from torch import nn

    import hyperreps.sampling.latent_gan as sampling

    built = []
    real_sequential = nn.Sequential

    def spy(*layers):
        built.append(layers)
        return real_sequential(*layers)

    monkeypatch.setattr(sampling.nn, "Sequential", spy)
    sampling.train_latent_gan(anchors, seed=0, epochs=1, device="cpu")
    disc = [m for m in built[1] if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in disc] == [
        (anchors.shape[1], 1024), (1024, 512), (512, 256), (256, 1)]
    assert all(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in disc)
    assert sum(isinstance(m, nn.ReLU) for m in built[1]) == 3


def test_gan_trains(anchors):
    small = dict(generator_hidden=[32], discriminator_hidden=[32], device="cpu")
    z = sample_gan(anchors, 12, seed=0, epochs=30, **small)
    assert z.shape == (12, 16) and z.dtype == np.float32
    assert np.isfinite(z).all() and np.abs(z).max() <= 1.0


@pytest.mark.parametrize("method, settings", [
    ("uniform", {}),
    ("kde", {"bandwidth": 0.01}),
    ("counterfactual", {"pool_factor": 5}),
    ("gan", {"epochs": 3, "generator_hidden": [16], "discriminator_hidden": [16],
             "noise_dim": 8, "device": "cpu"}),
    ("gaussian", {}),
    ("gmm", {"n_components": 3}),
    ("flow", {"steps": 20, "hidden": [16]}),
])
def test_seeded_reproducible(anchors, method, settings):
    a = draw_latents(method, anchors, 8, 7, settings)
    np.testing.assert_array_equal(a, draw_latents(method, anchors, 8, 7, settings))
    assert not np.array_equal(a, draw_latents(method, anchors, 8, 8, settings))


def test_gan_leaves_global_rng_alone(anchors):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    sample_gan(anchors, 2, seed=5, epochs=1, generator_hidden=[8], discriminator_hidden=[8],
               device="cpu")
    assert torch.equal(torch.rand(3), expected)


def test_top_fraction_mask():
    acc = np.arange(10) / 10
    mask = top_fraction_mask(acc)
    np.testing.assert_array_equal(np.flatnonzero(mask), [7, 8, 9])
    assert (acc[mask] >= np.quantile(acc, 0.7)).all()
    ties = np.array([0.5, 0.9, 0.9, 0.9, 0.1])
    np.testing.assert_array_equal(top_fraction_mask(ties), [False, True, True, True, False])
    assert top_fraction_mask(acc, fraction=1.0).all()
    with pytest.raises(ValueError, match="fraction"):
        top_fraction_mask(acc, fraction=0.0)
    with pytest.raises(ValueError, match="acc"):
        top_fraction_mask(np.array([0.1, np.nan]))


def test_nearest_anchor():
    anchors = np.array([[0.0, 0.0], [1.0, 1.0]])
    dist, idx = nearest_anchor(np.array([[0.9, 1.0], [0.0, 0.3]]), anchors)
    np.testing.assert_allclose(dist, [0.1, 0.3])
    np.testing.assert_array_equal(idx, [1, 0])
    with pytest.raises(ValueError, match="must share D"):
        nearest_anchor(np.zeros((2, 3)), anchors)


def test_unknown_method(anchors):
    with pytest.raises(ValueError, match="'vae'"):
        draw_latents("vae", anchors, 4, 0, {})


def test_unknown_setting(anchors):
    with pytest.raises(ValueError, match="'bandwith'.*'kde'"):
        draw_latents("kde", anchors, 4, 0, {"bandwith": 0.1})


@pytest.mark.parametrize("bad, message", [
    (np.zeros(5), "2-D"),
    (np.zeros((1, 4)), "at least 2 anchors"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), "finite"),
    (np.zeros((3, 0)), "latent dimension"),
])
@pytest.mark.parametrize("method", ["uniform", "kde", "counterfactual", "gan", "gaussian", "gmm",
                                    "flow"])
def test_bad_anchors(method, bad, message):
    with pytest.raises(ValueError, match=message):
        draw_latents(method, bad, 4, 0, {})


@pytest.mark.parametrize("method, settings, message", [
    ("uniform", {}, "positive integer"),
    ("kde", {"bandwidth": 0.0}, "bandwidth"),
    ("counterfactual", {"box": "sphere"}, "box"),
    ("counterfactual", {"pool_factor": 0}, "pool_factor"),
    ("gan", {"epochs": 0}, "epochs"),
    ("gan", {"lr_generator": -1.0}, "lr_generator"),
    ("gan", {"generator_hidden": []}, "generator_hidden"),
    ("gaussian", {"scale": 0.0}, "scale"),
    ("gmm", {"reg_covar": -1.0}, "reg_covar"),
    ("gmm", {"n_components": 0}, "n_components"),
    ("flow", {"steps": 0}, "steps"),
])
def test_bad_settings(anchors, method, settings, message):
    n = 0 if method == "uniform" else 4
    with pytest.raises(ValueError, match=message):
        draw_latents(method, anchors, n, 0, settings)


@pytest.mark.parametrize("method, settings", [
    ("gaussian", {}), ("gaussian", {"scale": 3.0}), ("gmm", {"n_components": 3}),
    ("flow", {"steps": 50, "hidden": [32]}),
])
def test_joint_priors_give_finite_codes_in_the_box(anchors, method, settings):
    z = draw_latents(method, anchors, 40, 3, settings)
    assert z.shape == (40, anchors.shape[1]) and z.dtype == np.float32
    assert np.isfinite(z).all() and np.abs(z).max() <= 1.0


def test_gaussian_sample_covariance_matches_the_fit():
    from sklearn.covariance import LedoitWolf

    rng = np.random.default_rng(1)
    mix = rng.normal(0, 1, (4, 4))
    codes = 0.1 * rng.standard_normal((400, 4)) @ mix  # correlated, well inside the box
    z = draw_latents("gaussian", codes, 40000, 0).astype(np.float64)
    fit = LedoitWolf().fit(codes)
    np.testing.assert_allclose(z.mean(0), codes.mean(0), atol=0.01)
    np.testing.assert_allclose(np.cov(z.T), fit.covariance_, atol=0.01, rtol=0.05)
    # the joint structure is kept: the dimensions' correlations are those of the codes
    assert abs(np.corrcoef(z.T)[0, 1] - np.corrcoef(codes.T)[0, 1]) < 0.05


def test_near_anchor_push_moves_along_the_direction(anchors):
    from hyperreps.sampling.latent_priors import gaussian_fit, near_anchor_draw

    u = np.zeros(anchors.shape[1])
    u[3] = 2.0  # normalised inside
    plain, pick = near_anchor_draw(anchors, 500, 1, scale=0.01)
    pushed, pick2 = near_anchor_draw(anchors, 500, 1, scale=0.01, direction=u, push=0.1)
    np.testing.assert_array_equal(pick, pick2)
    spread = np.sqrt(np.trace(gaussian_fit(anchors)[1]))
    shift = pushed.astype(np.float64) - plain
    inside = np.abs(plain[:, 3] + 0.1 * spread) < 1  # rows the box does not clip
    assert inside.any()
    np.testing.assert_allclose(shift[:, np.arange(len(u)) != 3], 0, atol=1e-6)
    np.testing.assert_allclose(shift[inside, 3], 0.1 * spread, rtol=1e-4)


def test_accuracy_direction_finds_the_accuracy_axis():
    from hyperreps.generative.populations import accuracy_direction

    rng = np.random.default_rng(0)
    codes = rng.normal(0, 0.3, (200, 6))
    acc = 0.5 + 0.3 * codes[:, 2] + 0.01 * rng.standard_normal(200)
    u = accuracy_direction(codes, acc)
    assert np.linalg.norm(u) == pytest.approx(1.0) and u[2] > 0.99
