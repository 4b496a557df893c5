"""The autoencoder's network: a transformer over neuron tokens (2022 §2, App. B).

Encoder: one linear embedding per layer (tokens of a layer share a length) -> learned
position encodings -> multi-head self-attention blocks -> compression -> Linear + tanh
bottleneck z (bounded, so samplers can use the box [-1, 1]^d). Compression (``compression``):

- ``token``: a learned compression (CLS) token is prepended and only its output feeds the
  bottleneck, so the code's rank is at most min(d_model, latent_dim);
- ``flatten``: every token's output is concatenated (tokens x d_model) and mapped by one
  Linear to the bottleneck, the reference's default ("linear" compression); the code can use
  the full latent_dim whatever d_model is.

Decoder, symmetric: Linear(z -> tokens x d_model) -> learned positions -> the same
number of attention blocks -> one linear de-embedding per layer -> the flat weight vector.

The projection head p(z) (4 layers of 400 to 50 dimensions) feeds the contrastive loss.

With standardisation (:meth:`HyperAutoencoder.standardize_with`) the encoder sees each weight
as (w - mean) / sigma_l (training-split mean and layer std, stored in the model as buffers)
and the decoder's output is mapped back, so the network works on the models' deviations from
the zoo mean at unit scale instead of on raw weights whose layers differ 100x in scale and
share a large common part.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layout import ParameterLayout
from ..tokens import Tokenizer
from .loss import parameter_scale

COMPRESSIONS = ("token", "flatten")


@dataclass(frozen=True)
class AutoencoderShape:
    """The autoencoder's layer sizes and compression (defaults: 2022 Table 8)."""

    d_model: int = 972
    n_layers: int = 2
    n_heads: int = 12
    d_ff: int = 1140
    latent_dim: int = 700
    dropout: float = 0.1
    projection_layers: int = 4
    projection_width: int = 400
    projection_dim: int = 50
    compression: str = "token"  # token (CLS) or flatten (all tokens -> Linear)

    def __post_init__(self):
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression {self.compression!r}; choose from "
                             f"{COMPRESSIONS}")

    @property
    def code_width(self) -> int:
        """The bottleneck's largest possible rank: with a CLS token the code passes through
        d_model numbers first."""
        if self.compression == "token":
            return min(self.d_model, self.latent_dim)
        return self.latent_dim


class ProjectionHead(nn.Module):
    """``layers`` x [Linear + ReLU] of ``width``, then Linear to ``out`` + BatchNorm1d
    (reference ``def_projection_head.py``; biases start at 0.01)."""

    def __init__(self, latent_dim: int, layers: int, width: int, out: int):
        super().__init__()
        mods, d = [], latent_dim
        for _ in range(layers):
            mods += [nn.Linear(d, width), nn.ReLU()]
            d = width
        mods += [nn.Linear(d, out), nn.BatchNorm1d(out)]
        self.net = nn.Sequential(*mods)
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0.01)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _attention_stack(arch: AutoencoderShape) -> nn.TransformerEncoder:
    block = nn.TransformerEncoderLayer(arch.d_model, arch.n_heads, arch.d_ff, arch.dropout,
                                       activation="relu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(block, arch.n_layers, norm=nn.LayerNorm(arch.d_model),
                                 enable_nested_tensor=False)


class HyperAutoencoder(nn.Module):
    def __init__(self, layout: ParameterLayout, arch: AutoencoderShape):
        super().__init__()
        if arch.d_model % arch.n_heads:
            raise ValueError(f"d_model {arch.d_model} is not divisible by n_heads {arch.n_heads}")
        self.layout, self.arch = layout, arch
        self.tokenizer = Tokenizer(layout)
        T, d = self.tokenizer.n_tokens, arch.d_model
        self.embed = nn.ModuleList(nn.Linear(n, d) for n in self.tokenizer.token_lengths)
        if arch.compression == "token":
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.enc_pos = nn.Embedding(T + 1, d)
            self.to_latent = nn.Linear(d, arch.latent_dim)
        else:
            self.enc_pos = nn.Embedding(T, d)
            self.to_latent = nn.Linear(T * d, arch.latent_dim)
        self.encoder = _attention_stack(arch)
        self.from_latent = nn.Linear(arch.latent_dim, T * d)
        self.dec_pos = nn.Embedding(T, d)
        self.decoder = _attention_stack(arch)
        self.debed = nn.ModuleList(nn.Linear(d, n) for n in self.tokenizer.token_lengths)
        self.projection = ProjectionHead(arch.latent_dim, arch.projection_layers,
                                         arch.projection_width, arch.projection_dim)
        # small position encodings: with nn.Embedding's N(0, 1) they would drown the token
        # embeddings of small weights (std 0.01-0.3) and the model would first have to learn
        # to ignore them
        for pos in (self.enc_pos, self.dec_pos):
            nn.init.normal_(pos.weight, std=0.02)
        # input standardisation (identity unless set by standardize_with)
        self.register_buffer("in_mean", torch.zeros(layout.n_params))
        self.register_buffer("in_scale", torch.ones(layout.n_params))

    @torch.no_grad()
    def standardize_with(self, train_mean: torch.Tensor, sigma: torch.Tensor) -> None:
        """Work on (w - train_mean) / sigma_l: set the buffers, and start the decoder at 0 in
        that space (the training mean)."""
        self.in_mean.copy_(train_mean.float())
        self.in_scale.copy_(parameter_scale(self.layout, sigma))
        self.init_output_statistics(torch.zeros_like(self.in_mean),
                                    torch.ones(len(self.layout.layers)))

    @torch.no_grad()
    def init_output_statistics(self, train_mean: torch.Tensor, sigma: torch.Tensor) -> None:
        """Start the decoder at the training mean, at each layer's scale: every de-embedder's
        bias is the mean of its token positions and its weights shrink to the layer's std.
        Without this, layers whose weights spread by 0.01 start 100x off and the first
        hundreds of steps only rescale outputs."""
        mean_tokens = self.tokenizer.tokenize(train_mean.float())
        for deb, mt, s in zip(self.debed, mean_tokens, sigma.tolist()):
            deb.bias.copy_(mt.mean(0))
            deb.weight.mul_(s)

    def encode(self, flat: torch.Tensor) -> torch.Tensor:
        """Weights ``[B, P]`` -> embeddings ``[B, latent_dim]`` in (-1, 1)."""
        tokens = self.tokenizer.tokenize((flat - self.in_mean.to(flat.dtype))
                                         * self.in_scale.to(flat.dtype))
        h = torch.cat([emb(t) for emb, t in zip(self.embed, tokens)], dim=1)
        if self.arch.compression == "token":
            h = torch.cat([self.cls.expand(h.shape[0], -1, -1).to(h.dtype), h], dim=1)
        h = self.encoder(h + self.enc_pos.weight.to(h.dtype))
        code = h[:, 0] if self.arch.compression == "token" else h.flatten(1)
        return torch.tanh(self.to_latent(code))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Embeddings ``[B, latent_dim]`` -> weights ``[B, P]``."""
        T, d = self.tokenizer.n_tokens, self.arch.d_model
        h = self.from_latent(z).view(z.shape[0], T, d)
        h = self.decoder(h + self.dec_pos.weight.to(h.dtype))
        parts = h.split([g.n_tokens for g in self.tokenizer.groups], dim=1)
        out = self.tokenizer.detokenize([deb(p) for deb, p in zip(self.debed, parts)])
        return out / self.in_scale.to(out.dtype) + self.in_mean.to(out.dtype)

    def forward(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(flat)
        return z, self.decode(z)
