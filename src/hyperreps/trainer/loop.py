"""The training loop: M models of one architecture trained together, epoch by epoch.

:func:`train_population` is the project's only training loop: zoo training
(:mod:`hyperreps.zoos.shards`) and the fine-tuning of sampled populations both call it.
What it takes and gives is described in :mod:`.specs`.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..architecture import architecture_of, init_parameters
from ..data import SplitData
from ..layout import ParameterLayout
from ..metrics import METRICS
from .evaluate import models_per_chunk_for
from .forward import per_model_nll, population_forward
from .optim import PopulationOptimizer
from .specs import ModelSpec, TrainResult, TrainSettings
from .state import TrainingState, load_checkpoint, population_fingerprint, save_checkpoint

log = logging.getLogger(__name__)

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


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    # steps, not epochs: an epoch of a large zoo can take minutes; in a log file one line
    # every 30 s at most
    return tqdm(total=total, desc=desc, unit="step", mininterval=30.0, maxinterval=120.0,
                smoothing=0.05, disable=not enabled)


@contextmanager
def _strided_grads_allowed():
    """The trainer presets each layer's .grad to a strided view of one [M, P] gradient buffer,
    so that backward accumulates in place; torch warns that such a gradient is not laid out
    like a dense parameter, which is intended here. Ignored while training, nowhere else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout",
                                category=UserWarning)
        yield


def _leaves(layout: ParameterLayout, flat: torch.Tensor, grads: torch.Tensor,
            rows: slice) -> dict[str, torch.Tensor]:
    """Leaf tensors that are views of ``flat[rows]``, their .grad views of ``grads[rows]``."""
    out = {}
    g = layout.unflatten(grads[rows])
    for k, v in layout.unflatten(flat[rows]).items():
        leaf = v.detach().requires_grad_(True)
        leaf.grad = g[k]
        out[k] = leaf
    return out


@_strided_grads_allowed()
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
    chunk_params = [_leaves(layout, flat, grads, rows) for rows in chunks]
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

    state = TrainingState(
        specs, settings, arch, per_chunk, train, evals, flat, params, opt,
        weights=torch.full((M, E + 1, P), float("nan"), dtype=dtype),
        metrics={k: np.full((M, E + 1), np.nan, dtype=np.float64) for k in METRICS},
        diverged_epoch=np.full(M, -1, dtype=np.int64),
        active=torch.ones(M, dtype=torch.bool, device=device),
        gens={"order": order_gens, "shared": [shared_gen], "drop": [drop_gen]})
    active = state.active

    fingerprint = population_fingerprint(specs, settings, P, len(train), dtype,
                                         None if init_weights is None else init)
    start = 1
    if checkpoint is not None and Path(checkpoint).exists():
        done = load_checkpoint(checkpoint, fingerprint, state)
        if done is not None:
            start = done + 1
            log.info("resuming from %s after epoch %d", checkpoint, done)
    if start == 1:
        state.record(0)
        if on_epoch:
            on_epoch(0, state.metrics)
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
        stopped = torch.from_numpy(state.diverged_epoch < 0).to(device) & ~active
        state.mark_diverged(stopped, epoch)
        state.record(epoch, (loss_sum / N).float().cpu().numpy(),
                     (correct / N).float().cpu().numpy())
        if checkpoint is not None:
            save_checkpoint(checkpoint, fingerprint, epoch, state)
        if on_epoch:
            on_epoch(epoch, state.metrics)
    bar.close()
    return TrainResult(weights=state.weights, metrics=state.metrics,
                       diverged_epoch=state.diverged_epoch, layout=layout)
