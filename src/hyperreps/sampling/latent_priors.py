"""Latent priors that keep the joint structure of the codes (issue 22).

The paper's S_KDE samples every latent dimension on its own, which breaks the dependence between
dimensions that the decoder relies on (docs/experiments.md: S_KDE30 is the worst sampler on both
novelty axes). These samplers model the anchors' codes jointly; like every sampler they take
anchors ``[N, d]`` and return ``float32 [n, d]`` clipped to the tanh box ``[-1, 1]^d``:

``gaussian`` (S_Gauss30)
    One multivariate Gaussian: the anchors' mean and a Ledoit-Wolf shrunk covariance
    (``sklearn.covariance.LedoitWolf``; with fewer anchors than dimensions the sample covariance
    is singular, shrinkage towards a scaled identity makes it full rank), times ``scale``.
``gmm`` (S_GMM30)
    ``sklearn.mixture.GaussianMixture`` with ``n_components`` full-covariance components and
    ``reg_covar`` added to their diagonals (the same reason as the shrinkage above).
``near_anchor`` (S_Near30, and S_Edit30's codes)
    An anchor's code plus Gaussian noise with the anchors' shrunk covariance times ``scale``:
    samples stay near the anchors, moving along the directions in which the codes vary.
``latent_mix`` (S_LatMix30, and S_LatMixEdit30's codes)
    A convex mix of an anchor's code and ``k - 1`` distant anchors' codes (farther from it
    than the ``distant`` quantile of its distances), with Dirichlet weights: the
    autoencoder's counterpart of mixing independent solutions in weight space (issue 32).
``flow`` (S_Flow30)
    A learned prior as in D2NWG and p-diff, which model their latent spaces generatively: flow
    matching (rectified flow; Lipman et al. 2023, Liu et al. 2023) of a small MLP velocity
    field from a standard normal to the anchors' codes (standardised per dimension), sampled by
    Euler integration. With few anchors the exact minimiser of the flow-matching loss transports
    noise onto the anchors themselves, so training length and width decide how far samples stay
    from copies: the novelty columns show where it landed.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.mixture import GaussianMixture
from torch import nn

from .latent_space import check_anchors, check_n, check_positive, positive_ints


def _in_box(z: np.ndarray) -> np.ndarray:
    if not np.isfinite(z).all():
        raise RuntimeError("a latent prior produced non-finite codes")
    return np.clip(z, -1.0, 1.0).astype(np.float32)


def gaussian_fit(anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[d]`` and Ledoit-Wolf shrunk covariance ``[d, d]`` of the anchors."""
    a = check_anchors(anchors)
    return a.mean(axis=0), LedoitWolf().fit(a).covariance_


def covariance_root(cov: np.ndarray) -> np.ndarray:
    """``R`` with ``R R^T = cov`` by eigenvalues: the shrunk covariance is symmetric positive
    definite, and this stays stable where a Cholesky of a nearly singular matrix is not."""
    values, vectors = np.linalg.eigh(cov)
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def sample_gaussian(anchors: np.ndarray, n: int, seed: int, *, scale: float = 1.0) -> np.ndarray:
    """S_Gauss: ``z ~ N(mean, scale^2 * Sigma_LW)`` of the anchors, clipped to the box."""
    n = check_n(n)
    scale = check_positive("scale", scale)
    mean, cov = gaussian_fit(anchors)
    root = covariance_root(cov)
    eps = np.random.default_rng(seed).standard_normal((n, len(mean)))
    return _in_box(mean + scale * eps @ root.T)


