"""The autoencoder's losses and its reconstruction R² (2022 Eq. 1, §3.1, App. C).

Loss (reference ``GammaContrastReconLoss``): beta * L_MSE + (1 - beta) * L_c with
L_c = NT-Xent (temperature 0.1) on the projection head's output p(z). Positives are two
augmented views of the same checkpoint (see :mod:`hyperreps.augment`).

Layer-wise loss normalisation (LWLN, 2022 §3.1): each layer's error (weights and bias
together) is divided by sigma_l, the std of that layer's values over all *training-split*
checkpoints; the baseline variant uses the plain MSE. Both reduce by batch x parameters
(reference reduction "global_mean"), so the baseline is LWLN with every sigma_l = 1.

Reconstruction R² (2022 App. C): :func:`hyperreps.metrics.r_squared` with the training
split's mean weight vector as baseline, 1 - mse(w_hat, w) / mse(w_mean, w), overall and per
layer, in raw weight space for both variants (or on sigma-scaled weights, the reference's
``rsq``). Standardised inputs change neither the losses nor the R²: both are in weight space.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..layout import ParameterLayout
from ..metrics import r_squared

SIGMA_FLOOR = 1e-4  # reference LayerWiseReconLoss


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent (SimCLR) of paired projections ``a[i] <-> b[i]``: cosine similarities over
    temperature, the other 2N - 2 samples as negatives, cross-entropy summed over all 2N
    anchors and divided by 2N (reference ``NT_Xent``)."""
    z = F.normalize(torch.cat([a, b]).float(), dim=1)
    n = a.shape[0]
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target, reduction="sum") / (2 * n)


def layer_sigma(train_weights: torch.Tensor, layout: ParameterLayout) -> torch.Tensor:
    """sigma_l per layer: std of all values of the layer's slice (weights and bias) over the
    given checkpoints ``[N, P]`` (pass the training split only), floored at 1e-4."""
    w = train_weights.double()
    sig = [w[:, layout.layer_slice(layer.name)].std() for layer in layout.layers]
    return torch.stack(sig).clamp_min(SIGMA_FLOOR).float()


def parameter_scale(layout: ParameterLayout, sigma: torch.Tensor | None) -> torch.Tensor:
    """Per-parameter 1/sigma_l of its layer ``[P]``; ones without LWLN."""
    scale = torch.ones(layout.n_params)
    if sigma is not None:
        for layer, s in zip(layout.layers, sigma.tolist()):
            scale[layout.layer_slice(layer.name)] = 1.0 / s
    return scale


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor,
                        scale: torch.Tensor) -> torch.Tensor:
    """Mean over batch and parameters of ((pred - target) * scale)^2."""
    return (((pred.float() - target.float()) * scale) ** 2).mean()


def r2_scores(pred: torch.Tensor, target: torch.Tensor, train_mean: torch.Tensor,
              layout: ParameterLayout, sigma: torch.Tensor | None = None) -> dict[str, float]:
    """R² = 1 - mse(pred, w) / mse(train mean, w) (:func:`hyperreps.metrics.r_squared`
    with the training mean as baseline), overall and per layer: in raw weight space,
    or with ``sigma`` (the training layers' std) on sigma-scaled weights w / sigma_l, the
    reference's ``rsq = 1 - loss / loss_mean`` with the LWLN loss (per layer the two agree;
    overall the scaled one weighs every layer by its own spread)."""
    pred, target, mean = pred.double(), target.double(), train_mean.double()
    if sigma is not None:
        scale = parameter_scale(layout, sigma).double()
        pred, target, mean = pred * scale, target * scale, mean * scale
    out = {"overall": r_squared(pred, target, mean)}
    for layer in layout.layers:
        sl = layout.layer_slice(layer.name)
        out[layer.name] = r_squared(pred[:, sl], target[:, sl], mean[sl])
    return out
