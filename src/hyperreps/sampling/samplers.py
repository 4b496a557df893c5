"""Latent-space samplers: draw new embeddings z from a set of anchor embeddings.

The samplers of "Hyper-Representations as Generative Models" (Schürholt et al., NeurIPS 2022,
§3.2 and App. E). They see embeddings only (numpy arrays ``[N, d]``); decoding z to weights
happens elsewhere. The encoder ends in tanh, so the latent space is the box ``[-1, 1]^d``.

Each sampler is ``sample_xxx(anchors, n, seed, **settings) -> float32 [n, d]``;
:func:`draw_latents` dispatches by name:

``uniform`` (S_U)
    ``z ~ U(-1, 1)^d``, blind to the anchors.
``kde`` (S_KDE)
    As in the reference code: one 1-D scikit-learn ``KernelDensity(kernel="gaussian",
    bandwidth=0.002)`` per latent dimension, fitted on that dimension of the anchors, each
    dimension sampled on its own. **Deliberate deviation:** the reference samples every
    dimension with ``random_state=42``; scikit-learn then picks the same anchor index and
    the same standard-normal draw in every dimension, so each "sample" is an anchor shifted
    by ``bandwidth * eps`` along the all-ones direction - a copy, not a new point. Here each
    dimension gets its own random state (``SeedSequence(seed).generate_state(d)``), which
    makes the dimensions independent as the method intends: sample coordinates follow the
    anchors' marginals, but a sample combines coordinates of different anchors.
``kde_reference`` (S_KDE30_ref)
    The reference code's procedure kept as published, to be reported beside the corrected
    one: the same per-dimension KDE, but every dimension sampled with ``random_state=42``
    (whatever ``seed`` is). Each sample is then an anchor embedding shifted along the
    all-ones direction by one ``bandwidth``-sized draw: a near-copy (2025 memorisation audit).
``counterfactual`` (S_C)
    The paper only says these are "sampled from regions of low density" of the anchors,
    in contrast to S_KDE. Our construction: a candidate pool of ``pool_factor * n`` points
    drawn uniformly in a box (``box="anchors"``: the anchors' per-dimension min/max,
    the default; ``box="tanh"``: ``[-1, 1]^d``), scored by a multivariate Gaussian
    ``KernelDensity`` fitted on the anchors; the ``n`` candidates of lowest log-density are
    kept. The bandwidth defaults to :func:`scott_bandwidth` (Scott's rule with one isotropic
    scale, see there).
``neigh`` (S_Neigh)
    ``umap.UMAP(n_neighbors=15, min_dist=0.01, n_components=3, metric="euclidean",
    random_state=seed)`` fitted on the anchors (``n_neighbors`` clipped to ``N - 1`` for tiny
    anchor sets); points drawn uniformly in the per-dimension ``[min, max]`` box of the UMAP
    coordinates are mapped back with ``inverse_transform`` and clipped to ``[-1, 1]``. Box
    points outside the convex hull of the UMAP coordinates are placed by UMAP's nearest
    Delaunay simplex, as in the reference. Needs ``N >= n_components + 2`` anchors (the
    Delaunay triangulation of the UMAP coordinates needs a full-dimensional simplex).
``gan`` (S_GAN)
    The latent GAN of 2022 App. E.2 trained on the anchors; see :func:`train_latent_gan`.

The "30" variants (S_KDE30, ...) are the same samplers fitted on the best anchors only: the
caller selects them with :func:`top_fraction_mask`. How far samples are from their nearest
anchor (novelty check) is :func:`hyperreps.metrics.nearest_anchor`. Which population uses which
sampler is :data:`hyperreps.generative.populations.LATENT_POPULATIONS`.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np
from sklearn.neighbors import KernelDensity

from .latent_gan import gan_samples, sample_gan, train_latent_gan
from .latent_priors import (sample_flow, sample_gaussian, sample_gmm, sample_latent_mix,
                            sample_near_anchor)
from .latent_space import MIN_ANCHORS, check_anchors, check_n, check_positive, top_fraction_mask

__all__ = ["SAMPLERS", "draw_latents", "gan_samples", "kde_log_density", "sample_counterfactual",
           "sample_flow", "sample_gan", "sample_gaussian", "sample_gmm", "sample_kde",
           "sample_kde_reference", "sample_latent_mix", "sample_near_anchor", "sample_neigh",
           "sample_uniform", "scott_bandwidth", "top_fraction_mask", "train_latent_gan",
           "MIN_ANCHORS"]


def sample_uniform(anchors: np.ndarray, n: int, seed: int) -> np.ndarray:
    """S_U: ``z ~ U(-1, 1)^d``; the anchors only give ``d``."""
    d = check_anchors(anchors).shape[1]
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(check_n(n), d)).astype(np.float32)


def sample_kde(anchors: np.ndarray, n: int, seed: int, *,
               bandwidth: float = 0.002) -> np.ndarray:
    """S_KDE: a 1-D Gaussian KDE per latent dimension, dimensions sampled independently.

    Each dimension gets its own random state from ``SeedSequence(seed)`` (the reference
    shares ``random_state=42`` across dimensions, which makes samples shifted anchor
    copies; see the module docstring)."""
    a = check_anchors(anchors)
    return _kde_per_dimension(a, n, bandwidth,
                              np.random.SeedSequence(seed).generate_state(a.shape[1]))


def _kde_per_dimension(a: np.ndarray, n: int, bandwidth: float, states) -> np.ndarray:
    """One 1-D Gaussian KDE per dimension of the anchors ``a``, dimension j sampled with
    random state ``states[j]``."""
    n = check_n(n)
    bandwidth = check_positive("bandwidth", bandwidth)
    out = np.empty((n, a.shape[1]), dtype=np.float32)
    for j, state in enumerate(states):
        kde = KernelDensity(kernel="gaussian", bandwidth=bandwidth).fit(a[:, j:j + 1])
        out[:, j] = kde.sample(n, random_state=int(state))[:, 0]
    return out


REFERENCE_KDE_STATE = 42  # the reference's random_state, the same in every dimension


def sample_kde_reference(anchors: np.ndarray, n: int, seed: int, *,
                         bandwidth: float = 0.002) -> np.ndarray:
    """S_KDE as the reference code does it: ``random_state=42`` in every dimension, so
    ``seed`` is ignored and every sample is a shifted anchor copy (kept to report the
    published procedure beside :func:`sample_kde`)."""
    a = check_anchors(anchors)
    return _kde_per_dimension(a, n, bandwidth, [REFERENCE_KDE_STATE] * a.shape[1])


def scott_bandwidth(anchors: np.ndarray) -> float:
    """Scott's rule for an isotropic Gaussian kernel: ``mean_j(std_j) * N^(-1 / (d + 4))``.

    ``std_j`` is the anchors' standard deviation in dimension ``j`` (ddof=1); one scale for
    all dimensions because scikit-learn's ``KernelDensity`` has a scalar bandwidth."""
    a = check_anchors(anchors)
    n, d = a.shape
    scale = float(a.std(axis=0, ddof=1).mean())
    if scale <= 0:
        raise ValueError("anchors have zero spread: all anchors are identical")
    return scale * n ** (-1.0 / (d + 4))


