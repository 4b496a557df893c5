"""Generators that mix independent solutions in weight space (issue 32), no autoencoder: the
training models' window-end checkpoints, aligned to a common reference by weight matching
(:mod:`hyperreps.weight_matching`), are the parents.

``pca_gaussian`` (W_PCA)
    DeepWeightFlow's recipe without the flow: a Gaussian on the aligned models' PCA
    coefficients (every component, its variance times ``scale**2``) around their mean.
``mix_parents`` (W_Mix2, W_Mix3)
    ``k`` distinct parents with Dirichlet(``concentration``) weights, ``sum_i a_i W_i``.
    Averaging aligned but not identical units shrinks their activations (REPAIR, Jordan et al.
    ICLR 2023: variance collapse); :func:`repair_activations` rescales each hidden unit so that
    its pre-activation mean and standard deviation on training images are the ``a``-mix of its
    parents'.

Every function takes and returns flat weights ``[N, P]`` of one architecture
(:class:`hyperreps.layout.ParameterLayout`) and is seeded.
"""

from __future__ import annotations

import numpy as np
import torch

from ..architecture import SingleModel, architecture_of
from ..layout import ParameterLayout


def pca_gaussian(aligned: torch.Tensor, n: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    """``n`` draws ``mean + (eps * s / sqrt(N - 1) * scale) @ V^T`` with ``U S V^T`` the SVD
    of the centred aligned models ``[N, P]`` and ``eps ~ N(0, I)``: a Gaussian with the
    models' sample covariance (rank ``N - 1``), its spread times ``scale``."""
    models = aligned[torch.isfinite(aligned).all(dim=1)].double()
    if len(models) < 2:
        raise ValueError("pca_gaussian needs at least 2 finite models")
    mean = models.mean(dim=0)
    _, s, vt = torch.linalg.svd(models - mean, full_matrices=False)
    std = s / np.sqrt(len(models) - 1)
    eps = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, len(std))))
    return (mean + (eps * std * scale) @ vt).float()


