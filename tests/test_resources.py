"""Job sizes follow from FLOP counts and the measured rates."""

import pytest

from hyperreps.architecture import get_architecture
from hyperreps.resources import (ae_tokens, autoencoder_flops_per_checkpoint,
                                 autoencoder_memory_mb, autoencoder_minutes,
                                 population_memory_mb, population_training_minutes,
                                 training_flops_per_image)

PAPER_AE = {"d_model": 972, "n_layers": 2, "n_heads": 12, "d_ff": 1140, "latent_dim": 700,
            "projection_layers": 4, "projection_width": 400, "projection_dim": 50,
            "compression": "token"}


def test_zoo_cnn_flops_match_a_count_by_hand():
    # forward MACs: conv1 24*24*8*25, conv2 8*8*6*200, conv3 3*3*4*24, fc 36*20 + 20*10
    forward_macs = 24 * 24 * 8 * 25 + 8 * 8 * 6 * 200 + 3 * 3 * 4 * 24 + 36 * 20 + 20 * 10
    step, forward = training_flops_per_image("zoo_cnn")
    assert forward == pytest.approx(2 * forward_macs, rel=0.01)
    # backward: conv1's weight gradient only (its input needs none), the rest both gradients
    assert step == pytest.approx(forward + 2 * (2 * forward_macs - 24 * 24 * 8 * 25), rel=0.01)


def test_training_minutes_scale_with_the_work():
    base = population_training_minutes(100, 50, 50_000, 20_000, "zoo_cnn")
    assert population_training_minutes(200, 50, 50_000, 20_000, "zoo_cnn") > 1.9 * base - 5
    assert population_training_minutes(100, 50, 50_000, 20_000, "zoo_cnn_rgb") > base
    assert population_training_minutes(100, 50, 50_000, 20_000, "zoo_cnn", "gpu") < base
    # the paper's MNIST shard of 100 models x 50 epochs: 29.3k passes/s measured, slack 2
    assert 250 < base < 400
    # below one chunk a model trains slower: 8 models take more than 8/32 of 32 models' time
    assert (population_training_minutes(8, 50, 50_000, 0, "zoo_cnn") - 3
            > (population_training_minutes(32, 50, 50_000, 0, "zoo_cnn") - 3) / 4)


def test_memory_counts_the_weight_history():
    small = population_memory_mb(100, 50, 2464, 70_000, 784)
    big = population_memory_mb(1000, 50, 2464, 70_000, 784)
    # 900 models more x 51 epochs x 2464 parameters x 4 bytes, held three times
    assert big - small == pytest.approx(900 * 51 * 2464 * 4 * 3 / 2**20, abs=2)


def test_autoencoder_sizes():
    layout = get_architecture("zoo_cnn").layout
    tokens = ae_tokens(layout)
    paper = autoencoder_flops_per_checkpoint(PAPER_AE, layout.n_params, tokens)
    half = autoencoder_flops_per_checkpoint({**PAPER_AE, "d_model": 486, "d_ff": 570},
                                            layout.n_params, tokens)
    assert 3.0 < paper / half < 4.2  # dominated by d^2 terms
    work = 700 * 5 * 1750
    assert autoencoder_minutes(work, PAPER_AE, layout.n_params, tokens, "gpu") < \
        autoencoder_minutes(work, PAPER_AE, layout.n_params, tokens)
    cpu_mem = autoencoder_memory_mb(PAPER_AE, layout.n_params, tokens, 500, 5000)
    gpu_mem = autoencoder_memory_mb(PAPER_AE, layout.n_params, tokens, 500, 5000, "gpu")
    assert gpu_mem < cpu_mem


def test_gpu_speedups_come_from_a_committed_gpu_check(tmp_path, monkeypatch):
    import json

    from hyperreps import resources

    monkeypatch.setattr(resources, "GPU_CHECK_JSON", tmp_path / "gpu_check.json")
    resources.gpu_speedup.cache_clear()
    assert resources.gpu_speedup("zoo") == (resources.ASSUMED_GPU_SPEEDUP["zoo"], "assumed")
    result = {"device": "cuda:0", "quick": False, "parts": {
        "zoo_training": {"images_per_epoch": 2000, "curve": [
            {"models_epochs_per_s": 100.0}, {"models_epochs_per_s": 146.5}]},
        "autoencoder": {"shape": resources.CPU_AE_REFERENCE["architecture"] | {
            "n_heads": 4, "dropout": 0.0},
            "train_fp32_checkpoints_per_s": 4140.0}}}
    (tmp_path / "gpu_check.json").write_text(json.dumps(result))
    resources.gpu_speedup.cache_clear()
    zoo, source = resources.gpu_speedup("zoo")
    assert source == "measured"
    assert zoo == pytest.approx(146.5 * 2000 / resources.CPU_TRAIN_PASSES_PER_S)
    # the demo autoencoder's own shape: 10x its CPU rate
    assert resources.gpu_speedup("autoencoder")[0] == pytest.approx(10.0, rel=0.01)
    (tmp_path / "gpu_check.json").write_text(json.dumps(dict(result, quick=True)))
    resources.gpu_speedup.cache_clear()
    assert resources.gpu_speedup("zoo")[1] == "assumed"  # a CPU quick run is no measurement
    resources.gpu_speedup.cache_clear()