def near_anchor_draw(anchors: np.ndarray, n: int, seed: int, *, scale: float = 0.2,
                     direction: np.ndarray | None = None, push: float = 0.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``anchors[pick] + scale * eps + push * spread * direction``, ``eps ~ N(0,
    Sigma_LW)``, clipped to the box, and the picked anchor of each (S_Edit30 needs it).
    ``spread`` is ``sqrt(trace(Sigma_LW))``, the typical length of ``eps``; ``direction`` (unit
    length) is e.g. the accuracy probe's (S_EditP30)."""
    a = check_anchors(anchors)
    n = check_n(n)
    scale = check_positive("scale", scale)
    _, cov = gaussian_fit(a)
    root = covariance_root(cov)
    rng = np.random.default_rng(seed)
    pick = rng.integers(len(a), size=n)
    moved = a[pick] + scale * rng.standard_normal((n, a.shape[1])) @ root.T
    if direction is not None and push:
        u = np.asarray(direction, dtype=np.float64)
        moved = moved + push * float(np.sqrt(np.trace(cov))) * u / np.linalg.norm(u)
    return _in_box(moved), pick


def sample_near_anchor(anchors: np.ndarray, n: int, seed: int, *, scale: float = 0.2
                       ) -> np.ndarray:
    """S_Near: :func:`near_anchor_draw` without the picks."""
    return near_anchor_draw(anchors, n, seed, scale=scale)[0]


def latent_mix_draw(anchors: np.ndarray, n: int, seed: int, *, k: int = 2,
                    concentration: float = 1.0, distant: float = 0.5
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``sum_j a_j z_j`` of an anchor picked at random (``j = 0``, returned as its pick)
    and ``k - 1`` others drawn from those farther from it than the ``distant`` quantile of its
    distances to every anchor, ``a ~ Dirichlet(concentration)``, clipped to the box."""
    a = check_anchors(anchors)
    n, k = check_n(n), int(k)
    concentration = check_positive("concentration", concentration)
    if not (k >= 2 and len(a) >= k):
        raise ValueError(f"latent mixes of k={k} need k >= 2 and at least k anchors, got "
                         f"{len(a)}")
    if not 0 <= distant < 1:
        raise ValueError(f"distant must be in [0, 1), got {distant}")
    rng = np.random.default_rng(seed)
    pick = rng.integers(len(a), size=n)
    dist = np.linalg.norm(a[:, None, :] - a[None, :, :], axis=2)
    codes = np.empty((n, a.shape[1]))
    for i, p in enumerate(pick):
        far = np.flatnonzero(dist[p] > np.quantile(dist[p], distant))
        far = far if len(far) >= k - 1 else np.argsort(dist[p])[-(k - 1):]
        rows = np.concatenate([[p], rng.choice(far, size=k - 1, replace=False)])
        codes[i] = rng.dirichlet(np.full(k, concentration)) @ a[rows]
    return _in_box(codes), pick


def sample_latent_mix(anchors: np.ndarray, n: int, seed: int, *, k: int = 2,
                      concentration: float = 1.0, distant: float = 0.5) -> np.ndarray:
    """S_LatMix: :func:`latent_mix_draw` without the picks."""
    return latent_mix_draw(anchors, n, seed, k=k, concentration=concentration,
                           distant=distant)[0]


def sample_gmm(anchors: np.ndarray, n: int, seed: int, *, n_components: int = 8,
               reg_covar: float = 1e-3) -> np.ndarray:
    """S_GMM: a full-covariance Gaussian mixture of the anchors (``n_components`` clipped to
    the number of anchors), clipped to the box."""
    a = check_anchors(anchors)
    n = check_n(n)
    k = min(positive_ints("n_components", n_components)[0], len(a))
    gmm = GaussianMixture(k, covariance_type="full", reg_covar=check_positive("reg_covar",
                                                                              reg_covar),
                          random_state=seed).fit(a)
    # GaussianMixture.sample draws from its own random_state and returns samples sorted by
    # component: shuffle so that the first rows of a larger draw are not all one component
    z, _ = gmm.sample(n)
    return _in_box(np.random.default_rng(seed).permutation(z))


class _Velocity(nn.Module):
    """The flow's velocity field ``v(x, t)``: an MLP on ``[x, t]``."""

    def __init__(self, d: int, hidden: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        sizes = [d + 1, *hidden]
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.SiLU()]
        layers.append(nn.Linear(sizes[-1], d))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, t], dim=1))


def sample_flow(anchors: np.ndarray, n: int, seed: int, *, hidden=(256, 256), steps: int = 1500,
                batch_size: int = 128, lr: float = 1e-3, integration_steps: int = 50
                ) -> np.ndarray:
    """S_Flow: flow matching from ``N(0, I)`` to the standardised anchors, then ``n`` Euler
    integrations of ``integration_steps`` steps; CPU, deterministic for a seed (the global
    torch RNG is left as it was)."""
    a = check_anchors(anchors)
    n = check_n(n)
    hidden = positive_ints("hidden", hidden)
    steps, batch_size, integration_steps = (positive_ints(k, v)[0] for k, v in (
        ("steps", steps), ("batch_size", batch_size), ("integration_steps", integration_steps)))
    lr = check_positive("lr", lr)
    mean, std = a.mean(axis=0), a.std(axis=0) + 1e-6
    x1_all = torch.as_tensor((a - mean) / std, dtype=torch.float32)
    d = a.shape[1]
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        field = _Velocity(d, hidden)
    opt = torch.optim.Adam(field.parameters(), lr=lr)
    for _ in range(steps):
        x1 = x1_all[torch.randint(len(a), (batch_size,), generator=gen)]
        x0 = torch.randn(batch_size, d, generator=gen)
        t = torch.rand(batch_size, 1, generator=gen)
        loss = ((field((1 - t) * x0 + t * x1, t) - (x1 - x0)) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        x = torch.randn(n, d, generator=gen)
        dt = 1.0 / integration_steps
        for i in range(integration_steps):
            x = x + dt * field(x, torch.full((n, 1), i * dt))
    return _in_box(x.double().numpy() * std + mean)