def mix_parents(aligned: torch.Tensor, n: int, k: int, concentration: float, seed: int,
                layout: ParameterLayout | None = None
                ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``n`` convex mixes of ``k`` distinct aligned parents: the mixes ``[n, P]``, the parents'
    rows ``[n, k]`` and their Dirichlet(``concentration``) weights ``[n, k]``; with ``layout``,
    one draw of weights per layer, ``[n, layers, k]`` (a layer-wise crossover)."""
    finite = np.flatnonzero(torch.isfinite(aligned).all(dim=1).numpy())
    if len(finite) < k:
        raise ValueError(f"mixing {k} parents needs at least {k} finite models, got "
                         f"{len(finite)}")
    rng = np.random.default_rng(seed)
    parents = np.stack([rng.choice(finite, size=k, replace=False) for _ in range(n)])
    if layout is None:
        weights = rng.dirichlet(np.full(k, float(concentration)), size=n)
        w = torch.from_numpy(weights).float()
        return (w[:, :, None] * aligned[torch.from_numpy(parents)].float()).sum(dim=1), \
            parents, weights
    weights = rng.dirichlet(np.full(k, float(concentration)), size=(n, len(layout.layers)))
    per_param = torch.zeros(n, k, aligned.shape[1])
    for li, layer in enumerate(layout.layers):
        per_param[:, :, layout.layer_slice(layer.name)] = torch.from_numpy(
            weights[:, li]).float()[:, :, None]
    return (per_param * aligned[torch.from_numpy(parents)].float()).sum(dim=1), parents, weights


def _repaired_layers(layout: ParameterLayout) -> list:
    """Every layer but the output layer (the last of the main path), in the order the forward
    pass computes them (a skip branch's layers where its sum is taken): repairing in this
    order leaves every repaired layer's inputs unchanged by later repairs."""
    ops = architecture_of(layout).ops
    output = [op.layer for op in ops if op.kind == "layer"][-1]
    ordered = []
    for op in ops:
        if op.kind == "layer":
            ordered.append(op.layer)
        ordered += [b.layer for b in op.branch if b.kind == "layer"]
    return [layer for layer in ordered if layer.name != output.name]


def _unit_moments(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of each unit (dim 1) of a layer's output, over images and positions."""
    per_unit = output.transpose(0, 1).reshape(output.shape[1], -1)
    return per_unit.mean(1), per_unit.std(1)


@torch.no_grad()
def unit_statistics(weights: torch.Tensor, layout: ParameterLayout, activation: str,
                    images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per model and hidden layer: the mean and std of each unit's pre-activation output on
    ``images`` (over images and positions), ``{layer: [N, 2, units]}``."""
    model = SingleModel(architecture_of(layout), activation)
    layers = _repaired_layers(layout)
    out = {layer.name: torch.zeros(len(weights), 2, layer.out_features) for layer in layers}
    captured = {}
    hooks = [getattr(model, layer.name).register_forward_hook(
        lambda _m, _i, o, name=layer.name: captured.__setitem__(name, o)) for layer in layers]
    try:
        for i in range(len(weights)):
            model.load_flat(weights[i])
            model(images)
            for name, o in captured.items():
                out[name][i, 0], out[name][i, 1] = _unit_moments(o)
    finally:
        for h in hooks:
            h.remove()
    return out


@torch.no_grad()
def repair_activations(mixes: torch.Tensor, target: dict[str, torch.Tensor],
                       layout: ParameterLayout, activation: str, images: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """REPAIR: each hidden layer of each model in ``mixes`` ``[n, P]``, in the layout's order
    (every earlier layer already repaired), rescaled so that its units' pre-activation mean and
    std on ``images`` are ``target[layer][i]`` (``[2, units]``: e.g. the mix of the parents'
    :func:`unit_statistics`): ``w' = w * s``, ``b' = (b - mean) * s + target_mean`` with ``s =
    target_std / std`` (a layer without bias keeps its mean)."""
    model = SingleModel(architecture_of(layout), activation)
    out = mixes.clone().float()
    for i in range(len(out)):
        if not bool(torch.isfinite(out[i]).all()):
            continue
        model.load_flat(out[i])
        for layer in _repaired_layers(layout):
            module = getattr(model, layer.name)
            captured = []
            hook = module.register_forward_hook(lambda _m, _i, o: captured.append(o))
            try:
                model(images)
            finally:
                hook.remove()
            mean, std = _unit_moments(captured[0])
            t_mean, t_std = target[layer.name][i]
            s = t_std / std.clamp_min(eps)
            module.weight.mul_(s.view(-1, *([1] * (module.weight.dim() - 1))))
            if module.bias is not None:
                module.bias.copy_((module.bias - mean) * s + t_mean)
        out[i] = model.flat()
    return out


def repaired_mixes(aligned: torch.Tensor, n: int, k: int, concentration: float, seed: int,
                   layout: ParameterLayout, activation: str, images: torch.Tensor,
                   parent_statistics: dict[str, torch.Tensor] | None = None,
                   per_layer: bool = False) -> torch.Tensor:
    """:func:`mix_parents` (``per_layer``: one draw of weights per layer) followed by
    :func:`repair_activations` towards the same mix of the parents' unit statistics on
    ``images`` (``parent_statistics``: the aligned models' :func:`unit_statistics`, computed
    here if not given)."""
    mixes, parents, weights = mix_parents(aligned, n, k, concentration, seed,
                                          layout if per_layer else None)
    stats = parent_statistics or unit_statistics(aligned, layout, activation, images)
    names = [layer.name for layer in layout.layers]
    target = {}
    for name, s in stats.items():
        w = weights[:, names.index(name)] if per_layer else weights
        w = torch.from_numpy(w).float()[:, :, None, None]
        target[name] = (w * s[torch.from_numpy(parents)]).sum(dim=1)
    return repair_activations(mixes, target, layout, activation, images)
