"""Train a population of models of one architecture as one vectorised computation.

All M models of a shard run in one forward/backward (:func:`population_forward`, which
interprets any architecture of :mod:`hyperreps.architecture`): the convolutions are grouped
convolutions (``groups=M``), the linear layers batched matrix products over ``[M, B, .]``.
Each model keeps its own seed, initialisation, data order, learning rate, weight decay and
dropout rate; models are independent (the loss is the sum of per-model losses, and both Adam
and SGD act elementwise), so the result equals training each model alone: see
``tests/test_population.py``, which checks it against a plain ``torch.optim`` loop.

This is the project's only training loop: zoo training and the later fine-tuning of sampled
populations both call :func:`train_population`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .publish import atomic_path
from .architecture import (ModelArchitecture, ParameterLayout, activation_fn, architecture_of,
                           get_architecture, init_parameters, zoo_cnn_name)

log = logging.getLogger(__name__)
# The trainer presets each layer's .grad to a strided view of one [M, P] gradient buffer, so
# that backward accumulates in place; torch warns that such a gradient is not laid out like a
# dense parameter, which is intended here.
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout",
                        category=UserWarning)

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")
OPTIMIZERS = ("adam", "sgd")
DATA_ORDERS = ("per_model", "shared")
# Models per forward/backward on a CPU, and image-models per evaluation forward pass: chosen
# from the throughput curves in docs/benchmarks.md (2 cores, AVX-512; digits, batch 10).
CPU_MODELS_PER_CHUNK = 32
EVAL_IMAGE_MODELS_CPU = 512
EVAL_IMAGE_MODELS_CUDA = 1 << 16  # not yet measured on a GPU: a large pass, ~1 GB of conv1
CHECKPOINT_FORMAT = "population-state-v2"  # flat [M, P] parameters and optimiser state


@dataclass(frozen=True)
class ModelSpec:
    """What makes one model of a population: its seed and per-model hyperparameters."""

    seed: int
    init: str = "uniform"
    lr: float = 3e-4
    weight_decay: float = 0.0
    dropout: float = 0.0


@dataclass(frozen=True)
class TrainSettings:
    """Settings shared by every model of one population (shard)."""

    activation: str = "tanh"
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD only
    batch_size: int = 10
    epochs: int = 50
    data_order: str = "per_model"  # each model shuffles with its own seed, or one order for all
    shuffle_seed: int = 0  # seeds the shared order and the dropout masks

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {OPTIMIZERS}")
        if self.data_order not in DATA_ORDERS:
            raise ValueError(f"unknown data_order {self.data_order!r}; choose from {DATA_ORDERS}")
        activation_fn(self.activation)


@dataclass
class SplitData:
    """Images ``[N, C, 28, 28]`` (float) and labels ``[N]`` (int64) of one split."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device, dtype=None) -> "SplitData":
        return SplitData(self.x.to(device=device, dtype=dtype or self.x.dtype), self.y.to(device))


@dataclass
class TrainResult:
    """Weights ``[M, E+1, P]`` in the training dtype (epoch 0 = the initial state) and metrics
    ``[M, E+1]``; NaN where a model had diverged."""

    weights: torch.Tensor
    metrics: dict[str, np.ndarray]
    diverged_epoch: np.ndarray  # -1 where the model never diverged
    layout: ParameterLayout
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- forward pass


