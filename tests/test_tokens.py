"""Neuron tokens and weight-space augmentations."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperreps.architecture import ACTIVATIONS, SingleModel, zoo_cnn_layout, zoo_cnn_name
from hyperreps.augment import (AugmentSettings, Augmenter, add_noise, permutation_index,
                               random_erasing, random_permutations)
from hyperreps.layout import Layer, ParameterLayout
from hyperreps.tokens import Tokenizer
from hyperreps.trainer.forward import population_forward


@pytest.mark.parametrize("channels,lengths", [(1, [26, 201, 25, 37, 21]),
                                              (3, [76, 201, 25, 37, 21])])
def test_zoo_cnn_has_48_tokens_of_the_reference_lengths(channels, lengths):
    tok = Tokenizer(zoo_cnn_layout(channels))
    assert tok.n_tokens == 48
    assert tok.token_lengths == lengths
    assert tok.token_layer().tolist() == [0] * 8 + [1] * 6 + [2] * 4 + [3] * 20 + [4] * 10


def test_token_is_a_units_incoming_weights_then_its_bias():
    layout = zoo_cnn_layout(1)
    flat = torch.randn(3, layout.n_params)
    named = layout.unflatten(flat)
    tokens = Tokenizer(layout).tokenize(flat)
    assert torch.equal(tokens[1][:, 4, :-1], named["conv2.weight"][:, 4].reshape(3, -1))
    assert torch.equal(tokens[1][:, 4, -1], named["conv2.bias"][:, 4])
    assert torch.equal(tokens[3][:, 7, :-1], named["fc1.weight"][:, 7])


@pytest.mark.parametrize("channels", [1, 3])
def test_round_trip_is_exact(channels):
    layout = zoo_cnn_layout(channels)
    tok = Tokenizer(layout)
    flat = torch.randn(2, 5, layout.n_params, dtype=torch.float64)
    assert torch.equal(tok.detokenize(tok.tokenize(flat)), flat)


def test_tokenizer_follows_any_layout_not_one_cnn():
    layout = ParameterLayout([Layer("a", "linear", 7, 5), Layer("b", "linear", 5, 3)])
    tok = Tokenizer(layout)
    assert tok.n_tokens == 8 and tok.token_lengths == [8, 6]
    flat = torch.randn(4, layout.n_params)
    assert torch.equal(tok.detokenize(tok.tokenize(flat)), flat)


def test_detokenize_names_a_wrong_shape():
    tok = Tokenizer(zoo_cnn_layout(1))
    tokens = tok.tokenize(torch.randn(2, 2464))
    tokens[2] = tokens[2][:, :3]
    with pytest.raises(ValueError, match="conv3"):
        tok.detokenize(tokens)


# --------------------------------------------------------------------------- permutation


def _outputs(flat, channels, activation, x):
    params = zoo_cnn_layout(channels).unflatten(flat)
    return population_forward(params, x, activation)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), channels=st.sampled_from([1, 3]),
       activation=st.sampled_from(ACTIVATIONS))
def test_permuted_model_computes_the_same_function(seed, channels, activation):
    layout = zoo_cnn_layout(channels)
    gen = torch.Generator().manual_seed(seed)
    flat = torch.randn(4, layout.n_params, generator=gen, dtype=torch.float64) * 0.3
    x = torch.randn(16, channels, 28, 28, generator=gen, dtype=torch.float64)
    perms = random_permutations(layout, 4, gen)
    assert sorted(perms) == [0, 1, 2, 3]  # every hidden layer, conv and linear
    permuted = flat.gather(-1, permutation_index(layout, perms))
    assert not torch.equal(permuted, flat)
    diff = (_outputs(permuted, channels, activation, x) - _outputs(flat, channels, activation, x))
    assert diff.abs().max() < 1e-10  # float64: equal up to summation order
    # ... and the same holds for a plain nn.Module in float32, one model at a time
    net = SingleModel(zoo_cnn_name(channels), activation).load_flat(permuted[0].float()).eval()
    ref = SingleModel(zoo_cnn_name(channels), activation).load_flat(flat[0].float()).eval()
    with torch.no_grad():
        out, ref_out = net(x.float()), ref(x.float())
        # float32, another summation order over up to 720 products per unit: a few 1e-6
        # relative (hypothesis found 6.8e-6 at seed 445, relu); a wrong permutation is O(1)
        assert (out - ref_out).abs().max() < 2e-5 * max(1.0, ref_out.abs().max().item())


def test_a_wrong_permutation_changes_the_function():
    """The symmetry test can fail: permuting outputs without the next layer's inputs breaks it."""
    layout = zoo_cnn_layout(1)
    gen = torch.Generator().manual_seed(0)
    flat = torch.randn(1, layout.n_params, generator=gen) * 0.3
    x = torch.randn(8, 1, 28, 28, generator=gen)
    named = {k: v.clone() for k, v in layout.unflatten(flat).items()}
    perm = torch.tensor([1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    named["fc1.weight"] = named["fc1.weight"][:, perm]
    named["fc1.bias"] = named["fc1.bias"][:, perm]
    broken = layout.flatten(named)
    assert (_outputs(broken, 1, "tanh", x) - _outputs(flat, 1, "tanh", x)).abs().max() > 1e-3


def test_identity_permutation_is_identity_and_output_layer_is_refused():
    layout = zoo_cnn_layout(1)
    flat = torch.randn(2, layout.n_params)
    ident = {i: torch.arange(layout.layers[i].out_features).expand(2, -1) for i in range(4)}
    assert torch.equal(flat.gather(-1, permutation_index(layout, ident)), flat)
    with pytest.raises(ValueError, match="output layer"):
        permutation_index(layout, {4: torch.arange(10).expand(2, -1)})


def test_permutation_is_a_bijection_of_the_vector():
    layout = zoo_cnn_layout(3)
    idx = permutation_index(layout, random_permutations(layout, 5, torch.Generator()))
    assert torch.equal(idx.sort(dim=1).values, torch.arange(layout.n_params).expand(5, -1))


# --------------------------------------------------------------------------- erasing, noise


def test_random_erasing_sets_one_block_in_about_half_the_rows():
    gen = torch.Generator().manual_seed(1)
    x = torch.ones(2000, 2464)
    out = random_erasing(x, gen, p=0.5, scale=(0.02, 0.33))
    zeros = (out == 0).sum(1)
    erased = zeros > 0
    assert 0.45 < erased.float().mean() < 0.55
    frac = zeros[erased].float() / 2464
    assert frac.min() >= 0.02 - 1e-3 and frac.max() <= 0.33 + 1e-3
    for row in out[erased][:50]:  # one contiguous block
        pos = torch.nonzero(row == 0).flatten()
        assert pos[-1] - pos[0] + 1 == len(pos)
    assert torch.equal(random_erasing(x, gen, p=0.0), x)


def test_noise_and_augmenter_views():
    layout = zoo_cnn_layout(1)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(6, layout.n_params)
    noisy = add_noise(x, gen, 0.1)
    assert 0.08 < (noisy - x).std() < 0.12
    aug = Augmenter(layout, AugmentSettings(permute=True, erase_p=1.0, noise=0.0), gen)
    inp, target = aug.view(x)
    assert (inp == 0).any(1).all()  # every row erased
    # the target is a permutation of the original and keeps each row's values
    assert torch.allclose(target.sort(1).values, x.sort(1).values)
    assert not torch.equal(target, x)
