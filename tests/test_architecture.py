"""The zoo CNN's layout against the papers and the reference code, and every registered
architecture: forward, vectorised training and permutation symmetry against its reference."""

import pytest
import torch
from hypothesis import given, settings as hsettings, strategies as st

from hyperreps.architecture import (ARCHITECTURES, INITS, SingleModel, get_architecture,
                                    init_parameters, zoo_cnn_layout, zoo_cnn_name)
from hyperreps.augment import permutation_index, random_permutations
from hyperreps.data import SplitData
from hyperreps.tokens import Tokenizer
from hyperreps.trainer.forward import population_forward
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings
from hyperreps.trainer.one_at_a_time import train_one_at_a_time


def test_parameter_counts_match_the_papers():
    assert zoo_cnn_layout(1).n_params == 2464
    assert zoo_cnn_layout(3).n_params == 2864
    for c in (1, 3):
        n = sum(p.numel() for p in SingleModel(zoo_cnn_name(c)).parameters())
        assert n == zoo_cnn_layout(c).n_params


def test_layout_matches_reference_index_dict():
    # WSL21 index_dict.json: idx_start [0, 208, 1414, 1514, 2254],
    # lengths [208, 1206, 100, 740, 210]
    lay = zoo_cnn_layout(1)
    names = ("conv1", "conv2", "conv3", "fc1", "fc2")
    starts = [lay.layer_slice(n).start for n in names]
    lengths = [lay.layer_slice(n).stop - lay.layer_slice(n).start for n in names]
    assert starts == [0, 208, 1414, 1514, 2254] and lengths == [208, 1206, 100, 740, 210]


def test_flatten_round_trip_and_module_order():
    lay = zoo_cnn_layout(3)
    flat = torch.randn(4, lay.n_params)
    assert torch.equal(lay.flatten(lay.unflatten(flat)), flat)
    m = SingleModel(zoo_cnn_name(3)).load_flat(flat[0])
    assert torch.equal(m.flat(), flat[0])
    assert torch.equal(m.conv1.weight.flatten(), flat[0, :600])  # weight first, then bias


def test_init_schemes_are_seeded_and_biases_are_001():
    lay = zoo_cnn_layout(1)
    for scheme in INITS:
        a, b = init_parameters(lay, scheme, 7), init_parameters(lay, scheme, 7)
        assert torch.equal(a, b) and not torch.equal(a, init_parameters(lay, scheme, 8))
        named = lay.unflatten(a)
        for layer in lay.layers:
            assert torch.all(named[f"{layer.name}.bias"] == 0.01)
    w = lay.unflatten(init_parameters(lay, "uniform", 1))["conv2.weight"]
    assert w.min() >= 0 and w.max() <= 1 and w.mean() > 0.4  # torch's default U(0, 1)


# ------------------------------------------------------------------ every registered architecture

ARCH_NAMES = sorted(ARCHITECTURES)


def _data(arch, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *arch.input_shape, generator=g, dtype=torch.float64)
    return SplitData(x, torch.randint(0, arch.n_classes, (n,), generator=g))


def test_parameter_counts_of_the_papers():
    counts = {name: a.n_params for name, a in ARCHITECTURES.items()}
    assert counts == {"zoo_cnn": 2464, "zoo_cnn_rgb": 2864, "cnn3_resskip": 2464 + 98,
                      "cnn4": 2464, "cnn4_idskip": 2464, "tetris_mlp": 100,
                      "unterthiner_cnn": 4970, "unterthiner_cnn_rgb": 5258,
                      "unterthiner_cnn_32": 4970}
    for a in ARCHITECTURES.values():
        assert sum(p.numel() for p in SingleModel(a).parameters()) == a.n_params
        assert Tokenizer(a.layout).n_tokens == sum(layer.out_features for layer in a.layers)


def test_table4_skip_network_starts_with_the_zoo_cnn():
    """'3-conv (gen.) + res-skip (r.i.)': the zoo CNN's 2464 parameters come first, in its order."""
    res, cnn = get_architecture("cnn3_resskip").layout, get_architecture("zoo_cnn").layout
    assert res.as_list()[:len(cnn.tensors)] == cnn.as_list()
    # the branches are kaiming-uniform whatever the zoo's scheme; the main path is not
    flat = init_parameters(res, "uniform", 3)
    assert torch.equal(flat[:cnn.n_params], init_parameters(cnn, "uniform", 3))
    assert (flat[cnn.n_params:] < 0).any()  # U(0, 1) would be non-negative