def population_forward(params: dict[str, torch.Tensor], x: torch.Tensor, activation: str,
                       dropout: torch.Tensor | None = None, generator=None,
                       arch: ModelArchitecture | None = None, uniforms=None) -> torch.Tensor:
    """Logits ``[M, B, classes]`` of M models of one architecture (default: the zoo CNN).

    ``params`` maps each tensor name of the architecture's layout to ``[M, *shape]``. ``x`` is
    either ``[B, C, H, W]`` (every model sees the same images) or ``[M, B, C, H, W]`` (each
    model its own batch). ``dropout`` (``[M]`` rates) applies in training only; its masks come
    from uniform draws ``[B, M, *shape]``, one per activation, taken from ``generator`` or from
    ``uniforms(k, B, shape)`` (the k-th activation's draws; the trainer's chunks share them).

    The ops run on all M models at once: convolutions as one grouped convolution
    (``groups=M``; activations ``[B, M*C, H, W]``, channels-last), linear layers as batched
    matrix products over ``[M, B, F]``; a shared input batch enters the first convolution
    ungrouped, with the M models' kernels stacked as output channels.
    """
    if arch is None:
        arch = get_architecture(zoo_cnn_name(params["conv1.weight"].shape[2]))
    act = activation_fn(activation)
    cl = torch.channels_last  # oneDNN's grouped convolutions are 2-3x faster in NHWC
    M = next(iter(params.values())).shape[0]
    if x.dim() == 5:  # per-model batches
        B = x.shape[1]
        h, mode = x.transpose(0, 1).reshape(B, M * x.shape[2], *x.shape[-2:]), "grouped"
    else:
        B = x.shape[0]
        h, mode = x, "shared"
    h = h.contiguous(memory_format=cl)
    use_dropout = dropout is not None and bool((dropout > 0).any())

    if use_dropout and uniforms is None:
        def uniforms(k, batch, shape):
            return torch.rand((batch, M) + shape, generator=generator, device=h.device,
                              dtype=h.dtype)
    n_drawn = 0

    def drop(h, per_model_shape):
        nonlocal n_drawn
        keep = (1.0 - dropout).to(h.dtype)
        mask_shape = (B, M) + per_model_shape
        u = uniforms(n_drawn, B, per_model_shape)
        n_drawn += 1
        keep_b = keep.view((1, M) + (1,) * len(per_model_shape))
        mask = (u < keep_b).to(h.dtype) / keep_b.clamp_min(1e-12)
        return (h.reshape(mask_shape) * mask).reshape(h.shape)

    def to_linear(h, mode):  # -> [M, B, F]
        if mode == "linear":
            return h
        if mode == "shared":
            return h.reshape(B, -1).expand(M, -1, -1)
        return h.contiguous().reshape(B, M, -1).transpose(0, 1)  # per-model (c, h, w) order

    def apply(op, h, mode):
        if op.kind == "layer":
            layer = op.layer
            w = params[f"{layer.name}.weight"]
            b = params.get(f"{layer.name}.bias") if layer.bias else None
            if layer.kind == "conv":
                w = _channels_last(w.reshape(-1, *w.shape[2:]))
                h = F.conv2d(h, w, None if b is None else b.reshape(-1), layer.stride,
                             layer.padding, groups=1 if mode == "shared" else M)
                return h, "grouped"
            h = to_linear(h, mode)
            wt = w.transpose(1, 2)
            return (torch.bmm(h, wt) if b is None else torch.baddbmm(b.unsqueeze(1), h, wt),
                    "linear")
        if op.kind == "maxpool":
            return F.max_pool2d(h, op.size, op.stride, op.padding), mode
        if op.kind == "crop":
            return h[..., op.size:-op.size, op.size:-op.size], mode
        if op.kind == "subsample":
            return h[..., ::op.size, ::op.size], mode
        if op.kind == "flatten":
            return to_linear(h, mode), "linear"
        if op.kind == "global_avgpool":
            if mode != "grouped":
                raise ValueError("global average pooling needs a convolution before it")
            return h.mean(dim=(2, 3)).reshape(B, M, -1).transpose(0, 1), "linear"
        raise ValueError(f"op {op.kind!r} here")

    def as_mode(t, t_mode, mode):
        if t_mode == mode:
            return t
        if mode == "linear":
            return to_linear(t, t_mode)
        return t.repeat(1, M, 1, 1)  # a shared (input) activation added to grouped ones

    saved = {}
    for op in arch.ops:
        if op.kind == "act":
            h = act(h)
            if use_dropout:
                if mode == "linear":
                    h = drop(h.transpose(0, 1), (h.shape[-1],)).transpose(0, 1)
                else:
                    h = drop(h, (h.shape[1] // M, *h.shape[-2:]))
        elif op.kind == "save":
            saved[op.tag] = (h, mode)
        elif op.kind == "add":
            t, t_mode = saved[op.tag]
            for bop in op.branch:
                t, t_mode = apply(bop, t, t_mode)
            h = h + as_mode(t, t_mode, mode)
        else:
            h, mode = apply(op, h, mode)
    return to_linear(h, mode)


def _channels_last(w: torch.Tensor) -> torch.Tensor:
    """``w`` in channels-last memory, unambiguously so. With one input channel the channels-last
    and the standard layout coincide, and torch then runs the convolution, and writes its
    output, in the standard layout: the max pooling that follows was 10-20x slower there (the
    evaluation's first convolution, and any population of one)."""
    w = w.contiguous(memory_format=torch.channels_last)
    if w.shape[1] == 1:
        w = w.as_strided(w.shape, (w.shape[2] * w.shape[3], 1, w.shape[3], 1))
    return w


def per_model_nll(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per model: logits ``[M, B, 10]``, y ``[B]`` or ``[M, B]``."""
    logp = F.log_softmax(logits, dim=-1)
    if y.dim() == 1:
        y = y.expand(logits.shape[0], -1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(dim=1)


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
    layout = layout or ParameterLayout.for_channels(data.x.shape[1])
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
    layout = layout or ParameterLayout.for_channels(data.x.shape[1])
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


# --------------------------------------------------------------------------- optimiser


class PopulationOptimizer:
    """Adam or SGD over a population's flat parameters ``[M, P]``, with per-model learning rate
    and weight decay, as one fused elementwise update per chunk of models.

    Reproduces ``torch.optim.Adam`` / ``torch.optim.SGD`` (L2 weight decay added to the
    gradient, Adam's bias corrections, SGD momentum without dampening) model by model; torch's
    optimisers take one scalar lr per parameter group, which cannot vary along the model axis.
    ``params``, ``grads`` and the two state buffers are single ``[M, P]`` tensors (the models'
    layer tensors are views of them), so a step is ten elementwise operations on one block of
    memory rather than ten per layer tensor.
    """

    def __init__(self, params: torch.Tensor, grads: torch.Tensor, kind: str, lr: torch.Tensor,
                 weight_decay: torch.Tensor, momentum: float = 0.9,
                 betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.grads, self.kind = params, grads, kind
        self.lr = lr.to(params.dtype).view(-1, 1)  # [M, 1], converted once
        self.wd = weight_decay.to(params.dtype).view(-1, 1)
        self.momentum, self.betas, self.eps = momentum, betas, eps
        self.step_count = 0
        self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)

    def begin_step(self):
        """Count one optimisation step (all chunks of a step share Adam's bias corrections)."""
        self.step_count += 1

    @torch.no_grad()
    def update(self, rows: slice, keep: torch.Tensor):
        """Apply the current step to models ``rows``; models where ``keep`` is False stay."""
        t = self.step_count
        b1, b2 = self.betas
        p, m = self.params[rows], self.m[rows]
        g = self.grads[rows] + self.wd[rows] * p
        if self.kind == "adam":
            v = self.v[rows]
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2**t)).add_(self.eps)
            update = (self.lr[rows] / (1 - b1**t)) * m / denom
        else:  # sgd with momentum, dampening 0, as torch.optim.SGD
            if t == 1:
                m.copy_(g)
            else:
                m.mul_(self.momentum).add_(g)
            update = self.lr[rows] * m if self.momentum else self.lr[rows] * g
        p.sub_(torch.where(keep.view(-1, 1), update, 0.0))

    @torch.no_grad()
    def reset_models(self, idx: torch.Tensor):
        self.m[idx] = 0
        self.v[idx] = 0


class _DropoutDraws:
    """One step's uniform draws for the dropout masks, taken for all M models at the first
    request of each activation (as one unchunked forward pass would) and sliced for each chunk
    of models, so that the random stream does not depend on the chunk size."""

    def __init__(self, generator: torch.Generator, n_models: int, dtype, device):
        self.generator, self.n_models, self.dtype, self.device = generator, n_models, dtype, device
        self.draws: list[torch.Tensor] = []

    def new_step(self):
        self.draws = []

    def for_rows(self, rows: slice):
        def uniforms(k: int, batch: int, shape: tuple) -> torch.Tensor:
            if k == len(self.draws):
                self.draws.append(torch.rand((batch, self.n_models) + shape,
                                             generator=self.generator, device=self.device,
                                             dtype=self.dtype))
            return self.draws[k][:, rows]
        return uniforms


# --------------------------------------------------------------------------- training


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    # steps, not epochs: an epoch of a large zoo can take minutes; in a log file one line
    # every 30 s at most
    return tqdm(total=total, desc=desc, unit="step", mininterval=30.0, maxinterval=120.0,
                smoothing=0.05, disable=not enabled)


def train_population(specs: list[ModelSpec], settings: TrainSettings, train: SplitData,
                     evals: dict[str, SplitData], layout: ParameterLayout,
                     device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                     init_weights: torch.Tensor | None = None, progress: bool = False,
                     on_epoch=None, checkpoint: str | os.PathLike | None = None,
                     models_per_chunk: int | None = None) -> TrainResult:
    """Train M models for ``settings.epochs`` epochs; record every epoch (0 = before training).

    ``evals`` maps 'val' / 'test' to held-out splits evaluated after every epoch. Train loss and
    accuracy are the running means over the epoch's batches (as the reference ``NNmodule``);
    at epoch 0 they are evaluated on the whole train split. ``init_weights`` ``[M, P]`` starts
    from given weights (fine-tuning) instead of the models' seeded initialisation. A model
    whose loss or weights become non-finite is marked diverged at that epoch: it stops
    updating at once, its later weights and metrics are NaN; the other models go on.

    Each step runs the models ``models_per_chunk`` at a time (default
    :func:`models_per_chunk_for` the device); the models are independent, so the chunking
    changes nothing but speed (the dropout draws are shared across chunks).

    With ``checkpoint`` (a file path) the complete training state is written there after every
    epoch (atomically), and a run that finds a checkpoint of the same population resumes after
    its last epoch with the same result as an uninterrupted run. The caller deletes the file
    once the result is safely stored.
    """
    device = torch.device(device)
    arch = architecture_of(layout)
    M, P, E, B = len(specs), layout.n_params, settings.epochs, settings.batch_size
    if M == 0:
        raise ValueError("a population needs at least one model")
    if init_weights is None:
        init = torch.stack([init_parameters(layout, s.init, s.seed, dtype) for s in specs])
    else:
        if tuple(init_weights.shape) != (M, P):
            raise ValueError(f"init_weights must be [{M}, {P}], got {tuple(init_weights.shape)}")
        init = init_weights.to(dtype)
    per_chunk = min(M, models_per_chunk or models_per_chunk_for(device, M))
    chunks = [slice(r, min(r + per_chunk, M)) for r in range(0, M, per_chunk)]

    # All models' parameters and gradients are two [M, P] buffers. Each chunk trains leaf
    # tensors that are views of its rows, with their .grad preset to views of the gradient
    # buffer: backward accumulates in place, and the optimiser updates the rows in one go.
    flat = init.to(device).clone()
    grads = torch.zeros_like(flat)

    def leaves(rows: slice) -> dict[str, torch.Tensor]:
        out = {}
        g = layout.unflatten(grads[rows])
        for k, v in layout.unflatten(flat[rows]).items():
            leaf = v.detach().requires_grad_(True)
            leaf.grad = g[k]
            out[k] = leaf
        return out

    chunk_params = [leaves(rows) for rows in chunks]
    params = layout.unflatten(flat)  # all models, for evaluation (views)

    train = train.to(device, dtype)
    evals = {k: v.to(device, dtype) for k, v in evals.items()}
    lr = torch.tensor([s.lr for s in specs], device=device, dtype=torch.float64)
    wd = torch.tensor([s.weight_decay for s in specs], device=device, dtype=torch.float64)
    dropout = torch.tensor([s.dropout for s in specs], device=device, dtype=dtype)
    use_dropout = any(s.dropout > 0 for s in specs)
    opt = PopulationOptimizer(flat, grads, settings.optimizer, lr, wd, settings.momentum)

    order_gens = [torch.Generator().manual_seed(int(s.seed)) for s in specs]
    shared_gen = torch.Generator().manual_seed(int(settings.shuffle_seed))
    drop_gen = torch.Generator(device=device).manual_seed(int(settings.shuffle_seed) + 1)
    draws = _DropoutDraws(drop_gen, M, dtype, device)

    weights = torch.full((M, E + 1, P), float("nan"), dtype=dtype)
    metrics = {k: np.full((M, E + 1), np.nan, dtype=np.float64) for k in METRICS}
    diverged_epoch = np.full(M, -1, dtype=np.int64)
    active = torch.ones(M, dtype=torch.bool, device=device)

    def mark_diverged(bad: torch.Tensor, epoch: int):
        """Record models ``bad`` as diverged in ``epoch`` and park them at zero, so that no NaN
        reaches a sum over models; ``bad`` may include models already stopped in this epoch."""
        idx = torch.nonzero(bad).flatten()
        if len(idx) == 0:
            return
        for i in idx.tolist():
            if diverged_epoch[i] < 0:
                diverged_epoch[i] = epoch
                log.warning("model seed=%d diverged in epoch %d", specs[i].seed, epoch)
        active[idx] = False
        with torch.no_grad():
            flat[idx] = 0
        opt.reset_models(idx)

    def record(epoch: int, train_loss=None, train_acc=None):
        w = flat.detach()
        mark_diverged(~torch.isfinite(w).all(dim=1) & active, epoch)
        ok = active.cpu().numpy()
        weights[ok, epoch] = w[active].cpu()
        for split, data in evals.items():
            loss, acc = evaluate_population(params, data, settings.activation, arch=arch,
                                            models_per_chunk=per_chunk)
            metrics[f"{split}_loss"][ok, epoch] = loss.numpy()[ok]
            metrics[f"{split}_acc"][ok, epoch] = acc.numpy()[ok]
        if train_loss is None:
            train_loss, train_acc = evaluate_population(params, train, settings.activation,
                                                        arch=arch, models_per_chunk=per_chunk)
        metrics["train_loss"][ok, epoch] = np.asarray(train_loss)[ok]
        metrics["train_acc"][ok, epoch] = np.asarray(train_acc)[ok]

    fingerprint = hashlib.sha256(json.dumps(
        [CHECKPOINT_FORMAT, [asdict(s) for s in specs], asdict(settings), P, len(train),
         str(dtype),
         None if init_weights is None else hashlib.sha256(init.cpu().numpy().tobytes()).hexdigest()],
        sort_keys=True).encode()).hexdigest()
    gens = {"order": order_gens, "shared": [shared_gen], "drop": [drop_gen]}
    start = 1
    if checkpoint is not None and Path(checkpoint).exists():
        done = _load_checkpoint(checkpoint, fingerprint, flat, opt, weights, metrics,
                                diverged_epoch, active, gens)
        if done is not None:
            start = done + 1
            log.info("resuming from %s after epoch %d", checkpoint, done)
    if start == 1:
        record(0)
        if on_epoch:
            on_epoch(0, metrics)
    N = len(train)
    n_steps = math.ceil(N / B)
    bar = _progress_bar(E * n_steps, progress, f"training {M} models")
    bar.update((start - 1) * n_steps)
    for epoch in range(start, E + 1):
        if settings.data_order == "per_model":
            order = torch.stack([torch.randperm(N, generator=g) for g in order_gens]).to(device)
        else:
            order = torch.randperm(N, generator=shared_gen).to(device)
        loss_sum = torch.zeros(M, dtype=torch.float64, device=device)
        correct = torch.zeros(M, dtype=torch.float64, device=device)
        # No host synchronisation inside the epoch: a non-finite loss clears the model's
        # `active` flag on the device (it then takes no further update); the models stopped
        # this way are recorded and parked after the epoch.
        for s in range(n_steps):
            steps = slice(s * B, (s + 1) * B)
            opt.begin_step()
            if use_dropout:
                draws.new_step()
            for rows, chunk in zip(chunks, chunk_params):
                idx = order[rows, steps] if settings.data_order == "per_model" else order[steps]
                xb, yb = train.x[idx], train.y[idx]
                logits = population_forward(
                    chunk, xb, settings.activation, dropout[rows] if use_dropout else None,
                    arch=arch, uniforms=draws.for_rows(rows) if use_dropout else None)
                losses = per_model_nll(logits, yb)
                finite = torch.isfinite(losses)
                keep = active[rows] & finite
                total = torch.where(keep, losses, 0.0).sum()
                grads[rows].zero_()
                total.backward()
                opt.update(rows, keep)
                active[rows] = keep
                with torch.no_grad():
                    nb = idx.shape[-1]
                    loss_sum[rows] += torch.where(finite, losses, 0).detach().double() * nb
                    yb_m = yb if yb.dim() == 2 else yb.expand(len(logits), -1)
                    correct[rows] += (logits.argmax(-1) == yb_m).sum(1).double()
            bar.update()
        stopped = torch.from_numpy(diverged_epoch < 0).to(device) & ~active
        mark_diverged(stopped, epoch)
        record(epoch, (loss_sum / N).float().cpu().numpy(), (correct / N).float().cpu().numpy())
        if checkpoint is not None:
            _save_checkpoint(checkpoint, fingerprint, epoch, flat, opt, weights, metrics,
                             diverged_epoch, active, gens)
        if on_epoch:
            on_epoch(epoch, metrics)
    bar.close()
    return TrainResult(weights=weights, metrics=metrics, diverged_epoch=diverged_epoch,
                       layout=layout)


# --------------------------------------------------------------------------- resumable state


def _save_checkpoint(path, fingerprint, epoch, flat, opt, weights, metrics, diverged_epoch,
                     active, gens):
    from safetensors.torch import save_file

    t = {"params": flat.detach().cpu().contiguous(), "opt_m": opt.m.cpu().contiguous(),
         "opt_v": opt.v.cpu().contiguous(), "weights": weights.contiguous()}
    t.update({f"metric.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in metrics.items()})
    t["diverged_epoch"] = torch.from_numpy(diverged_epoch.copy())
    t["active"] = active.cpu()
    for name, gs in gens.items():
        t[f"gen.{name}"] = torch.stack([g.get_state() for g in gs])
    with atomic_path(path) as tmp:
        save_file(t, str(tmp), metadata={"fingerprint": fingerprint, "epoch": str(epoch),
                                         "step_count": str(opt.step_count)})


def _load_checkpoint(path, fingerprint, flat, opt, weights, metrics, diverged_epoch, active,
                     gens) -> int | None:
    """Restore the state in place; the epoch it was saved after, or None if it does not fit."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("fingerprint") != fingerprint:
                log.warning("%s belongs to another population: starting afresh", path)
                return None
            t = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        log.warning("%s unreadable (%s): starting afresh", path, e)
        return None
    with torch.no_grad():
        flat.copy_(t["params"])
        opt.m.copy_(t["opt_m"])
        opt.v.copy_(t["opt_v"])
    opt.step_count = int(meta["step_count"])
    weights.copy_(t["weights"])
    for k in metrics:
        metrics[k][...] = t[f"metric.{k}"].numpy()
    diverged_epoch[...] = t["diverged_epoch"].numpy()
    active.copy_(t["active"])
    for name, gs in gens.items():
        for g, state in zip(gs, t[f"gen.{name}"]):
            g.set_state(state.clone())  # a fresh tensor: set_state ignores a view's offset
    return int(meta["epoch"])
