"""Weight matching (Git Re-Basin, Ainsworth et al., ICLR 2023): permute a model's hidden units
so that its weights lie as close as possible to a reference's, without changing the function
it computes. Works for every registered architecture from its layout's permutation groups
(:class:`hyperreps.layout.PermutationGroup`; skip connections permute their members together).

For one group, with every other group's permutation held fixed, the best permutation solves a
linear assignment that maximises the summed products of the reference's and the model's weights
at the group's units: the member layers' outgoing rows (weights and biases) and the consumer
layers' incoming columns. The groups are visited in turn until no permutation changes
(coordinate descent, the paper's weight-matching algorithm); the result is a local optimum.

:func:`align_to_mean` aligns a population to a common reference that is itself refined: align
every model to the reference, take the mean of the aligned models, align again to it (the
paper's MergeMany).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .augment import permutation_index
from .layout import ParameterLayout


def _unit_rows(named: dict, layout: ParameterLayout, group: int) -> torch.Tensor:
    """``[units, features]``: every weight attached to each unit of ``group``."""
    layers, g = layout.layers, layout.groups[group]
    n = layers[g.members[0]].out_features
    parts = []
    for li in g.members:
        name = layers[li].name
        parts.append(named[f"{name}.weight"].reshape(n, -1))
        if f"{name}.bias" in named:
            parts.append(named[f"{name}.bias"].reshape(n, 1))
    for li in g.consumers:
        w2 = named[f"{layers[li].name}.weight"]
        out = w2.shape[0]
        per_unit = w2[0].numel() // n
        parts.append(w2.reshape(out, n, per_unit).transpose(0, 1).reshape(n, -1))
    return torch.cat(parts, dim=1)


def apply_permutations(weights: torch.Tensor, layout: ParameterLayout,
                       perms: dict[int, np.ndarray]) -> torch.Tensor:
    """``weights`` ``[P]`` with the hidden units of each group ``g`` permuted: new unit i is old
    unit ``perms[g][i]``."""
    if not perms:
        return weights.clone()
    index = permutation_index(layout, {g: torch.as_tensor(p, dtype=torch.long)[None]
                                       for g, p in perms.items()})
    return weights[index[0]]


def match_weights(weights: torch.Tensor, reference: torch.Tensor, layout: ParameterLayout,
                  max_rounds: int = 50, seed: int = 0) -> tuple[torch.Tensor, dict]:
    """``weights`` ``[P]`` permuted to lie close to ``reference`` ``[P]`` (same function), and
    the permutation of every group. Groups are visited in a seeded random order each round,
    until a round changes nothing or ``max_rounds``."""
    weights, reference = weights.double(), reference.double()
    n_groups = len(layout.groups)
    units = [layout.layers[g.members[0]].out_features for g in layout.groups]
    perms = {g: np.arange(units[g]) for g in range(n_groups)}
    ref_rows = [_unit_rows(layout.unflatten(reference), layout, g) for g in range(n_groups)]
    rng = np.random.default_rng(seed)
    for _ in range(max_rounds):
        changed = False
        for g in rng.permutation(n_groups):
            others = {k: v for k, v in perms.items() if k != g}
            current = layout.unflatten(apply_permutations(weights, layout, others))
            cost = (ref_rows[g] @ _unit_rows(current, layout, g).T).numpy()
            _, best = linear_sum_assignment(cost, maximize=True)
            gain = cost[np.arange(units[g]), best].sum() - cost[np.arange(units[g]),
                                                               perms[g]].sum()
            if not np.array_equal(best, perms[g]) and gain > 1e-12 * max(1.0, abs(cost).max()):
                perms[g] = best
                changed = True
        if not changed:
            break
    return apply_permutations(weights, layout, perms).float(), perms


def align_to(models: torch.Tensor, reference: torch.Tensor, layout: ParameterLayout,
             seed: int = 0) -> torch.Tensor:
    """Every row of ``models`` ``[N, P]`` matched to ``reference``; non-finite rows unchanged."""
    out = models.clone().float()
    for i in range(len(models)):
        if bool(torch.isfinite(models[i]).all()):
            out[i] = match_weights(models[i], reference, layout, seed=seed + i)[0]
    return out


def align_to_mean(models: torch.Tensor, layout: ParameterLayout, rounds: int = 3,
                  start: int = 0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``models`` ``[N, P]`` aligned to a common reference, refined ``rounds`` times: first
    model ``start``, then the mean of the models aligned to the previous reference. Returns the
    aligned models and the final reference (their mean)."""
    finite = torch.isfinite(models).all(dim=1)
    reference = models[start].float()
    aligned = models.float()
    for r in range(rounds):
        aligned = align_to(models, reference, layout, seed=seed + 100_000 * r)
        reference = aligned[finite].mean(dim=0)
    return aligned, reference


def mean_pairwise_l2(models: torch.Tensor) -> float:
    """Mean L2 distance over all pairs of the finite rows of ``models`` ``[N, P]``."""
    m = models[torch.isfinite(models).all(dim=1)].double()
    if len(m) < 2:
        return float("nan")
    d = torch.cdist(m, m)
    return float(d[torch.triu(torch.ones_like(d, dtype=torch.bool), diagonal=1)].mean())
