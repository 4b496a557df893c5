"""Weight matching (hyperreps.weight_matching): an aligned model computes the same function, a
permuted copy is matched back onto its original, and alignment never moves a model away from its
reference, for every registered architecture."""

import torch
from hypothesis import given, settings as hsettings, strategies as st

from hyperreps.architecture import ARCHITECTURES, get_architecture
from hyperreps.augment import permutation_index, random_permutations
from hyperreps.trainer.forward import population_forward
from hyperreps.weight_matching import (align_to, align_to_mean, match_weights,
                                       mean_pairwise_l2)

ARCH_NAMES = sorted(ARCHITECTURES)


def _inputs(arch, n, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, *arch.input_shape, generator=gen, dtype=torch.float64)


@hsettings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), name=st.sampled_from(ARCH_NAMES),
       activation=st.sampled_from(["tanh", "relu"]))
def test_matching_keeps_the_function_and_finds_a_permuted_copy(seed, name, activation):
    arch = get_architecture(name)
    layout = arch.layout
    gen = torch.Generator().manual_seed(seed)
    reference, model = torch.randn(2, layout.n_params, generator=gen, dtype=torch.float64) * 0.3
    aligned, perms = match_weights(model, reference, layout, seed=seed % 1000)
    assert set(perms) == set(range(len(layout.groups)))
    x = _inputs(arch, 6, seed % 1000)
    before = population_forward(layout.unflatten(model[None]), x, activation, arch=arch)
    after = population_forward(layout.unflatten(aligned.double()[None]), x, activation,
                               arch=arch)
    # aligned is float32: its outputs agree to float32's relative precision (relu outputs of
    # random deep weights reach ~100, where 1e-5 absolute is 1e-7 relative)
    assert (before - after).abs().max() < 1e-5 * max(1.0, float(before.abs().max()))
    assert (aligned.double() - reference).norm() <= (model - reference).norm() + 1e-4
    # a permuted copy of the reference is matched back onto it exactly
    shuffled = reference.gather(-1, permutation_index(
        layout, random_permutations(layout, 1, gen))[0])
    back, _ = match_weights(shuffled, reference, layout)
    assert (back.double() - reference).abs().max() < 1e-6


def test_alignment_to_a_mean_brings_a_permuted_population_together():
    layout = get_architecture("zoo_cnn").layout
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(layout.n_params, generator=gen)
    copies = torch.stack([base + 0.01 * torch.randn(layout.n_params, generator=gen)
                          for _ in range(5)])
    shuffled = copies.gather(-1, permutation_index(layout, random_permutations(layout, 5, gen)))
    aligned, reference = align_to_mean(shuffled, layout, rounds=2)
    assert mean_pairwise_l2(aligned) < 0.1 * mean_pairwise_l2(shuffled)
    assert torch.allclose(reference, aligned.mean(0))
    nan_row = torch.full((1, layout.n_params), float("nan"))
    kept = align_to(torch.cat([shuffled[:1], nan_row]), reference, layout)
    assert torch.isnan(kept[1]).all() and torch.isfinite(kept[0]).all()
