"""The vectorised population trainer equals training every model alone."""

import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings as hypothesis_settings, strategies as st

from hyperreps.architecture import (ACTIVATIONS, SingleModel, init_parameters, zoo_cnn_layout,
                                    zoo_cnn_name)
from hyperreps.data import SplitData
from hyperreps.metrics import METRICS
from hyperreps.trainer.evaluate import evaluate_population
from hyperreps.trainer.forward import _channels_last, population_forward
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings
from hyperreps.trainer.one_at_a_time import train_one_at_a_time


def toy_data(n=60, channels=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, 28, 28, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (n,), generator=g)
    return SplitData(x, y)


SPECS = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3),
         ModelSpec(seed=2, init="uniform", lr=3e-4, weight_decay=1e-3),
         ModelSpec(seed=3, init="xavier_normal", lr=3e-3),
         ModelSpec(seed=4, init="normal", lr=1e-4, weight_decay=0.1)]


@pytest.mark.parametrize("optimizer,order,activation", [
    ("adam", "per_model", "tanh"), ("adam", "shared", "relu"),
    ("sgd", "per_model", "gelu"), ("sgd", "shared", "sigmoid")])
def test_vectorised_equals_one_at_a_time(optimizer, order, activation):
    data = toy_data(n=47)  # a ragged last batch too
    settings = TrainSettings(activation=activation, optimizer=optimizer, epochs=2,
                             batch_size=10, data_order=order, shuffle_seed=7)
    specs = [s if optimizer == "adam" else ModelSpec(s.seed, s.init, s.lr / 10, s.weight_decay)
             for s in SPECS]
    layout = zoo_cnn_layout(1)
    res = train_population(specs, settings, data, {"test": toy_data(20, seed=1)}, layout,
                           dtype=torch.float64)
    for i, spec in enumerate(specs):
        alone = train_one_at_a_time(spec, settings, data, dtype=torch.float64)
        assert torch.allclose(res.weights[i, -1], alone, atol=1e-10, rtol=0), \
            (res.weights[i, -1] - alone).abs().max()
        assert not torch.equal(res.weights[i, -1], res.weights[i, 0])  # it did train


CHUNKED_SPECS = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3, dropout=0.3),
                 ModelSpec(seed=2, init="uniform", lr=3e-4, weight_decay=1e-3),
                 ModelSpec(seed=3, init="xavier_normal", lr=3e-3, dropout=0.5),
                 ModelSpec(seed=4, init="normal", lr=1e-4, weight_decay=0.1),
                 ModelSpec(seed=5, init="kaiming_normal", lr=1e-3)]


def _chunked_case(optimizer, order):
    ts = TrainSettings(activation="tanh", optimizer=optimizer, epochs=2, data_order=order,
                       shuffle_seed=3)
    return ts, toy_data(n=37), {"test": toy_data(20, seed=1)}, zoo_cnn_layout(1)


@functools.lru_cache(maxsize=None)
def _whole_population_run(optimizer, order):
    """The reference of the chunked test, once per (optimizer, order) for all its examples."""
    ts, train, test, layout = _chunked_case(optimizer, order)
    return train_population(CHUNKED_SPECS, ts, train, test, layout, dtype=torch.float64,
                            models_per_chunk=len(CHUNKED_SPECS))


@hypothesis_settings(max_examples=6, deadline=None)
@given(per_chunk=st.integers(1, 5), optimizer=st.sampled_from(["adam", "sgd"]),
       order=st.sampled_from(["per_model", "shared"]))
def test_chunked_training_equals_the_whole_population_at_once(per_chunk, optimizer, order):
    """Chunks of models per step change nothing but speed, dropout included: its draws are
    taken for the whole population and sliced per chunk."""
    ts, train, test, layout = _chunked_case(optimizer, order)
    whole = _whole_population_run(optimizer, order)
    chunked = train_population(CHUNKED_SPECS, ts, train, test, layout, dtype=torch.float64,
                               models_per_chunk=per_chunk)
    assert torch.allclose(chunked.weights, whole.weights, atol=1e-12, rtol=0)
    for k, v in whole.metrics.items():
        np.testing.assert_allclose(chunked.metrics[k], v, atol=1e-6, err_msg=k)


def test_chunked_evaluation_equals_one_pass():
    layout = zoo_cnn_layout(1)
    flat = torch.stack([init_parameters(layout, "kaiming_uniform", s, torch.float64)
                        for s in range(5)])
    data = toy_data(23, seed=5)
    loss, acc = evaluate_population(layout.unflatten(flat), data, "tanh", models_per_chunk=5,
                                    image_model_budget=10**6)
    for per_chunk, budget in [(1, 1), (2, 7), (3, 512)]:
        l2, a2 = evaluate_population(layout.unflatten(flat), data, "tanh",
                                     models_per_chunk=per_chunk, image_model_budget=budget)
        assert torch.allclose(l2, loss, atol=1e-6) and torch.equal(a2, acc)


