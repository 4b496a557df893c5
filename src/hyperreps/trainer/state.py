"""The state of a training run, and its checkpoints, so that an interrupted run resumes with
the same result.

:class:`TrainingState` holds what :func:`~hyperreps.trainer.loop.train_population` changes as
it trains, with the bookkeeping after each epoch (divergence, recorded weights and metrics).
After every epoch the loop can write that state to one safetensors file: the parameters and
the optimiser's state (flat ``[M, P]``), the weights and metrics recorded so far, which models
diverged or stopped, and the states of its random generators (data orders, dropout masks).
The file carries a fingerprint of the population that wrote it
(:func:`population_fingerprint`); a run resumes only from a checkpoint of its own population
and otherwise starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..architecture import ModelArchitecture
from ..data import SplitData
from ..publish import atomic_path
from .evaluate import evaluate_population
from .optim import PopulationOptimizer
from .specs import ModelSpec, TrainSettings
from ..tensor_files import save_tensors


log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "population-state-v2"  # flat [M, P] parameters and optimiser state


@dataclass
class TrainingState:
    """What one run of :func:`~hyperreps.trainer.loop.train_population` changes as it goes
    (in place), and what its per-epoch bookkeeping (:meth:`mark_diverged`, :meth:`record`)
    reads. A checkpoint saves and restores ``flat``, ``opt``, ``weights``, ``metrics``,
    ``diverged_epoch``, ``active`` and ``gens``."""

    specs: list[ModelSpec]
    settings: TrainSettings
    arch: ModelArchitecture
    per_chunk: int  # models per evaluation pass
    train: SplitData  # on the device, in the training dtype
    evals: dict[str, SplitData]
    flat: torch.Tensor  # [M, P]: every model's parameters, updated in place
    params: dict[str, torch.Tensor]  # views of ``flat``, one per layout tensor (evaluation)
    opt: PopulationOptimizer
    weights: torch.Tensor  # [M, E+1, P] recorded after every epoch, NaN once diverged
    metrics: dict[str, np.ndarray]  # each [M, E+1]
    diverged_epoch: np.ndarray  # [M], -1 while a model has not diverged
    active: torch.Tensor  # [M] bool on the device: the model still takes updates
    gens: dict[str, list[torch.Generator]]  # data orders ("order", "shared"), dropout ("drop")

    def mark_diverged(self, bad: torch.Tensor, epoch: int):
        """Record models ``bad`` as diverged in ``epoch`` and park them at zero, so that no NaN
        reaches a sum over models; ``bad`` may include models already stopped in this epoch."""
        idx = torch.nonzero(bad).flatten()
        if len(idx) == 0:
            return
        for i in idx.tolist():
            if self.diverged_epoch[i] < 0:
                self.diverged_epoch[i] = epoch
                log.warning("model seed=%d diverged in epoch %d", self.specs[i].seed, epoch)
        self.active[idx] = False
        with torch.no_grad():
            self.flat[idx] = 0
        self.opt.reset_models(idx)

    def record(self, epoch: int, train_loss=None, train_acc=None):
        """Store every active model's weights and metrics of ``epoch``: evaluated on the held-out
        splits, and on the train split unless its running means are given."""
        w = self.flat.detach()
        self.mark_diverged(~torch.isfinite(w).all(dim=1) & self.active, epoch)
        ok = self.active.cpu().numpy()
        self.weights[ok, epoch] = w[self.active].cpu()
        activation = self.settings.activation
        for split, data in self.evals.items():
            loss, acc = evaluate_population(self.params, data, activation, arch=self.arch,
                                            models_per_chunk=self.per_chunk)
            self.metrics[f"{split}_loss"][ok, epoch] = loss.numpy()[ok]
            self.metrics[f"{split}_acc"][ok, epoch] = acc.numpy()[ok]
        if train_loss is None:
            train_loss, train_acc = evaluate_population(self.params, self.train, activation,
                                                        arch=self.arch,
                                                        models_per_chunk=self.per_chunk)
        self.metrics["train_loss"][ok, epoch] = np.asarray(train_loss)[ok]
        self.metrics["train_acc"][ok, epoch] = np.asarray(train_acc)[ok]


def population_fingerprint(specs: list[ModelSpec], settings: TrainSettings, n_params: int,
                           n_train: int, dtype: torch.dtype,
                           init_weights: torch.Tensor | None) -> str:
    """What identifies a population's training: its models, settings, parameter count, train
    split size, dtype and, when it starts from given weights, a hash of those weights."""
    return hashlib.sha256(json.dumps(
        [CHECKPOINT_FORMAT, [asdict(s) for s in specs], asdict(settings), n_params, n_train,
         str(dtype),
         None if init_weights is None
         else hashlib.sha256(init_weights.cpu().numpy().tobytes()).hexdigest()],
        sort_keys=True).encode()).hexdigest()


def save_checkpoint(path, fingerprint: str, epoch: int, state: TrainingState) -> None:
    """Write ``state`` as it stands after ``epoch`` to ``path`` (atomically)."""
    opt = state.opt
    t = {"params": state.flat.detach().cpu().contiguous(), "opt_m": opt.m.cpu().contiguous(),
         "opt_v": opt.v.cpu().contiguous(), "weights": state.weights.contiguous()}
    t.update({f"metric.{k}": torch.from_numpy(np.ascontiguousarray(v))
              for k, v in state.metrics.items()})
    t["diverged_epoch"] = torch.from_numpy(state.diverged_epoch.copy())
    t["active"] = state.active.cpu()
    for name, gs in state.gens.items():
        t[f"gen.{name}"] = torch.stack([g.get_state() for g in gs])
    with atomic_path(path) as tmp:
        save_tensors(t, tmp, metadata={"fingerprint": fingerprint, "epoch": str(epoch),
                                       "step_count": str(opt.step_count)})


def load_checkpoint(path, fingerprint: str, state: TrainingState) -> int | None:
    """Restore ``state`` in place; the epoch it was saved after, or None if it does not fit."""
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
    opt = state.opt
    with torch.no_grad():
        state.flat.copy_(t["params"])
        opt.m.copy_(t["opt_m"])
        opt.v.copy_(t["opt_v"])
    opt.step_count = int(meta["step_count"])
    state.weights.copy_(t["weights"])
    for k in state.metrics:
        state.metrics[k][...] = t[f"metric.{k}"].numpy()
    state.diverged_epoch[...] = t["diverged_epoch"].numpy()
    state.active.copy_(t["active"])
    for name, gs in state.gens.items():
        for g, s in zip(gs, t[f"gen.{name}"]):
            g.set_state(s.clone())  # a fresh tensor: set_state ignores a view's offset
    return int(meta["epoch"])
