"""Evaluation of populations: loss and accuracy per model, class probabilities, and how many
models and images one pass takes.

Every function runs models through :func:`~hyperreps.trainer.forward.population_forward` in
chunks: ``models_per_chunk_for`` models at a time, ``eval_image_models_for // models`` images
at a time (sizes from the throughput curves in ``docs/benchmarks.md``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..architecture import ModelArchitecture, architecture_of, zoo_cnn_layout
from ..data import SplitData
from ..layout import ParameterLayout
from .forward import population_forward

# Models per forward/backward on a CPU, and image-models per evaluation forward pass: chosen
# from the throughput curves in docs/benchmarks.md (2 cores, AVX-512; digits, batch 10).
CPU_MODELS_PER_CHUNK = 32
EVAL_IMAGE_MODELS_CPU = 512
EVAL_IMAGE_MODELS_CUDA = 1 << 16  # not yet measured on a GPU: a large pass, ~1 GB of conv1


def models_per_chunk_for(device: torch.device, n_models: int) -> int:
    """How many models one forward/backward takes: on a CPU :data:`CPU_MODELS_PER_CHUNK`
    (the population's working set then stays in cache; see ``docs/benchmarks.md``), on a GPU
    the whole population."""
    return n_models if device.type == "cuda" else min(n_models, CPU_MODELS_PER_CHUNK)


def eval_image_models_for(device: torch.device) -> int:
    """Image-models per evaluation forward pass (models x images)."""
    return EVAL_IMAGE_MODELS_CUDA if device.type == "cuda" else EVAL_IMAGE_MODELS_CPU


@torch.no_grad()
def evaluate_population(params: dict[str, torch.Tensor], data: SplitData, activation: str,
                        image_model_budget: int | None = None,
                        arch: ModelArchitecture | None = None, models_per_chunk: int | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean NLL and accuracy ``[M]`` of every model on the whole split (eval mode).

    Models go ``models_per_chunk`` at a time, images ``image_model_budget // models`` at a
    time (defaults: :func:`models_per_chunk_for` and :func:`eval_image_models_for` the
    device). On a CPU, 32 models x 16 images per pass ran 1.6x faster than the former
    128 models x 128 images, whose activations did not stay in cache."""
    first = next(iter(params.values()))
    M, dtype = first.shape[0], first.dtype
    per_chunk = min(M, models_per_chunk or models_per_chunk_for(first.device, M))
    chunk = max(1, (image_model_budget or eval_image_models_for(first.device)) // per_chunk)
    loss_sum = torch.zeros(M, dtype=torch.float64, device=data.x.device)
    correct = torch.zeros(M, dtype=torch.float64, device=data.x.device)
    for r in range(0, M, per_chunk):
        rows = slice(r, r + per_chunk)
        part = {k: v[rows] for k, v in params.items()}
        for i in range(0, len(data), chunk):
            xb, yb = data.x[i : i + chunk].to(dtype), data.y[i : i + chunk]
            logits = population_forward(part, xb, activation, arch=arch)
            logp = F.log_softmax(logits, dim=-1)
            nll = -logp.gather(-1, yb.expand(len(logits), -1).unsqueeze(-1)).squeeze(-1)
            loss_sum[rows] += nll.sum(1).double()
            correct[rows] += (logits.argmax(-1) == yb).sum(1).double()
    n = max(len(data), 1)
    return (loss_sum / n).float().cpu(), (correct / n).float().cpu()


def evaluate_weights(weights: torch.Tensor, activations, data: SplitData,
                     device: str | torch.device = "cpu", chunk: int = 256,
                     layout: ParameterLayout | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy ``[N]`` of models given as flat weights ``[N, P]`` of one
    architecture (``layout``'s; default the zoo CNN for the data's channels), each with its
    activation (one name, or one per model). Non-finite models give NaN."""
    device = torch.device(device)
    n = len(weights)
    acts = [activations] * n if isinstance(activations, str) else list(activations)
    layout = layout or zoo_cnn_layout(data.x.shape[1])
    arch = architecture_of(layout)
    loss, acc = np.full(n, np.nan), np.full(n, np.nan)
    ok = torch.isfinite(weights).all(dim=1).numpy()
    data = data.to(device, torch.float32)
    for act in sorted(set(acts)):
        idx = np.nonzero(ok & (np.array(acts) == act))[0]
        for i in range(0, len(idx), chunk):
            part = idx[i:i + chunk]
            params = layout.unflatten(weights[part].float().to(device))
            l_, a_ = evaluate_population(params, data, act, arch=arch)
            loss[part], acc[part] = l_.numpy(), a_.numpy()
    return loss, acc


@torch.no_grad()
def class_probabilities(weights: torch.Tensor, activation: str, data: SplitData,
                        device="cpu", layout: ParameterLayout | None = None) -> torch.Tensor:
    """Softmax outputs ``[n, images, classes]`` of models given as flat weights."""
    device = torch.device(device)
    layout = layout or zoo_cnn_layout(data.x.shape[1])
    arch = architecture_of(layout)
    x = data.x.to(device, torch.float32)
    per_chunk = models_per_chunk_for(device, len(weights))
    images = max(1, eval_image_models_for(device) // per_chunk)
    out = []
    for i in range(0, len(weights), per_chunk):
        params = layout.unflatten(weights[i:i + per_chunk].float().to(device))
        logits = torch.cat([population_forward(params, x[j:j + images], activation, arch=arch)
                            for j in range(0, len(x), images)], dim=1)
        out.append(logits.softmax(-1).cpu())
    return torch.cat(out)
