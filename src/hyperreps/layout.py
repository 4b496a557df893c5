"""The parameter layout of a model: where each layer's weight and bias lie in the flat weight
vector, and which hidden units may be permuted without changing the function.

A :class:`ParameterLayout` is built from the weighted :class:`Layer` s of a network (in
:mod:`hyperreps.architecture`, from a :class:`~hyperreps.architecture.ModelArchitecture`'s
ops) and its :class:`PermutationGroup` s; it names each parameter :class:`Tensor` and its
offset, layer by layer, each layer's weight (PyTorch row-major order) followed by its bias:
the order of the reference implementation's ``vectorize_checkpoint``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


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
    """A layer with weights: ``kind`` is 'conv' or 'linear'.

    ``bias`` False for layers without one (the 2021 Tetris MLP, three of Table 4's convs);
    ``init`` names a scheme that overrides the model's (Table 4's randomly initialised skip
    branches are always kaiming-uniform, whatever the zoo's scheme)."""

    name: str
    kind: str
    in_features: int
    out_features: int
    kernel_size: int = 1
    stride: int = 1
    padding: int = 0
    bias: bool = True
    init: str | None = None

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "conv":
            return (self.out_features, self.in_features, self.kernel_size, self.kernel_size)
        return (self.out_features, self.in_features)

    @property
    def bias_shape(self) -> tuple[int, ...]:
        return (self.out_features,)


@dataclass(frozen=True)
class PermutationGroup:
    """Hidden units that must be permuted together (2021 App. A): the output units of every
    ``members`` layer (more than one where a skip connection adds their outputs) and the
    matching input units of every ``consumers`` layer."""

    members: tuple[int, ...]
    consumers: tuple[int, ...]


class ParameterLayout:
    """Where each layer's weight and bias lie in a model's flat parameter vector, and which
    hidden units may be permuted without changing the function."""

    def __init__(self, layers: list[Layer], groups: list[PermutationGroup] | None = None,
                 architecture: str | None = None):
        self.layers = list(layers)
        self.architecture = architecture
        tensors, offset = [], 0
        for layer in self.layers:
            parts = [("weight", layer.weight_shape)]
            if layer.bias:
                parts.append(("bias", layer.bias_shape))
            for suffix, shape in parts:
                t = Tensor(f"{layer.name}.{suffix}", shape, offset)
                tensors.append(t)
                offset += t.numel
        self.tensors = tensors
        self.n_params = offset
        # a plain chain of layers unless told otherwise: layer i feeds layer i + 1
        self.groups = list(groups) if groups is not None else [
            PermutationGroup((i,), (i + 1,)) for i in range(len(self.layers) - 1)]

    @property
    def channels(self) -> int:
        return self.layers[0].in_features

    def has_tensor(self, name: str) -> bool:
        return any(t.name == name for t in self.tensors)

    def tensor(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def layer_slice(self, layer_name: str) -> slice:
        """The slice of a layer's weight and bias together."""
        w = self.tensor(f"{layer_name}.weight")
        end = w.offset + w.numel
        if self.has_tensor(f"{layer_name}.bias"):
            b = self.tensor(f"{layer_name}.bias")
            end = b.offset + b.numel
        return slice(w.offset, end)

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
