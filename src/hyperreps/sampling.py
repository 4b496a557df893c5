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
sampler is :data:`hyperreps.populations.LATENT_POPULATIONS`.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.neighbors import KernelDensity
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits
from torch.nn.utils.parametrizations import spectral_norm

from .device import resolve_device

MIN_ANCHORS = 2


def _check_anchors(anchors: np.ndarray, min_anchors: int = MIN_ANCHORS) -> np.ndarray:
    a = np.asarray(anchors)
    if a.ndim != 2:
        raise ValueError(f"anchors must be a 2-D array [N, d], got shape {a.shape}")
    if a.shape[1] < 1:
        raise ValueError(f"anchors must have at least one latent dimension, got shape {a.shape}")
    if a.shape[0] < min_anchors:
        raise ValueError(f"need at least {min_anchors} anchors, got {a.shape[0]}")
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
        raise ValueError("anchors must be finite numbers (found NaN, inf or non-numeric values)")
    return a.astype(np.float64)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (number of samples) must be a positive integer, got {n!r}")
    return int(n)


def _check_positive(name: str, value: float) -> float:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def sample_uniform(anchors: np.ndarray, n: int, seed: int) -> np.ndarray:
    """S_U: ``z ~ U(-1, 1)^d``; the anchors only give ``d``."""
    d = _check_anchors(anchors).shape[1]
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(_check_n(n), d)).astype(np.float32)


def sample_kde(anchors: np.ndarray, n: int, seed: int, *,
               bandwidth: float = 0.002) -> np.ndarray:
    """S_KDE: a 1-D Gaussian KDE per latent dimension, dimensions sampled independently.

    Each dimension gets its own random state from ``SeedSequence(seed)`` (the reference
    shares ``random_state=42`` across dimensions, which makes samples shifted anchor
    copies; see the module docstring)."""
    a = _check_anchors(anchors)
    return _kde_per_dimension(a, n, bandwidth,
                              np.random.SeedSequence(seed).generate_state(a.shape[1]))


def _kde_per_dimension(a: np.ndarray, n: int, bandwidth: float, states) -> np.ndarray:
    """One 1-D Gaussian KDE per dimension of the anchors ``a``, dimension j sampled with
    random state ``states[j]``."""
    n = _check_n(n)
    bandwidth = _check_positive("bandwidth", bandwidth)
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
    a = _check_anchors(anchors)
    return _kde_per_dimension(a, n, bandwidth, [REFERENCE_KDE_STATE] * a.shape[1])


def scott_bandwidth(anchors: np.ndarray) -> float:
    """Scott's rule for an isotropic Gaussian kernel: ``mean_j(std_j) * N^(-1 / (d + 4))``.

    ``std_j`` is the anchors' standard deviation in dimension ``j`` (ddof=1); one scale for
    all dimensions because scikit-learn's ``KernelDensity`` has a scalar bandwidth."""
    a = _check_anchors(anchors)
    n, d = a.shape
    scale = float(a.std(axis=0, ddof=1).mean())
    if scale <= 0:
        raise ValueError("anchors have zero spread: all anchors are identical")
    return scale * n ** (-1.0 / (d + 4))


def kde_log_density(points: np.ndarray, anchors: np.ndarray,
                    bandwidth: float | None = None) -> np.ndarray:
    """Log-density of ``points`` under a multivariate Gaussian KDE of the anchors
    (bandwidth: :func:`scott_bandwidth` by default)."""
    a = _check_anchors(anchors)
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != a.shape[1]:
        raise ValueError(f"points must be [n, {a.shape[1]}] like the anchors, got {p.shape}")
    bw = scott_bandwidth(a) if bandwidth is None else _check_positive("bandwidth", bandwidth)
    return KernelDensity(kernel="gaussian", bandwidth=bw).fit(a).score_samples(p)


BOXES = ("anchors", "tanh")