def kde_log_density(points: np.ndarray, anchors: np.ndarray,
                    bandwidth: float | None = None) -> np.ndarray:
    """Log-density of ``points`` under a multivariate Gaussian KDE of the anchors
    (bandwidth: :func:`scott_bandwidth` by default)."""
    a = check_anchors(anchors)
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != a.shape[1]:
        raise ValueError(f"points must be [n, {a.shape[1]}] like the anchors, got {p.shape}")
    bw = scott_bandwidth(a) if bandwidth is None else check_positive("bandwidth", bandwidth)
    return KernelDensity(kernel="gaussian", bandwidth=bw).fit(a).score_samples(p)


BOXES = ("anchors", "tanh")


def sample_counterfactual(anchors: np.ndarray, n: int, seed: int, *,
                          bandwidth: float | None = None, pool_factor: int = 10,
                          box: str = "anchors") -> np.ndarray:
    """S_C: the ``n`` lowest-density points of a uniform candidate pool.

    ``pool_factor * n`` candidates are drawn uniformly in ``box`` (``"anchors"``: per-dimension
    min/max of the anchors; ``"tanh"``: ``[-1, 1]^d``) and ranked by
    :func:`kde_log_density` under the anchors (``bandwidth=None``: Scott's rule)."""
    a = check_anchors(anchors)
    n = check_n(n)
    if isinstance(pool_factor, bool) or not isinstance(pool_factor, (int, np.integer)) \
            or pool_factor < 1:
        raise ValueError(f"pool_factor must be a positive integer, got {pool_factor!r}")
    if box == "anchors":
        low, high = a.min(axis=0), a.max(axis=0)
    elif box == "tanh":
        low, high = -np.ones(a.shape[1]), np.ones(a.shape[1])
    else:
        raise ValueError(f"box must be one of {BOXES}, got {box!r}")
    rng = np.random.default_rng(seed)
    pool = rng.uniform(low, high, size=(n * int(pool_factor), a.shape[1]))
    keep = np.argsort(kde_log_density(pool, a, bandwidth), kind="stable")[:n]
    return pool[keep].astype(np.float32)