@pytest.mark.parametrize("name", ARCH_NAMES)
def test_population_forward_equals_the_reference_module(name):
    arch = get_architecture(name)
    flat = torch.stack([init_parameters(arch.layout, "kaiming_normal", s, torch.float64)
                        for s in range(3)])
    x = _data(arch, 5).x
    params = arch.layout.unflatten(flat)
    shared = population_forward(params, x, "tanh", arch=arch)
    per_model = population_forward(params, x.expand(3, *x.shape), "tanh", arch=arch)
    assert shared.shape == (3, 5, arch.n_classes)
    for i in range(3):
        ref = SingleModel(arch, "tanh").double().load_flat(flat[i]).eval()(x)
        assert torch.allclose(shared[i], ref, atol=1e-12)
        assert torch.allclose(per_model[i], ref, atol=1e-12)


@pytest.mark.parametrize("name", ARCH_NAMES)
def test_vectorised_training_equals_one_at_a_time_for_every_architecture(name):
    arch = get_architecture(name)
    data = _data(arch, 27)  # a ragged last batch
    specs = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3),
             ModelSpec(seed=2, init="xavier_normal", lr=3e-3, weight_decay=1e-3)]
    settings = TrainSettings(activation="relu", epochs=2, batch_size=10)
    res = train_population(specs, settings, data, {}, arch.layout, dtype=torch.float64)
    for i, spec in enumerate(specs):
        alone = train_one_at_a_time(spec, settings, data, dtype=torch.float64, layout=arch.layout)
        assert torch.allclose(res.weights[i, -1], alone, atol=1e-10, rtol=0), \
            (res.weights[i, -1] - alone).abs().max()
        assert not torch.equal(res.weights[i, -1], res.weights[i, 0])


@hsettings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), name=st.sampled_from(ARCH_NAMES),
       activation=st.sampled_from(["tanh", "relu"]))
def test_permuted_model_computes_the_same_function_for_every_architecture(seed, name, activation):
    arch = get_architecture(name)
    layout = arch.layout
    gen = torch.Generator().manual_seed(seed)
    flat = torch.randn(3, layout.n_params, generator=gen, dtype=torch.float64) * 0.3
    x = _data(arch, 8, seed=seed % 1000).x
    perms = random_permutations(layout, 3, gen)
    assert len(perms) == len(layout.groups) > 0
    permuted = flat.gather(-1, permutation_index(layout, perms))
    assert not torch.equal(permuted, flat)
    out = population_forward(layout.unflatten(permuted), x, activation, arch=arch)
    ref = population_forward(layout.unflatten(flat), x, activation, arch=arch)
    assert (out - ref).abs().max() < 1e-10


def test_skip_connections_tie_permutations():
    """Layers whose outputs a skip adds share one permutation; permuting one alone breaks it."""
    arch = get_architecture("cnn4_idskip")
    names = [layer.name for layer in arch.layers]
    tied = [g for g in arch.permutation_groups() if len(g.members) > 1]
    assert [[names[i] for i in g.members] for g in tied] == [["conv2", "conv4"]]
    res = get_architecture("cnn3_resskip").permutation_groups()
    assert [[names_ for names_ in (get_architecture("cnn3_resskip").layers[i].name
                                   for i in g.members)] for g in res][:3] == \
        [["conv1", "res1"], ["conv2", "res2"], ["conv3", "res3"]]
    # a chain-only treatment (conv2 permuted without conv4) changes the function
    from hyperreps.layout import ParameterLayout as PL
    chain = PL(arch.layers)  # no groups given: every layer its own
    gen = torch.Generator().manual_seed(1)
    flat = torch.randn(1, arch.n_params, generator=gen, dtype=torch.float64) * 0.3
    perms = {1: torch.tensor([[1, 0, 3, 2]])}  # conv2's 4 units, chain semantics
    broken = flat.gather(-1, permutation_index(chain, perms))
    x = _data(arch, 4).x
    diff = (population_forward(arch.layout.unflatten(broken), x, "tanh", arch=arch)
            - population_forward(arch.layout.unflatten(flat), x, "tanh", arch=arch))
    assert diff.abs().max() > 1e-3
