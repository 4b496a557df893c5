"""Neuron tokens: a model's flat weight vector as a sequence of tokens, and back.

One token per output neuron of a linear layer and per output channel of a convolution: that
unit's incoming weights (PyTorch row-major order) with its bias appended as the last element
(the reference implementation's ``encoding="neuron"``); a layer without bias gives
weight-only tokens. Tokens of one layer share a length;
layers differ, so every layer gets its own embedding in the autoencoder and no padding is
needed. The zoo CNN gives 8 + 6 + 4 + 20 + 10 = 48 tokens of lengths 26 (76 for 3 channels),
201, 25, 37 and 21.

Everything is derived from a :class:`~hyperreps.layout.ParameterLayout` (which a zoo's
manifest describes), never from a fixed architecture. The mapping is a pure re-indexing, so
the round trip flat -> tokens -> flat is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .layout import ParameterLayout


@dataclass(frozen=True)
class TokenGroup:
    """The tokens of one layer: ``index[t, j]`` is the flat position of token t's element j."""

    layer: str
    index: torch.Tensor  # [n_tokens, token_len], int64

    @property
    def n_tokens(self) -> int:
        return self.index.shape[0]

    @property
    def token_len(self) -> int:
        return self.index.shape[1]


class Tokenizer:
    """Flat weights ``[..., P]`` <-> per-layer token tensors ``[..., n_tokens_l, len_l]``."""

    def __init__(self, layout: ParameterLayout):
        self.layout = layout
        groups = []
        for layer in layout.layers:
            w = layout.tensor(f"{layer.name}.weight")
            n_out = w.shape[0]
            fan_in = w.numel // n_out
            parts = [w.offset + torch.arange(w.numel).reshape(n_out, fan_in)]
            if layout.has_tensor(f"{layer.name}.bias"):
                b = layout.tensor(f"{layer.name}.bias")
                if b.shape != (n_out,):
                    raise ValueError(f"{layer.name}: bias shape {b.shape} does not match "
                                     f"{n_out} output units")
                parts.append(b.offset + torch.arange(n_out).unsqueeze(1))
            groups.append(TokenGroup(layer.name, torch.cat(parts, dim=1)))
        covered = torch.cat([g.index.flatten() for g in groups]).sort().values
        if not torch.equal(covered, torch.arange(layout.n_params)):
            raise ValueError("the layers' tokens do not cover every parameter exactly once")
        self.groups = groups

    @property
    def n_tokens(self) -> int:
        return sum(g.n_tokens for g in self.groups)

    @property
    def token_lengths(self) -> list[int]:
        return [g.token_len for g in self.groups]

    def token_layer(self) -> torch.Tensor:
        """The layer number of every token in sequence order ``[n_tokens]``."""
        return torch.cat([torch.full((g.n_tokens,), i) for i, g in enumerate(self.groups)])

    def tokenize(self, flat: torch.Tensor) -> list[torch.Tensor]:
        if flat.shape[-1] != self.layout.n_params:
            raise ValueError(f"expected {self.layout.n_params} parameters, got {flat.shape[-1]}")
        return [flat[..., g.index.to(flat.device)] for g in self.groups]

    def detokenize(self, tokens: list[torch.Tensor]) -> torch.Tensor:
        if len(tokens) != len(self.groups):
            raise ValueError(f"expected {len(self.groups)} token groups, got {len(tokens)}")
        lead = tokens[0].shape[:-2]
        flat = tokens[0].new_empty(*lead, self.layout.n_params)
        for g, t in zip(self.groups, tokens):
            if tuple(t.shape[-2:]) != (g.n_tokens, g.token_len):
                raise ValueError(f"{g.layer}: expected tokens [{g.n_tokens}, {g.token_len}], "
                                 f"got {tuple(t.shape[-2:])}")
            flat[..., g.index.to(flat.device)] = t
        return flat
