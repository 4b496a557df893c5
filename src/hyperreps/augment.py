"""Augmentations of flat weight vectors, applied per batch on the training device.

- **Permutation** of hidden units (2021 App. A): the output units of every hidden layer are
  re-ordered, and the next layer's input axis gets the same order, so the permuted model
  computes exactly the same function. Where a convolution feeds a linear layer through a
  flatten, each channel's block of ``in_features / channels`` inputs moves as one. The output
  layer is never permuted; layers whose outputs a skip connection adds share one permutation
  (the architecture's permutation groups). The reference implementation precomputes up to
  25,000 permutations as Python index lists; here a fresh random permutation is drawn for
  every sample of every batch, as one gather of an index tensor on the device.
- **Random erasing** (reference ``random_erasing.py``, mode "block"): with probability ``p``
  one contiguous block of U(scale) of the vector is set to ``value``.
- **Gaussian noise**: additive N(0, sigma^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .layout import ParameterLayout


def permutation_index(layout: ParameterLayout, perms: dict[int, torch.Tensor]) -> torch.Tensor:
    """Gather index ``[B, P]`` that applies, per sample, the unit permutations ``perms``.

    ``perms[g]`` is ``[B, units_g]`` for permutation group g of the layout: new unit i is old
    unit ``perms[g][:, i]``, in the outputs of every member layer of the group and the inputs
    of every consumer. ``x.gather(-1, index)`` gives the permuted weight vectors.
    """
    B = next(iter(perms.values())).shape[0]
    device = next(iter(perms.values())).device
    idx = torch.arange(layout.n_params, device=device).expand(B, -1)
    named = {k: v.clone() for k, v in layout.unflatten(idx).items()}
    layers, groups = layout.layers, layout.groups
    for gi, perm in perms.items():
        if not 0 <= gi < len(groups):
            raise ValueError(f"group {gi}: the layout has {len(groups)} permutable groups "
                             "(the output layer cannot be permuted)")
        n = perm.shape[1]
        for li in groups[gi].members:
            name = layers[li].name
            w = named[f"{name}.weight"]
            if w.shape[1] != n:
                raise ValueError(f"{name}: permutation of {n} units for {w.shape[1]} outputs")
            rows = perm.view(B, n, *([1] * (w.dim() - 2))).expand_as(w)
            named[f"{name}.weight"] = w.gather(1, rows)
            if f"{name}.bias" in named:
                named[f"{name}.bias"] = named[f"{name}.bias"].gather(1, perm)
        for li in groups[gi].consumers:
            nxt = layers[li].name
            w2 = named[f"{nxt}.weight"]
            fan_in = w2[0, 0].numel()
            per_unit = fan_in // n  # inputs per unit: kernel positions, or a flattened channel
            if fan_in != n * per_unit:
                raise ValueError(f"{nxt}: input size is not a multiple of {n} units")
            v = w2.reshape(B, w2.shape[1], n, per_unit)
            cols = perm.view(B, 1, n, 1).expand_as(v)
            named[f"{nxt}.weight"] = v.gather(2, cols).reshape(w2.shape)
    return layout.flatten(named)


def random_permutations(layout: ParameterLayout, batch: int, generator: torch.Generator,
                        device: torch.device | str = "cpu",
                        groups: list[int] | None = None) -> dict[int, torch.Tensor]:
    """Independent uniform random permutations of every (given) permutation group, per sample."""
    out = {}
    for gi in range(len(layout.groups)) if groups is None else groups:
        n = layout.layers[layout.groups[gi].members[0]].out_features
        u = torch.rand(batch, n, generator=generator, device=generator.device)
        out[gi] = u.argsort(dim=1).to(device)
    return out


def random_erasing(x: torch.Tensor, generator: torch.Generator, p: float = 0.5,
                   scale: tuple[float, float] = (0.02, 0.33), value: float = 0.0) -> torch.Tensor:
    """With probability ``p`` per row, set one contiguous block of U(scale)*P entries."""
    if p <= 0:
        return x
    B, P = x.shape
    g = generator
    apply = torch.rand(B, generator=g, device=g.device) < p
    frac = scale[0] + (scale[1] - scale[0]) * torch.rand(B, generator=g, device=g.device)
    length = (frac * P).round().clamp(1, P).long()
    start = (torch.rand(B, generator=g, device=g.device) * (P - length + 1)).long()
    pos = torch.arange(P, device=g.device)
    block = (pos >= start[:, None]) & (pos < (start + length)[:, None]) & apply[:, None]
    return x.masked_fill(block.to(x.device), value)


def add_noise(x: torch.Tensor, generator: torch.Generator, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return x + sigma * noise.to(x.device)


@dataclass(frozen=True)
class AugmentSettings:
    permute: bool = True
    erase_p: float = 0.5
    erase_scale: tuple[float, float] = (0.02, 0.33)
    noise: float = 0.0


class Augmenter:
    """Two views of a batch: independently permuted (targets) and then erased and noised
    (inputs). The autoencoder reconstructs each permuted view from its corrupted input."""

    def __init__(self, layout: ParameterLayout, settings: AugmentSettings,
                 generator: torch.Generator):
        self.layout, self.settings, self.generator = layout, settings, generator

    def view(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.settings
        if s.permute:
            perms = random_permutations(self.layout, x.shape[0], self.generator, x.device)
            x = x.gather(-1, permutation_index(self.layout, perms))
        inp = random_erasing(x, self.generator, s.erase_p, s.erase_scale)
        return add_noise(inp, self.generator, s.noise), x