def sample_neigh(anchors: np.ndarray, n: int, seed: int, *, n_neighbors: int = 15,
                 min_dist: float = 0.01, n_components: int = 3) -> np.ndarray:
    """S_Neigh: uniform points in the box of a UMAP embedding of the anchors, mapped back
    with ``inverse_transform`` and clipped to ``[-1, 1]``.

    ``n_neighbors`` is clipped to ``N - 1``. The first call in a process compiles UMAP's
    numba code (about 10-20 s)."""
    import umap  # imported here: importing umap compiles numba code, slow for other samplers

    a = check_anchors(anchors, min_anchors=n_components + 2)
    n = check_n(n)
    reducer = umap.UMAP(n_neighbors=min(int(n_neighbors), a.shape[0] - 1), min_dist=min_dist,
                        n_components=n_components, metric="euclidean", random_state=seed,
                        n_jobs=1)
    coords = reducer.fit_transform(a.astype(np.float32))
    rng = np.random.default_rng(seed)
    points = rng.uniform(coords.min(axis=0), coords.max(axis=0), size=(n, n_components))
    z = reducer.inverse_transform(points.astype(np.float32))
    if not np.isfinite(z).all():
        raise RuntimeError("UMAP inverse_transform returned non-finite values")
    return np.clip(z, -1.0, 1.0).astype(np.float32)


SAMPLERS: dict[str, Callable[..., np.ndarray]] = {
    "uniform": sample_uniform,
    "kde": sample_kde,
    "kde_reference": sample_kde_reference,
    "counterfactual": sample_counterfactual,
    "neigh": sample_neigh,
    "gan": sample_gan,
    "gaussian": sample_gaussian,
    "gmm": sample_gmm,
    "near_anchor": sample_near_anchor,
    "flow": sample_flow,
    "latent_mix": sample_latent_mix,
}


def draw_latents(method: str, anchors: np.ndarray, n: int, seed: int,
                 settings: dict | None = None) -> np.ndarray:
    """Draw ``n`` latents with the sampler named ``method`` (a key of :data:`SAMPLERS`);
    ``settings`` are that sampler's keyword settings."""
    if method not in SAMPLERS:
        raise ValueError(f"unknown sampling method {method!r}; choose one of {sorted(SAMPLERS)}")
    sampler = SAMPLERS[method]
    settings = dict(settings or {})
    allowed = [p.name for p in inspect.signature(sampler).parameters.values()
               if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ValueError(f"unknown settings {unknown} for sampling method {method!r}; "
                         f"allowed: {allowed}")
    return sampler(anchors, n, seed, **settings)
