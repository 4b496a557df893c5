"""What a population's training run is given and gives back: each model's own settings
(:class:`ModelSpec`), the settings the models share (:class:`TrainSettings`) and the result
(:class:`TrainResult`). Their own module, below both the loop (:mod:`.loop`) and its
checkpoints (:mod:`.state`), which both use them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..architecture import activation_fn
from ..layout import ParameterLayout
from .optim import OPTIMIZERS

DATA_ORDERS = ("per_model", "shared")


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
class TrainResult:
    """Weights ``[M, E+1, P]`` in the training dtype (epoch 0 = the initial state) and metrics
    ``[M, E+1]``; NaN where a model had diverged."""

    weights: torch.Tensor
    metrics: dict[str, np.ndarray]
    diverged_epoch: np.ndarray  # -1 where the model never diverged
    layout: ParameterLayout
    extra: dict = field(default_factory=dict)
