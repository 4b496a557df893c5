"""Zoo-structure diagnostics: the PCA ceiling and the init-deviation correlation."""

import numpy as np
import pytest
import torch

from hyperreps.zoos.diagnostics import (zoo_diagnostics, init_deviation_correlation, pca_basis,
                                        pca_r2, summary_table)
from hyperreps.metrics import r_squared
from hyperreps.splits import split_models

from helpers import make_zoo


def test_pca_r2_of_data_in_a_subspace():
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(50, 3, generator=g, dtype=torch.float64))[0].T  # [3, 50]
    train = torch.randn(40, 3, generator=g, dtype=torch.float64) @ basis
    held = torch.randn(10, 3, generator=g, dtype=torch.float64) @ basis
    mean, vh = pca_basis(train)
    r2 = pca_r2(mean, vh, held, [1, 2, 3, 10])
    assert r2[3] == pytest.approx(1.0, abs=1e-9) and r2[10] == pytest.approx(1.0, abs=1e-9)
    assert r2[1] < r2[2] < r2[3]
    # brute force for k = 2: project on the top two directions by hand
    x = held - mean
    proj = x @ vh[:2].T @ vh[:2]
    assert r2[2] == pytest.approx(1 - float(((x - proj) ** 2).sum() / (x ** 2).sum()))


def test_pca_r2_of_unrelated_held_out_models_is_about_zero():
    g = torch.Generator().manual_seed(1)
    train, held = torch.randn(30, 200, generator=g), torch.randn(30, 200, generator=g)
    mean, vh = pca_basis(train)
    r2 = pca_r2(mean, vh, held, [5, 29])
    assert abs(r2[5]) < 0.1 and r2[29] < 0.25  # only chance overlap of random subspaces


def test_pca_r2_is_r_squared_of_the_rank_k_reconstruction():
    # the analytic residual equals metrics.r_squared of mean + proj_k with the training mean
    # as baseline, for every k (k past the basis' rank is capped)
    g = torch.Generator().manual_seed(3)
    mix = torch.randn(30, 30, generator=g, dtype=torch.float64)
    train = torch.randn(20, 30, generator=g, dtype=torch.float64) @ mix + 0.5
    held = torch.randn(12, 30, generator=g, dtype=torch.float64) @ mix
    mean, vh = pca_basis(train)
    widths = [0, 1, 3, 7, 19, 20, 50]
    r2 = pca_r2(mean, vh, held, widths)
    for k in widths:
        b = vh[:min(k, vh.shape[0])]
        proj_k = (held - mean) @ b.T @ b
        assert r2[k] == pytest.approx(r_squared(mean + proj_k, held, mean), rel=1e-12, abs=1e-12)
    assert r2[0] == pytest.approx(0.0, abs=1e-12) and r2[50] == r2[20]


def test_init_deviation_correlation():
    g = torch.Generator().manual_seed(2)
    w0 = torch.randn(20, 100, generator=g)
    assert np.allclose(init_deviation_correlation(w0, w0 * 2 + 5), 1.0)
    fresh = torch.randn(20, 100, generator=g)
    assert np.abs(init_deviation_correlation(w0, fresh)).max() < 0.5
    mixed = init_deviation_correlation(w0, w0 + fresh)  # half init, half new: ~1/sqrt(2)
    assert np.median(mixed) == pytest.approx(2 ** -0.5, abs=0.1)


def test_diagnose_zoo_reads_a_zoo_with_shared_structure():
    zoo = make_zoo(n_models=40, n_epochs=4)
    g = torch.Generator().manual_seed(3)
    directions = torch.randn(4, zoo.layout.n_params, generator=g)
    coords = torch.randn(40, 4, generator=g)
    # epochs 1-3: shared low-rank structure, unrelated to the random init at epoch 0
    for e in (1, 2, 3):
        zoo.weights[:, e] = coords @ directions + 0.01 * torch.randn(
            40, zoo.layout.n_params, generator=g)
    split = split_models(zoo)
    d = zoo_diagnostics(zoo, split, (1, 3), code_width=4, widths=(1, 2, 4, 8))
    s = d.summary
    assert abs(s["init_correlation_median"]) < 0.2
    assert s["pca_ceiling_at_code_width"] > 0.99 and s["code_width"] == 4
    assert list(d.ceiling_by_width["k"]) == [1, 2, 4, 8]
    P = zoo.layout.n_params
    assert list(d.ceiling_by_width["random_subspace"]) == [k / P for k in (1, 2, 4, 8)]
    assert s["full_rank"] == len(split["train"]) * 3 and s["pca_ceiling_full_rank"] > 0.99
    assert d.ceiling_by_width["r2_test"].is_monotonic_increasing
    assert set(d.per_model["model_id"]) == set(split["train"] + split["val"] + split["test"])
    assert d.ceiling_by_models["n_train_models"].max() == len(split["train"])
    table = summary_table(d)
    assert "PCA ceiling (test R²) at the code width 4" in table["quantity"].tolist()
    # a zoo that is only its init (structure-free) gets a ceiling near 0 and correlation 1
    noise = make_zoo(n_models=40, n_epochs=4, seed=5)
    noise.weights[:, 1:] = noise.weights[:, :1] * 1.01
    d2 = zoo_diagnostics(noise, split_models(noise), (1, 3), code_width=4, widths=(4,))
    assert d2.summary["init_correlation_median"] > 0.99
    assert d2.summary["pca_ceiling_at_code_width"] < 0.1


def test_diagnose_zoo_rejects_a_window_outside_the_zoo():
    zoo = make_zoo(n_models=10, n_epochs=3)
    with pytest.raises(ValueError, match="window"):
        zoo_diagnostics(zoo, split_models(zoo), (1, 5), code_width=4)


def test_diagnose_zoo_without_held_out_models_reports_no_ceiling():
    zoo = make_zoo(n_models=3, n_epochs=3)
    split = {"train": [0, 1, 2], "val": [], "test": []}
    d = zoo_diagnostics(zoo, split, (1, 2), code_width=4, widths=(2, 4))
    assert np.isnan(d.summary["pca_ceiling_at_code_width"])
    assert d.ceiling_by_models.empty and list(d.ceiling_by_models.columns)[-1] == "full_rank"
