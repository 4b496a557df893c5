"""Job sizes (SLURM ``runtime`` in minutes, ``mem_mb``) from measured throughput.

A job's work is counted in floating-point operations and divided by a rate measured on the
reference machine (2 cores, AVX-512, torch 2.14.1; ``docs/benchmarks.md``):

- zoo shards and fine-tuning (:func:`hyperreps.trainer.loop.train_population`): FLOPs of one
  training step per image and model, counted by ``torch.utils.flop_counter`` for the zoo's
  architecture and image size, over the measured image-model passes/s of the M-curve
  (``benchmarks/bench_m_curve.py``); evaluation likewise with forward FLOPs;
- autoencoders: a transformer FLOP count (:func:`autoencoder_flops_per_checkpoint`) over the
  measured checkpoints/s of the demo autoencoders (logged by their training jobs, ``N
  checkpoints/s`` in ``logs/<name>/autoencoders/<zoo>/train_<variant>.log``).

GPU rates have not been measured yet (no GPU was lent to the sessions that measured): GPU jobs
are sized with the rates in :data:`ASSUMED_GPU_SPEEDUP`, which are assumptions and say so, until
a measurement replaces them: once ``benchmarks/gpu_check.py`` has run on a GPU and its JSON is
committed as ``docs/benchmarks/gpu_check.json``, :func:`gpu_speedup` reads the speed-ups from it.
Every estimate carries a safety factor (:data:`SLACK`) for a
slower or shared node.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import torch

from .architecture import get_architecture, init_parameters, zoo_cnn_name
from .data import dataset_info
from .trainer.evaluate import models_per_chunk_for
from .trainer.forward import per_model_nll, population_forward
from .tokens import Tokenizer

# Measured, CPU, 2 threads (docs/benchmarks.md, "M-curve: after"): training 29.3k image-model
# passes/s of the zoo CNN (digits) at M = 128 in chunks of 32; 0.93 MFLOP a pass.
CPU_TRAIN_PASSES_PER_S = 29_300
# Evaluation (forward only, chunks of 32 models x 16 images): 163k image-models/s.
CPU_EVAL_PASSES_PER_S = 163_000
# Below one chunk the rate per model is lower (M-curve, after: 20.8k passes/s at M = 8, 26.8k
# at 16, one model at a time 3.8k): fraction of the full rate.
SMALL_POPULATION_FRACTION = {1: 0.13, 8: 0.70, 16: 0.90}
# Autoencoder training, CPU, 2 threads: the demo's digits autoencoder (d_model 64, d_ff 128,
# latent 256, flatten, 48 tokens) trained 414-417 checkpoints/s (results/demo, 2026-11-23).
CPU_AE_REFERENCE = {"architecture": {"d_model": 64, "n_layers": 2, "d_ff": 128,
                                     "latent_dim": 256, "compression": "flatten",
                                     "projection_layers": 2, "projection_width": 64,
                                     "projection_dim": 16},
                    "n_params": 2464, "n_tokens": 48, "checkpoints_per_s": 414.0}
# NOT measured: how much faster a GPU job is assumed to run than the CPU rates above. Chosen
# low on purpose (a limit too short kills the job; too long only waits in the queue): the
# issue's GPU target is 100x one-at-a-time (about 15x this CPU rate) for zoo training, and
# the old sizing assumed 2000 checkpoints/s (about 600x) for the paper's autoencoder.
ASSUMED_GPU_SPEEDUP = {"zoo": 5.0, "autoencoder": 200.0}
# Where benchmarks/gpu_check.py's result is committed once a GPU has run it (issue 24): then
# the GPU speed-ups come from it (:func:`gpu_speedup`) and the assumptions above are unused.
GPU_CHECK_JSON = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "gpu_check.json"


@lru_cache(maxsize=None)
def gpu_speedup(kind: str) -> tuple[float, str]:
    """How much faster than the CPU rates a GPU job runs, for ``kind`` ``zoo`` or
    ``autoencoder``, and where the number comes from: measured (a full, non-quick
    ``gpu_check.json`` of a CUDA device in docs/benchmarks/) or ``assumed``."""
    try:
        result = json.loads(GPU_CHECK_JSON.read_text())
        if result.get("quick") or not str(result.get("device", "")).startswith("cuda"):
            raise ValueError("not a full GPU run")
        if kind == "zoo":
            part = result["parts"]["zoo_training"]
            best = max(r["models_epochs_per_s"] for r in part["curve"])
            return best * part["images_per_epoch"] / CPU_TRAIN_PASSES_PER_S, "measured"
        part = result["parts"]["autoencoder"]
        rate = part.get("train_bf16_checkpoints_per_s") or part["train_fp32_checkpoints_per_s"]
        ref = CPU_AE_REFERENCE
        n_params = get_architecture(zoo_cnn_name(1)).layout.n_params
        tokens = ae_tokens(get_architecture(zoo_cnn_name(1)).layout)
        cpu_rate = ref["checkpoints_per_s"] * autoencoder_flops_per_checkpoint(
            ref["architecture"], ref["n_params"], ref["n_tokens"]) / \
            autoencoder_flops_per_checkpoint(part["shape"], n_params, tokens)
        return rate / cpu_rate, "measured"
    except (OSError, ValueError, KeyError, TypeError):
        return ASSUMED_GPU_SPEEDUP[kind], "assumed"
SLACK = 2.0  # a slower or busier node than the reference machine
START_MINUTES = 3.0  # interpreter, imports, data loading, writing results
PROCESS_MB = 900  # resident size of a job's Python + torch + libraries, measured


@lru_cache(maxsize=None)
def training_flops_per_image(architecture: str) -> tuple[float, float]:
    """FLOPs of one model on one image: (training step: forward + backward, forward alone),
    counted by torch's FLOP counter on the architecture's own forward pass."""
    from torch.utils.flop_counter import FlopCounterMode

    arch = get_architecture(architecture)
    layout = arch.layout
    flat = init_parameters(layout, "uniform", 0)[None]
    params = {k: v.clone().requires_grad_(True) for k, v in layout.unflatten(flat).items()}
    x = torch.zeros((1, 1) + tuple(arch.input_shape))
    with FlopCounterMode(display=False) as fwd:
        loss = per_model_nll(population_forward(params, x, "tanh", arch=arch),
                             torch.zeros(1, 1, dtype=torch.long)).sum()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    return float(fwd.get_total_flops() + bwd.get_total_flops()), float(fwd.get_total_flops())


def _rates(device: str) -> tuple[float, float]:
    """(training, evaluation) FLOP/s: measured on the zoo CNN, so they carry over to any
    architecture through its FLOP count."""
    train_flops, eval_flops = training_flops_per_image(zoo_cnn_name(1))
    scale = gpu_speedup("zoo")[0] if device == "gpu" else 1.0
    return (CPU_TRAIN_PASSES_PER_S * train_flops * scale,
            CPU_EVAL_PASSES_PER_S * eval_flops * scale)


def population_training_minutes(n_models: int, epochs: int, train_images: int,
                                eval_images: int, architecture: str, device: str = "cpu"
                                ) -> int:
    """SLURM minutes of :func:`train_population` for ``n_models`` x ``epochs`` (every epoch's
    val/test evaluation and the epoch-0 evaluation of the train split included)."""
    train_rate, eval_rate = _rates(device)
    step_flops, fwd_flops = training_flops_per_image(architecture)
    per_chunk = models_per_chunk_for(torch.device("cuda" if device == "gpu" else "cpu"),
                                     n_models)
    small = [f for m, f in sorted(SMALL_POPULATION_FRACTION.items()) if per_chunk <= m]
    efficiency = small[0] if small else 1.0
    seconds = (n_models * epochs * train_images * step_flops / (train_rate * efficiency)
               + n_models * (epochs * eval_images + train_images) * fwd_flops / eval_rate)
    return math.ceil(START_MINUTES + SLACK * seconds / 60)


def population_job(architecture: str, dataset: str, n_models: int, epochs: int,
                   device: str = "cpu") -> tuple[int, int]:
    """(minutes, MB) of training ``n_models`` of ``architecture`` for ``epochs`` on
    ``dataset``: zoo shards and fine-tuning jobs, sized by rules/resources.smk and held to the
    largest machine by :mod:`hyperreps.config.limits`."""
    info = dataset_info(dataset)
    minutes = population_training_minutes(n_models, epochs, info.train_size,
                                          info.val_size + info.test_size, architecture, device)
    mem = population_memory_mb(n_models, epochs, get_architecture(architecture).layout.n_params,
                               info.train_size + info.val_size + info.test_size,
                               info.channels * info.image_size**2)
    return minutes, mem


def population_memory_mb(n_models: int, epochs: int, n_params: int, images: int,
                         image_values: int) -> int:
    """Peak resident MB of a population job: the process, the dataset (float32, with its
    loading copies), the weight history ``[M, E+1, P]`` held twice (the result and its
    serialised copy) and the resume checkpoint, and one chunk's activations."""
    data = images * image_values * 4 * 3
    history = n_models * (epochs + 1) * n_params * 4 * 3
    activations = 256 * 2**20  # one chunk of 32 models x batch 10, and the evaluation passes
    return int(PROCESS_MB + (data + history + activations) / 2**20)


