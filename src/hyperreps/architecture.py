"""The zoo CNN of the hyper-representation papers, its parameter layout and initialisation.

Architecture (2022 App. A Table 6; 2021 App. C), inputs 28x28:

    Conv(c,8,5) -> MaxPool2 -> act -> Conv(8,6,5) -> MaxPool2 -> act -> Conv(6,4,2) -> act
    -> Flatten(36) -> Linear(36,20) -> act -> Linear(20,10)

2464 parameters for c = 1, 2864 for c = 3. Dropout (when > 0) follows every hidden activation.

A model's weights are kept as one flat vector, layer by layer, each layer's weight (PyTorch
row-major order) followed by its bias: the order of the reference implementation's
``vectorize_checkpoint``. :class:`ParameterLayout` names every slice of that vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

ACTIVATIONS = ("tanh", "relu", "gelu", "sigmoid")
INITS = ("uniform", "normal", "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal")
BIAS_INIT = 0.01  # every init scheme of the reference sets all biases to 0.01
IMAGE_SIZE = 28
N_CLASSES = 10


@dataclass(frozen=True)
class Tensor:
    """One named parameter tensor inside the flat weight vector."""

    name: str
    shape: tuple[int, ...]
    offset: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def as_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "offset": self.offset}


@dataclass(frozen=True)
class Layer:
    """A layer with weights: ``kind`` is 'conv' or 'linear'."""

    name: str
    kind: str
    in_features: int
    out_features: int
    kernel_size: int = 1

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "conv":
            return (self.out_features, self.in_features, self.kernel_size, self.kernel_size)
        return (self.out_features, self.in_features)

    @property
    def bias_shape(self) -> tuple[int, ...]:
        return (self.out_features,)


def zoo_cnn_layers(channels: int) -> list[Layer]:
    if channels not in (1, 3):
        raise ValueError(f"the zoo CNN takes 1 or 3 input channels, not {channels}")
    return [
        Layer("conv1", "conv", channels, 8, 5),
        Layer("conv2", "conv", 8, 6, 5),
        Layer("conv3", "conv", 6, 4, 2),
        Layer("fc1", "linear", 36, 20),
        Layer("fc2", "linear", 20, N_CLASSES),
    ]


class ParameterLayout:
    """Where each layer's weight and bias lie in a model's flat parameter vector."""

    def __init__(self, layers: list[Layer]):
        self.layers = list(layers)
        tensors, offset = [], 0
        for layer in self.layers:
            for suffix, shape in (("weight", layer.weight_shape), ("bias", layer.bias_shape)):
                t = Tensor(f"{layer.name}.{suffix}", shape, offset)
                tensors.append(t)
                offset += t.numel
        self.tensors = tensors
        self.n_params = offset

    @classmethod
    def for_channels(cls, channels: int) -> "ParameterLayout":
        return cls(zoo_cnn_layers(channels))

    @property
    def channels(self) -> int:
        return self.layers[0].in_features

    def tensor(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def layer_slice(self, layer_name: str) -> slice:
        """The slice of a layer's weight and bias together."""
        w, b = self.tensor(f"{layer_name}.weight"), self.tensor(f"{layer_name}.bias")
        return slice(w.offset, b.offset + b.numel)

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split ``flat[..., n_params]`` into named tensors ``[..., *shape]`` (views)."""
        if flat.shape[-1] != self.n_params:
            raise ValueError(f"expected {self.n_params} parameters, got {flat.shape[-1]}")
        lead = flat.shape[:-1]
        return {
            t.name: flat[..., t.offset : t.offset + t.numel].reshape(*lead, *t.shape)
            for t in self.tensors
        }

    def flatten(self, named: dict[str, torch.Tensor]) -> torch.Tensor:
        """Inverse of :meth:`unflatten`: named tensors ``[..., *shape]`` to ``[..., n_params]``."""
        parts = []
        for t in self.tensors:
            x = named[t.name]
            if tuple(x.shape[x.dim() - len(t.shape) :]) != t.shape:
                raise ValueError(f"{t.name}: expected shape {t.shape}, got {tuple(x.shape)}")
            parts.append(x.reshape(*x.shape[: x.dim() - len(t.shape)], t.numel))
        return torch.cat(parts, dim=-1)

    def as_list(self) -> list[dict]:
        return [t.as_dict() for t in self.tensors]

    def __eq__(self, other) -> bool:
        return isinstance(other, ParameterLayout) and self.as_list() == other.as_list()


def activation_fn(name: str):
    try:
        return {"tanh": torch.tanh, "relu": torch.relu, "gelu": nn.functional.gelu,
                "sigmoid": torch.sigmoid}[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}") from None


def init_parameters(layout: ParameterLayout, scheme: str, seed: int,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Initial flat weight vector of one model, a function of (scheme, seed) alone.

    Follows the reference ``initialize_weights``: 'uniform' is ``nn.init.uniform_`` with its
    default bounds U(0, 1), 'normal' is N(0, 1), the kaiming/xavier schemes use torch's
    defaults; every bias is 0.01. Drawn on the CPU from a generator seeded with ``seed``, so a
    model's initial state does not depend on the shard or device it trains on.
    """
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; choose from {INITS}")
    gen = torch.Generator().manual_seed(int(seed))
    named = {}
    for layer in layout.layers:
        w = torch.empty(layer.weight_shape, dtype=dtype)
        init = getattr(nn.init, scheme + "_")
        init(w, generator=gen)
        named[f"{layer.name}.weight"] = w
        named[f"{layer.name}.bias"] = torch.full(layer.bias_shape, BIAS_INIT, dtype=dtype)
    return layout.flatten(named)


class ZooCNN(nn.Module):
    """One zoo CNN as a plain module: the one-model-at-a-time reference and the import target."""

    def __init__(self, channels: int = 1, activation: str = "tanh", dropout: float = 0.0):
        super().__init__()
        self.layout = ParameterLayout.for_channels(channels)
        self.act = activation_fn(activation)
        self.dropout = float(dropout)
        self.conv1 = nn.Conv2d(channels, 8, 5)
        self.conv2 = nn.Conv2d(8, 6, 5)
        self.conv3 = nn.Conv2d(6, 4, 2)
        self.fc1 = nn.Linear(36, 20)
        self.fc2 = nn.Linear(20, N_CLASSES)

    def _drop(self, x):
        return nn.functional.dropout(x, self.dropout, self.training) if self.dropout > 0 else x

    def forward(self, x):
        f = nn.functional
        x = self._drop(self.act(f.max_pool2d(self.conv1(x), 2)))
        x = self._drop(self.act(f.max_pool2d(self.conv2(x), 2)))
        x = self._drop(self.act(self.conv3(x)))
        x = self._drop(self.act(self.fc1(x.flatten(1))))
        return self.fc2(x)

    def load_flat(self, flat: torch.Tensor) -> "ZooCNN":
        named = self.layout.unflatten(flat)
        with torch.no_grad():
            for name, p in self.named_parameters():
                p.copy_(named[name])
        return self

    def flat(self) -> torch.Tensor:
        return self.layout.flatten(dict(self.named_parameters())).detach()
