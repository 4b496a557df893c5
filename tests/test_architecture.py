import torch

from hyperreps.architecture import INITS, ParameterLayout, ZooCNN, init_parameters


def test_parameter_counts_match_the_papers():
    assert ParameterLayout.for_channels(1).n_params == 2464
    assert ParameterLayout.for_channels(3).n_params == 2864
    for c in (1, 3):
        assert sum(p.numel() for p in ZooCNN(c).parameters()) == ParameterLayout.for_channels(c).n_params


def test_layout_matches_reference_index_dict():
    # WSL21 index_dict.json: idx_start [0, 208, 1414, 1514, 2254], lengths [208, 1206, 100, 740, 210]
    lay = ParameterLayout.for_channels(1)
    starts = [lay.layer_slice(n).start for n in ("conv1", "conv2", "conv3", "fc1", "fc2")]
    lengths = [lay.layer_slice(n).stop - lay.layer_slice(n).start for n in ("conv1", "conv2", "conv3", "fc1", "fc2")]
    assert starts == [0, 208, 1414, 1514, 2254] and lengths == [208, 1206, 100, 740, 210]


def test_flatten_round_trip_and_module_order():
    lay = ParameterLayout.for_channels(3)
    flat = torch.randn(4, lay.n_params)
    assert torch.equal(lay.flatten(lay.unflatten(flat)), flat)
    m = ZooCNN(3).load_flat(flat[0])
    assert torch.equal(m.flat(), flat[0])
    assert torch.equal(m.conv1.weight.flatten(), flat[0, :600])  # weight first, then bias


def test_init_schemes_are_seeded_and_biases_are_001():
    lay = ParameterLayout.for_channels(1)
    for scheme in INITS:
        a, b = init_parameters(lay, scheme, 7), init_parameters(lay, scheme, 7)
        assert torch.equal(a, b) and not torch.equal(a, init_parameters(lay, scheme, 8))
        named = lay.unflatten(a)
        for layer in lay.layers:
            assert torch.all(named[f"{layer.name}.bias"] == 0.01)
    w = lay.unflatten(init_parameters(lay, "uniform", 1))["conv2.weight"]
    assert w.min() >= 0 and w.max() <= 1 and w.mean() > 0.4  # torch's default U(0, 1)