def autoencoder_flops_per_checkpoint(architecture: dict, n_params: int, n_tokens: int
                                     ) -> float:
    """FLOPs of one training checkpoint: two augmented views through encoder, decoder and
    projection head, forward and backward (3x forward)."""
    d, ff, layers = architecture["d_model"], architecture["d_ff"], architecture["n_layers"]
    latent = architecture["latent_dim"]
    t_enc = n_tokens + (1 if architecture["compression"] == "token" else 0)

    def stack(t):
        return layers * (t * (4 * d * d + 2 * d * ff) + 2 * t * t * d)

    bottleneck = (d if architecture["compression"] == "token" else n_tokens * d) * latent
    width = architecture["projection_width"]
    head = (latent * width + max(0, architecture["projection_layers"] - 2) * width * width
            + width * architecture["projection_dim"])
    macs = 2 * n_params * d + stack(t_enc) + stack(n_tokens) + bottleneck \
        + latent * n_tokens * d + head
    return 2.0 * 3 * 2 * macs


def autoencoder_minutes(checkpoint_passes: float, architecture: dict, n_params: int,
                        n_tokens: int, device: str = "cpu") -> int:
    """SLURM minutes of an autoencoder training of ``checkpoint_passes`` (train checkpoints
    x epochs), at the measured CPU rate (FLOP/s of the demo autoencoder)."""
    ref = CPU_AE_REFERENCE
    rate = ref["checkpoints_per_s"] * autoencoder_flops_per_checkpoint(
        ref["architecture"], ref["n_params"], ref["n_tokens"])
    if device == "gpu":
        rate *= gpu_speedup("autoencoder")[0]
    flops = checkpoint_passes * autoencoder_flops_per_checkpoint(architecture, n_params,
                                                                 n_tokens)
    return math.ceil(START_MINUTES + SLACK * flops / rate / 60)