def sample_counterfactual(anchors: np.ndarray, n: int, seed: int, *,
                          bandwidth: float | None = None, pool_factor: int = 10,
                          box: str = "anchors") -> np.ndarray:
    """S_C: the ``n`` lowest-density points of a uniform candidate pool.

    ``pool_factor * n`` candidates are drawn uniformly in ``box`` (``"anchors"``: per-dimension
    min/max of the anchors; ``"tanh"``: ``[-1, 1]^d``) and ranked by
    :func:`kde_log_density` under the anchors (``bandwidth=None``: Scott's rule)."""
    a = _check_anchors(anchors)
    n = _check_n(n)
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

    a = _check_anchors(anchors, min_anchors=n_components + 2)
    n = _check_n(n)
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


def _mlp(sizes: list[int], wrap: Callable[[nn.Linear], nn.Module]) -> list[nn.Module]:
    """Fully-connected layers of ``sizes`` interleaved with ReLU (none after the last)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(wrap(nn.Linear(fan_in, fan_out)))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return layers


def _positive_ints(name: str, values) -> list[int]:
    values = [values] if isinstance(values, (int, np.integer)) else list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                         for v in values):
        raise ValueError(f"{name} must be positive integers, got {values!r}")
    return [int(v) for v in values]


def train_latent_gan(anchors: np.ndarray, seed: int, *, noise_dim: int = 16,
                     generator_hidden=(128, 256, 512), discriminator_hidden=(1024, 512, 256),
                     epochs: int = 1000, batch_size: int = 32, lr_generator: float = 1e-4,
                     lr_discriminator: float = 2e-4, device: str = "auto"
                     ) -> tuple[nn.Module, "pd.DataFrame", torch.Generator]:
    """Train the latent GAN of 2022 App. E.2 on the anchor embeddings.

    App. E.2: "four fully-connected layers interleaved with ReLU nonlinearities"; generator
    input Gaussian noise of dimension 16, hidden 128, 256, 512, output the embedding length D;
    discriminator D -> 1024 -> 512 -> 256 -> 1, "regularized with Spectral Norm"; "trained for
    1000 epochs and batch size 32 using Adam with a two time-scale update rule: learning rate
    is 1e-4 for the generator and 2e-4 for the discriminator". Not said there, chosen here: a
    tanh on the generator's output (the encoder's codes lie in the tanh box ``[-1, 1]^D``),
    Adam's default betas, the non-saturating loss (BCE with logits), one discriminator then
    one generator step per batch. An epoch is one pass over the shuffled anchors in batches of
    ``batch_size`` (the last batch may be smaller).

    Parameters are initialised on the CPU from ``seed`` (the global RNG state is left as it
    was) and all noise comes from one ``torch.Generator`` seeded with ``seed``, so CPU runs are
    deterministic. Returns the generator (eval mode), the losses per epoch (a DataFrame:
    ``epoch``, ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``: mean discriminator loss,
    generator loss and the mean probabilities D gives real and generated codes) and the noise
    generator, to be used for sampling after training."""
    a = _check_anchors(anchors)
    noise_dim = _positive_ints("noise_dim", noise_dim)[0]
    g_hidden = _positive_ints("generator_hidden", generator_hidden)
    d_hidden = _positive_ints("discriminator_hidden", discriminator_hidden)
    epochs = _positive_ints("epochs", epochs)[0]
    batch_size = _positive_ints("batch_size", batch_size)[0]
    lr_g = _check_positive("lr_generator", lr_generator)
    lr_d = _check_positive("lr_discriminator", lr_discriminator)
    dev = resolve_device(device)
    d = a.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        gen = nn.Sequential(*_mlp([noise_dim, *g_hidden, d], lambda m: m), nn.Tanh())
        disc = nn.Sequential(*_mlp([d, *d_hidden, 1], spectral_norm))
    gen, disc = gen.to(dev), disc.to(dev)
    noise = torch.Generator(device=dev).manual_seed(seed)
    real_all = torch.as_tensor(a, dtype=torch.float32, device=dev)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr_g)
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr_d)
    n_batches = -(-len(a) // batch_size)
    sums = torch.zeros(epochs, 4, device=dev)
    for epoch in range(epochs):
        order = torch.randperm(len(a), generator=noise, device=dev)
        for b in range(n_batches):
            real = real_all[order[b * batch_size:(b + 1) * batch_size]]
            m = len(real)
            fake = gen(torch.randn(m, noise_dim, generator=noise, device=dev))
            # real and generated codes in one discriminator pass (one spectral-norm update)
            real_logit, fake_logit = disc(torch.cat([real, fake.detach()])).split([m, m])
            d_loss = (binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                      + binary_cross_entropy_with_logits(fake_logit,
                                                         torch.zeros_like(fake_logit)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            disc.requires_grad_(False)  # the generator step needs no discriminator gradients
            g_logit = disc(fake)
            g_loss = binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            disc.requires_grad_(True)
            sums[epoch] += torch.stack([d_loss.detach(), g_loss.detach(),
                                        torch.sigmoid(real_logit.detach()).mean(),
                                        torch.sigmoid(fake_logit.detach()).mean()])
    per_epoch = (sums / n_batches).cpu().numpy()
    history = pd.DataFrame(per_epoch, columns=["d_loss", "g_loss", "d_real", "d_fake"])
    history.insert(0, "epoch", np.arange(1, epochs + 1))
    return gen.eval(), history, noise


def gan_samples(anchors: np.ndarray, n: int, seed: int, **settings
                ) -> tuple[np.ndarray, "pd.DataFrame"]:
    """Train :func:`train_latent_gan` on the anchors (``settings``: its keywords), then draw
    ``n`` generator outputs. Returns the samples and the per-epoch losses."""
    n = _check_n(n)
    gen, history, noise = train_latent_gan(anchors, seed, **settings)
    dev = next(gen.parameters()).device
    noise_dim = gen[0].in_features
    with torch.no_grad():
        z = gen(torch.randn(n, noise_dim, generator=noise, device=dev))
    return z.cpu().numpy().astype(np.float32), history


def sample_gan(anchors: np.ndarray, n: int, seed: int, *, noise_dim: int = 16,
               generator_hidden=(128, 256, 512), discriminator_hidden=(1024, 512, 256),
               epochs: int = 1000, batch_size: int = 32, lr_generator: float = 1e-4,
               lr_discriminator: float = 2e-4, device: str = "auto") -> np.ndarray:
    """S_GAN: :func:`gan_samples` without the loss history (outputs in ``(-1, 1)``)."""
    return gan_samples(anchors, n, seed, noise_dim=noise_dim,
                       generator_hidden=generator_hidden,
                       discriminator_hidden=discriminator_hidden, epochs=epochs,
                       batch_size=batch_size, lr_generator=lr_generator,
                       lr_discriminator=lr_discriminator, device=device)[0]


SAMPLERS: dict[str, Callable[..., np.ndarray]] = {
    "uniform": sample_uniform,
    "kde": sample_kde,
    "kde_reference": sample_kde_reference,
    "counterfactual": sample_counterfactual,
    "neigh": sample_neigh,
    "gan": sample_gan,
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


def top_fraction_mask(acc: np.ndarray, fraction: float = 0.3) -> np.ndarray:
    """Boolean mask of the anchors whose accuracy is at or above the ``1 - fraction``
    quantile (``fraction=0.3``: the anchors of the "30" samplers, e.g. S_KDE30)."""
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim != 1 or acc.size == 0 or not np.isfinite(acc).all():
        raise ValueError(f"acc must be a non-empty 1-D array of finite values, got shape "
                         f"{acc.shape}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    return acc >= np.quantile(acc, 1 - fraction)