@pytest.mark.parametrize("n_models", [1, 3])
def test_one_channel_convolutions_run_channels_last(n_models):
    """With one input channel the weight's layout is ambiguous and torch fell back to the
    standard layout, where the max pooling after conv1 was 10-20x slower (evaluation, and a
    population of one): conv1 must get an unambiguously channels-last weight."""
    layout = zoo_cnn_layout(1)
    params = layout.unflatten(torch.stack([init_parameters(layout, "uniform", s)
                                           for s in range(n_models)]))
    w = _channels_last(params["conv1.weight"].reshape(-1, 1, 5, 5))
    out = torch.nn.functional.conv2d(toy_data(4).x.float(), w)
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    assert torch.equal(w, params["conv1.weight"].reshape(-1, 1, 5, 5))


def test_three_channel_population_matches_module():
    layout = zoo_cnn_layout(3)
    flat = torch.stack([init_parameters(layout, "kaiming_normal", s, torch.float64)
                        for s in range(3)])
    x = toy_data(5, channels=3).x
    for act in ACTIVATIONS:
        out = population_forward(layout.unflatten(flat), x, act)
        for i in range(3):
            ref = SingleModel(zoo_cnn_name(3), act).double().load_flat(flat[i]).eval()(x)
            assert torch.allclose(out[i], ref, atol=1e-12)


def test_epoch_zero_is_initial_state_and_metrics_recorded():
    layout = zoo_cnn_layout(1)
    data = toy_data(30)
    res = train_population(SPECS[:2], TrainSettings(epochs=2), data,
                           {"val": toy_data(10, seed=2), "test": toy_data(10, seed=3)}, layout)
    for i, s in enumerate(SPECS[:2]):
        assert torch.equal(res.weights[i, 0], init_parameters(layout, s.init, s.seed))
    for key in METRICS:
        assert res.metrics[key].shape == (2, 3) and np.isfinite(res.metrics[key]).all()
    assert (res.diverged_epoch == -1).all()


@pytest.mark.parametrize("models_per_chunk", [None, 1, 2])
def test_diverged_model_is_recorded_and_others_unaffected(models_per_chunk):
    layout = zoo_cnn_layout(1)
    data = toy_data(40)
    settings = TrainSettings(optimizer="sgd", epochs=3, activation="relu")
    good = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3),
            ModelSpec(seed=2, init="kaiming_uniform", lr=1e-3)]
    bad = ModelSpec(seed=3, init="normal", lr=1e30)
    res = train_population([good[0], bad, good[1]], settings, data, {}, layout,
                           dtype=torch.float64, models_per_chunk=models_per_chunk)
    alone = train_population(good, settings, data, {}, layout, dtype=torch.float64)
    assert res.diverged_epoch[1] >= 1 and res.diverged_epoch[0] == res.diverged_epoch[2] == -1
    e = res.diverged_epoch[1]
    assert torch.isnan(res.weights[1, e:]).all()
    assert np.isnan(res.metrics["train_loss"][1, e:]).all()
    assert torch.isfinite(res.weights[1, :e]).all()
    assert torch.allclose(res.weights[[0, 2]], alone.weights, atol=1e-12)


def test_fine_tuning_starts_from_given_weights():
    layout = zoo_cnn_layout(1)
    start = torch.zeros(2, layout.n_params)
    res = train_population(SPECS[:2], TrainSettings(epochs=1), toy_data(20), {}, layout,
                           init_weights=start)
    assert torch.equal(res.weights[:, 0], start)
    with pytest.raises(ValueError, match="init_weights"):
        train_population(SPECS[:2], TrainSettings(epochs=1), toy_data(20), {}, layout,
                         init_weights=torch.zeros(3, layout.n_params))


class Interrupt(Exception):
    pass


def test_interrupted_training_resumes_to_the_same_result(tmp_path):
    layout = zoo_cnn_layout(1)
    data = toy_data(33)
    specs = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3, dropout=0.3),
             ModelSpec(seed=2, init="kaiming_uniform", lr=3e-3)]
    settings = TrainSettings(epochs=3)
    full = train_population(specs, settings, data, {"test": toy_data(9, seed=4)}, layout,
                            dtype=torch.float64)

    def stop_after_two(epoch, _metrics):
        if epoch == 2:
            raise Interrupt

    ckpt = tmp_path / "state.safetensors"
    with pytest.raises(Interrupt):
        train_population(specs, settings, data, {"test": toy_data(9, seed=4)}, layout,
                         dtype=torch.float64, checkpoint=ckpt, on_epoch=stop_after_two)
    assert ckpt.exists()
    seen = []
    resumed = train_population(specs, settings, data, {"test": toy_data(9, seed=4)}, layout,
                               dtype=torch.float64, checkpoint=ckpt,
                               on_epoch=lambda e, m: seen.append(e))
    assert seen == [3]  # epochs 0-2 were not redone
    assert torch.equal(resumed.weights, full.weights)
    np.testing.assert_array_equal(resumed.metrics["test_acc"], full.metrics["test_acc"])
    # a checkpoint of another population is ignored
    other = train_population(specs[:1], settings, data, {}, layout, dtype=torch.float64,
                             checkpoint=ckpt)
    assert other.weights.shape[0] == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():
    layout = zoo_cnn_layout(1)
    data = toy_data(40)
    settings = TrainSettings(epochs=2)
    cpu = train_population(SPECS, settings, data, {}, layout, dtype=torch.float64)
    gpu = train_population(SPECS, settings, data, {}, layout, dtype=torch.float64, device="cuda")
    assert torch.allclose(cpu.weights, gpu.weights, atol=1e-9)