def ae_tokens(layout) -> int:
    """Tokens of a layout in the autoencoder (one per output neuron of each layer)."""
    return Tokenizer(layout).n_tokens


def autoencoder_device_mb(architecture: dict, n_params: int, n_tokens: int,
                          batch_size: int) -> float:
    """MB the autoencoder itself takes wherever it computes: its weights four times
    (parameters, gradients, Adam's two moments) and the activations of a batch of two views
    through both stacks (the attention matrices included), with the safety factor."""
    d, ff, layers = architecture["d_model"], architecture["d_ff"], architecture["n_layers"]
    t = n_tokens + 1
    bottleneck = (d if architecture["compression"] == "token" else n_tokens * d) * architecture[
        "latent_dim"] + architecture["latent_dim"] * n_tokens * d
    weights = 2 * layers * (4 * d * d + 2 * d * ff) + bottleneck + 2 * n_params * d
    activations = (2 * batch_size * 2 * layers * t
                   * (8 * d + 2 * ff + 2 * architecture.get("n_heads", 1) * t))
    return SLACK * 4 * (4 * weights + activations) / 2**20


def autoencoder_memory_mb(architecture: dict, n_params: int, n_tokens: int, batch_size: int,
                          checkpoints: int, device: str = "cpu") -> int:
    """Peak resident MB of an autoencoder job: the model (:func:`autoencoder_device_mb`) and
    the zoo's window of checkpoints (with a copy). On a GPU the model lives in device memory:
    the host holds the data."""
    data = SLACK * 4 * 2 * checkpoints * n_params / 2**20
    model = 0.0 if device == "gpu" else autoencoder_device_mb(architecture, n_params, n_tokens,
                                                              batch_size)
    return int(PROCESS_MB + model + data)
