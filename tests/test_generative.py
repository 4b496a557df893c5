"""Populations (samplers, novelty baselines), novelty metrics, fine-tuning and ensembles."""

import numpy as np
import pytest
import torch

from hyperreps.architecture import init_parameters, zoo_cnn_layout
from hyperreps.autoencoder.model import HyperAutoencoder
from hyperreps.autoencoder.train import encode_weights
from hyperreps.generative.finetune import (accuracy_table, ensemble_accuracy, finetune_populations,
                                           finetune_settings)
from hyperreps.generative.populations import (Anchors, anchor_set, generate_populations, novelty,
                                              population_zoo)
from hyperreps.trainer.evaluate import class_probabilities, evaluate_weights
from helpers import TINY, make_zoo, small_split

LAYOUT = zoo_cnn_layout(1)


def _anchors(n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.stack([init_parameters(LAYOUT, "kaiming_uniform", s) for s in range(n)])
    models = {v: HyperAutoencoder(LAYOUT, TINY).eval() for v in ("lwln", "baseline")}
    emb = {v: encode_weights(m, w).numpy() for v, m in models.items()}
    acc = torch.rand(n, generator=g).numpy()
    top = acc >= np.quantile(acc, 0.7)
    return Anchors(w, acc, top, emb, w[:8]), models


def test_anchor_set_takes_the_train_split_window_and_top_30_percent():
    zoo = make_zoo(n_models=10, n_epochs=6, diverged=(3,))
    split = {"train": [0, 1, 2, 3, 4, 5], "val": [6, 7], "test": [8, 9]}
    emb = {"lwln": torch.randn(10, 6, 4)}
    a = anchor_set(zoo, split, (2, 4), emb)
    assert len(a.weights) == 5 * 3  # model 3 diverged at epoch 1: its checkpoints are NaN
    assert a.top.sum() == (a.acc >= np.quantile(a.acc, 0.7)).sum() >= 0.3 * len(a.acc)
    assert a.embeddings["lwln"].shape == (15, 4) and len(a.last_epoch_models) == 5


def test_every_population_has_its_size_and_the_baselines_their_construction():
    anchors, models = _anchors()
    settings = dict(n_models=6, noise_std=0.05, populations=[
        "S_U", "S_C", "S_KDE", "S_KDE30", "S_GAN30", "B_KDE30", "S_Gauss30", "S_GMM30",
        "S_Flow30", "S_Near30", "S_Edit30", "S_EditP30", "N_noise", "N_avg", "B_F"],
        gan={"epochs": 2, "generator_hidden": [8], "discriminator_hidden": [8]},
        gmm={"n_components": 2}, flow={"steps": 3, "hidden": [8]})
    pops = generate_populations(anchors, models, settings, seed=1)
    assert list(pops) == settings["populations"]
    for name, w in pops.items():
        assert w.shape == (6, LAYOUT.n_params), name
        assert torch.isfinite(w).all(), name
    top = anchors.weights[anchors.top]
    # N_noise: a top checkpoint plus noise of the configured scale
    d = torch.cdist(pops["N_noise"].double(), top.double()).min(1).values
    assert torch.allclose(d / LAYOUT.n_params ** 0.5, torch.full((6,), 0.05, dtype=torch.double),
                          rtol=0.1)
    # N_avg: each model is the mean of 2 or 3 top checkpoints
    for row in pops["N_avg"]:
        ok = any(torch.allclose(row, top[list(c)].mean(0), atol=1e-6)
                 for c in _subsets(len(top)))
        assert ok
    # B_F: training models as they are
    assert all((pops["B_F"][i] == anchors.last_epoch_models).all(1).any() for i in range(6))
    # same seed, same populations
    again = generate_populations(anchors, models, settings, seed=1)
    assert all(torch.equal(again[k], pops[k]) for k in pops)


def test_latent_edit_keeps_the_anchor_and_adds_only_the_decoders_displacement():
    from hyperreps.generative.populations import latent_edit

    anchors, models = _anchors()
    top_w = anchors.weights[anchors.top]
    top_z = anchors.embeddings["lwln"][anchors.top]
    # a vanishing move: each edit is its anchor's own weights, not the anchor's reconstruction
    still = latent_edit(models["lwln"], top_w, top_z, 5, 0, {"scale": 1e-9})
    d = torch.cdist(still.double(), top_w.double()).min(1).values
    assert d.max() < 1e-4
    # a real move: the displacement is D(z') - D(z_a), so it grows with the scale
    near = latent_edit(models["lwln"], top_w, top_z, 5, 0, {"scale": 0.1})
    far = latent_edit(models["lwln"], top_w, top_z, 5, 0, {"scale": 1.0})
    dn = torch.cdist(near.double(), top_w.double()).min(1).values
    df = torch.cdist(far.double(), top_w.double()).min(1).values
    assert (dn > 1e-4).all() and (df > dn).all()


def test_n_noise_matches_the_novelty_of_a_sampled_population():
    anchors, models = _anchors()
    settings = dict(n_models=12, noise_std=0.05, noise_match="S_KDE30",
                    populations=["N_noise", "S_KDE30"])  # N_noise listed first on purpose
    pops = generate_populations(anchors, models, settings, seed=3)
    assert list(pops) == ["N_noise", "S_KDE30"]
    dist = {k: torch.cdist(w.double(), anchors.weights.double()).min(1).values.median().item()
            for k, w in pops.items()}
    assert dist["N_noise"] == pytest.approx(dist["S_KDE30"], rel=0.1)
    # without noise_match the configured std holds, whatever S_KDE30 is
    plain = generate_populations(anchors, models, dict(settings, noise_match=None), seed=3)
    d = torch.cdist(plain["N_noise"].double(), anchors.weights.double()).min(1).values
    assert d.median().item() == pytest.approx(0.05 * LAYOUT.n_params ** 0.5, rel=0.1)
    with pytest.raises(ValueError, match="noise_match"):
        generate_populations(anchors, models, dict(settings, populations=["N_noise"]), seed=3)


def _subsets(n):
    from itertools import combinations
    return [c for k in (2, 3) for c in combinations(range(n), k)]


def test_population_needing_a_missing_autoencoder_is_refused():
    anchors, models = _anchors()
    with pytest.raises(ValueError, match="baseline autoencoder"):
        generate_populations(anchors, {"lwln": models["lwln"]},
                             dict(n_models=2, populations=["B_KDE30"]), seed=0)


def test_novelty_of_a_copy_is_zero_distance_and_full_agreement(digits):
    anchors, _ = _anchors(6)
    copy = anchors.weights[[2, 4]]
    far = copy + 0.5 * torch.randn_like(copy)
    broken = torch.full((1, LAYOUT.n_params), float("nan"))
    dist, idx, agree = novelty(torch.cat([copy, far, broken]), anchors.weights, "tanh",
                               small_split(digits.test))
    assert dist[:2] == pytest.approx([0, 0], abs=1e-6) and list(idx[:2]) == [2, 4]
    assert agree[:2] == pytest.approx([1, 1])
    assert (dist[2:4] > 10).all() and (agree[2:4] < 1).all()
    assert np.isnan(dist[4]) and idx[4] == -1 and np.isnan(agree[4])


def test_finetuning_starts_from_the_given_weights_and_marks_broken_models(small_digits):
    hp = finetune_settings(make_zoo(n_models=2))
    w = torch.stack([init_parameters(LAYOUT, "kaiming_uniform", s) for s in range(3)])
    bad = torch.full((1, LAYOUT.n_params), float("nan"))
    data = small_digits
    tuned = finetune_populations({"A": w[:2], "B": torch.cat([w[2:], bad])}, hp, data,
                                 epochs=1, seed=0)
    assert tuned.weights.shape == (4, 2, LAYOUT.n_params)
    assert torch.equal(tuned.weights[:3, 0], w)
    _, acc0 = evaluate_weights(w, "tanh", data.test)
    assert tuned.metric("test_acc")[:3, 0] == pytest.approx(acc0, abs=1e-6)
    models = tuned.models()
    assert models["population"].tolist() == ["A", "A", "B", "B"]
    assert models["diverged"].tolist() == [False, False, False, True]
    assert np.isnan(tuned.metric("test_acc")[3]).all()
    # B_T joins the table from the target zoo's test split
    target = make_zoo(n_models=4, n_epochs=3)
    table = accuracy_table(tuned, target, {"test": [1, 3]},
                           {"nn_distance": np.arange(4.0), "nn_agreement": np.ones(4)})
    assert set(table["population"]) == {"A", "B", "B_T"}
    assert len(table[table["population"] == "B_T"]) == 2 * 3
    assert table.loc[table["population"] == "B", "nn_distance"].unique().tolist() == [2.0, 3.0]


def test_finetuning_takes_the_target_zoos_hyperparameters_activation_included(small_digits):
    # a tanh source fine-tuned on a relu target (CIFAR-10 gelu <-> STL-10 tanh in the paper)
    target = make_zoo(n_models=3, activation="relu")
    hp = finetune_settings(target)
    assert hp == dict(activation="relu", init="uniform", optimizer="adam", lr=3e-4,
                      weight_decay=0.0, dropout=0.0, batch_size=10)
    w = torch.stack([init_parameters(LAYOUT, "uniform", s) for s in range(2)])
    tuned = finetune_populations({"A": w}, hp, small_digits, epochs=1, seed=0)
    assert tuned.models()["activation"].tolist() == ["relu", "relu"]
    _, relu = evaluate_weights(w, "relu", small_digits.test)
    _, tanh = evaluate_weights(w, "tanh", small_digits.test)
    assert tuned.metric("test_acc")[:, 0] == pytest.approx(relu, abs=1e-6)
    assert not np.allclose(relu, tanh)
    # a target whose models differ (a hyperparameter grid) has no one setting to take
    mixed = make_zoo(n_models=2)
    mixed.metadata.loc[mixed.metadata["model_id"] == 1, "activation"] = "gelu"
    with pytest.raises(ValueError, match="2 values of 'activation'"):
        finetune_settings(mixed)


def test_population_zoo_round_trips(tmp_path):
    from hyperreps.zoo import load_zoo, save_zoo
    w = torch.randn(3, LAYOUT.n_params)
    w[1, 0] = float("nan")
    save_zoo(tmp_path / "p", population_zoo(w, "S_KDE", LAYOUT, "digits", "tanh"))
    z = load_zoo(tmp_path / "p")
    assert torch.equal(z.weights[[0, 2], 0], w[[0, 2]])
    assert z.models()["diverged"].tolist() == [False, True, False]


def test_ensembles_average_probabilities_not_votes():
    # three members, two images: the mean of probabilities disagrees with a majority vote
    probs = torch.tensor([[[0.45, 0.55], [0.9, 0.1]],
                          [[0.45, 0.55], [0.9, 0.1]],
                          [[1.0, 0.0], [0.9, 0.1]]])
    labels = torch.tensor([0, 0])
    table = ensemble_accuracy(probs, labels, max_size=3, draws=4, seed=0)
    assert table["size"].tolist() == [1, 2, 3]
    full = table.set_index("size").loc[3]
    assert full["accuracy_mean"] == pytest.approx(1.0) and full["accuracy_std"] == 0  # votes: 0.5
    assert table.loc[0, "accuracy_mean"] <= 1.0


def test_class_probabilities_sum_to_one(digits):
    w = torch.stack([init_parameters(LAYOUT, "kaiming_uniform", s) for s in range(2)])
    p = class_probabilities(w, "tanh", small_split(digits.test, 16))
    assert p.shape == (2, 16, 10)
    assert torch.allclose(p.sum(-1), torch.ones(2, 16), atol=1e-5)


def test_reconstructed_vs_original_pairs_share_seeds(small_digits):
    """Fig. 6: a 'reconstruction' equal to the original trains identically (same seed per
    pair), so the pair's distance stays 0; a perturbed one starts at its perturbation."""
    from hyperreps.generative.finetune import reconstructed_finetuning

    hp = finetune_settings(make_zoo(n_models=2))
    w = torch.stack([init_parameters(LAYOUT, "kaiming_uniform", s) for s in range(3)])
    acc, dist = reconstructed_finetuning(w, w.clone(), hp, small_digits, 2, 5, LAYOUT)
    assert set(acc.population) == {"w", "w_hat"} and len(acc) == 2 * 3 * 3
    assert dist.distance.abs().max() == 0 and (dist.cosine > 1 - 1e-9).all()
    a = acc.pivot_table(index=["pair", "epoch"], columns="population", values="test_acc")
    assert np.array_equal(a.w.to_numpy(), a.w_hat.to_numpy())
    bump = torch.zeros_like(w)
    bump[:, 0] = 1.0
    _, dist = reconstructed_finetuning(w, w + bump, hp, small_digits, 1, 5, LAYOUT)
    assert dist[dist.epoch == 0].distance.to_numpy() == pytest.approx([1.0] * 3)
    assert (dist[dist.epoch == 1].distance > 0).all()
