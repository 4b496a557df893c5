"""Fig. 3 (robustness, smoothness) and Table 9 (cross-zoo reconstruction) on an exact
linear autoencoder, where every answer is known."""

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from helpers import make_zoo
from hyperreps.data import SplitData
from hyperreps.representation.reconstruction import cross_zoo_reconstruction
from hyperreps.representation.robustness import (interpolation_smoothness, noise_robustness,
                                                 smoothness_summary)
from hyperreps.trainer.evaluate import evaluate_weights


class LinearAutoencoder(nn.Module):
    """z = w Q, w = z Q^T with Q orthogonal: reconstructs every model exactly."""

    def __init__(self, layout, seed=0):
        super().__init__()
        self.layout = layout
        q, _ = torch.linalg.qr(torch.randn(layout.n_params, layout.n_params,
                                           generator=torch.Generator().manual_seed(seed)))
        self.register_buffer("q", q)
        self.arch = SimpleNamespace(latent_dim=layout.n_params)

    def encode(self, w):
        return w @ self.q

    def decode(self, z):
        return z @ self.q.T


def _setup(n_models=10, n_epochs=4):
    zoo = make_zoo(n_models, n_epochs, seed=3)
    zoo.weights *= 0.3
    split = {"train": list(range(0, 4)), "val": [4], "test": list(range(5, n_models))}
    g = torch.Generator().manual_seed(0)
    data = SplitData(torch.randn(40, 1, 28, 28, generator=g),
                     torch.randint(0, 10, (40,), generator=g))
    return zoo, split, data, LinearAutoencoder(zoo.layout)


def test_noise_robustness_exact_without_noise_and_degrades_with_it():
    zoo, split, data, ae = _setup()
    mean = zoo.weights[:4, 3].mean(0)
    table = noise_robustness(ae, mean, zoo, split, data, epoch=3, levels=(0.0, 0.01, 3.0))
    assert list(table.relative_noise) == [0.0, 0.01, 3.0]
    assert abs(table.r2.iloc[0] - 1) < 1e-5  # exact autoencoder, no noise
    assert abs(table.acc_mean.iloc[0] - table.acc_original.iloc[0]) < 1e-6
    assert table.r2.iloc[1] > 0.99 and table.r2.iloc[2] < table.r2.iloc[1]
    assert (table.n_models == 5).all()


def test_interpolation_ends_are_the_two_models():
    zoo, split, data, ae = _setup()
    curves = interpolation_smoothness(ae, zoo, split, data, trajectory_epochs=(1, 3),
                                      pair_epoch=3, n_pairs=7, steps=5)
    assert set(curves.scheme) == {"trajectory", "between"}
    traj = curves[curves.scheme == "trajectory"]
    assert traj.pair.nunique() == 5 and sorted(traj.alpha.unique()) == [0, 0.25, 0.5, 0.75, 1]
    test = zoo.select(split["test"])
    _, acc_start = evaluate_weights(test.weights[:, 1], "tanh", data)
    _, acc_end = evaluate_weights(test.weights[:, 3], "tanh", data)
    start = traj[traj.alpha == 0].sort_values("pair").test_acc.to_numpy()
    end = traj[traj.alpha == 1].sort_values("pair").test_acc.to_numpy()
    assert np.allclose(start, acc_start, atol=1e-6) and np.allclose(end, acc_end, atol=1e-6)
    between = curves[curves.scheme == "between"]
    assert (between.model_a != between.model_b).all() and between.pair.nunique() == 7
    summary = smoothness_summary(curves)
    assert set(summary.columns) >= {"scheme", "alpha", "acc_mean", "acc_std", "mean_max_dip"}
    assert (summary.n_pairs[summary.scheme == "trajectory"] == 5).all()


def test_cross_zoo_reconstruction_of_an_exact_autoencoder():
    zoo, split, data, ae = _setup()
    info = {"metrics": {"layer_sigma": [1.0] * len(zoo.layout.layers)}}
    tensors = {"train_mean": zoo.weights[:4, 1:4].reshape(-1, zoo.layout.n_params).mean(0)}
    r = cross_zoo_reconstruction(ae, info, tensors, zoo, split, (1, 3), data)
    assert r["n_checkpoints"] == 15  # 5 test models x 3 epochs
    assert abs(r["r2"] - 1) < 1e-5 and abs(r["r2_lwln"] - 1) < 1e-5
    assert abs(r["acc_decoded"] - r["acc_original"]) < 1e-6
