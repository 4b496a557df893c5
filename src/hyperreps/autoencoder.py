"""The hyper-representation autoencoder: a transformer over neuron tokens (2022 §2, App. B).

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

Loss (2022 Eq. 1, reference ``GammaContrastReconLoss``): beta * L_MSE + (1 - beta) * L_c with
L_c = NT-Xent (temperature 0.1) on a projection head p(z): 4 layers of 400 to 50 dimensions.
Positives are two augmented views of the same checkpoint (see :mod:`hyperreps.augment`).

Layer-wise loss normalisation (LWLN, 2022 §3.1): each layer's error (weights and bias
together) is divided by sigma_l, the std of that layer's values over all *training-split*
checkpoints; the baseline variant uses the plain MSE. Both reduce by batch x parameters
(reference reduction "global_mean"), so the baseline is LWLN with every sigma_l = 1.

The reconstruction target (``reconstruction_target``) is the clean permuted view of each
checkpoint (``clean``, a denoising autoencoder) or the corrupted input itself (``input``, as
the reference ``train_step`` does: erased blocks must then be reproduced as zeros).

With ``standardize`` the encoder sees each weight as (w - mean) / sigma_l (training-split
mean and layer std, stored in the model as buffers) and the decoder's output is mapped back,
so the network works on the models' deviations from the zoo mean at unit scale instead of on
raw weights whose layers differ 100x in scale and share a large common part. The losses and
R² are unchanged (raw weight space, LWLN or not).

The kept model (``select``) is the epoch of lowest validation reconstruction loss
(``best_val``, the paper) or the last epoch (``last``).

Reconstruction R² (2022 App. C): 1 - mse(w_hat, w) / mse(w_mean, w) with w_mean the training
split's mean weight vector, overall and per layer, in raw weight space for both variants.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .architecture import Layer, ParameterLayout, architecture_of, get_architecture
from .augment import Augmenter, AugmentSettings
from .tokens import Tokenizer
from .publish import staged_dir
from .zoo import Zoo, rows_by_split

log = logging.getLogger(__name__)
SIGMA_FLOOR = 1e-4  # reference LayerWiseReconLoss
WEIGHTS_FILE, INFO_FILE, HISTORY_FILE = "autoencoder.safetensors", "autoencoder.json", "history.csv"


class AutoencoderFileError(ValueError):
    """A saved autoencoder is missing, inconsistent or not what the caller expects."""


@dataclass(frozen=True)
class Architecture:
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


COMPRESSIONS = ("token", "flatten")
TARGETS = ("clean", "input")
SELECTIONS = ("best_val", "last")


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 1750
    batch_size: int = 500
    lr: float = 1e-4
    weight_decay: float = 1e-9
    beta: float = 0.977  # weight of the reconstruction loss
    temperature: float = 0.1
    lwln: bool = True
    eval_every: int = 1
    plateau_factor: float = 0.3
    plateau_patience: int = 10
    seed: int = 42
    mixed_precision: bool = True  # bf16 autocast, on CUDA only
    reconstruction_target: str = "clean"  # clean permuted view, or the corrupted input
    standardize: bool = False  # encoder sees (w - train mean) / sigma_l
    select: str = "best_val"  # best_val (lowest validation loss) or last (last epoch)
    augment: AugmentSettings = field(default_factory=AugmentSettings)

    def __post_init__(self):
        if self.reconstruction_target not in TARGETS:
            raise ValueError(f"unknown reconstruction_target {self.reconstruction_target!r}; "
                             f"choose from {TARGETS}")
        if self.select not in SELECTIONS:
            raise ValueError(f"unknown select {self.select!r}; choose from {SELECTIONS}")


VARIANTS = ("lwln", "baseline")


def settings_from_config(ae: dict, variant: str) -> tuple[Architecture, TrainSettings,
                                                          tuple[int, int]]:
    """Architecture, training settings and epoch window from a zoo's validated
    ``autoencoder`` config block, for one variant (lwln or baseline)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown autoencoder variant {variant!r}; choose from {VARIANTS}")
    a = ae["augment"]
    augment = AugmentSettings(permute=a["permute"], erase_p=a["erase_p"],
                              erase_scale=tuple(a["erase_scale"]), noise=a["noise"])
    training = TrainSettings(**ae["training"], lwln=variant == "lwln", augment=augment)
    window = (ae["window"]["first"], ae["window"]["last"])
    return Architecture(**ae["architecture"]), training, window


# --------------------------------------------------------------------------- model


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


def _attention_stack(arch: Architecture) -> nn.TransformerEncoder:
    block = nn.TransformerEncoderLayer(arch.d_model, arch.n_heads, arch.d_ff, arch.dropout,
                                       activation="relu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(block, arch.n_layers, norm=nn.LayerNorm(arch.d_model),
                                 enable_nested_tensor=False)


class HyperAutoencoder(nn.Module):
    def __init__(self, layout: ParameterLayout, arch: Architecture):
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


# --------------------------------------------------------------------------- losses, metrics


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent (SimCLR) of paired projections ``a[i] <-> b[i]``: cosine similarities over
    temperature, the other 2N - 2 samples as negatives, cross-entropy summed over all 2N
    anchors and divided by 2N (reference ``NT_Xent``)."""
    z = F.normalize(torch.cat([a, b]).float(), dim=1)
    n = a.shape[0]
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target, reduction="sum") / (2 * n)


def layer_sigma(train_weights: torch.Tensor, layout: ParameterLayout) -> torch.Tensor:
    """sigma_l per layer: std of all values of the layer's slice (weights and bias) over the
    given checkpoints ``[N, P]`` (pass the training split only), floored at 1e-4."""
    w = train_weights.double()
    sig = [w[:, layout.layer_slice(layer.name)].std() for layer in layout.layers]
    return torch.stack(sig).clamp_min(SIGMA_FLOOR).float()


def parameter_scale(layout: ParameterLayout, sigma: torch.Tensor | None) -> torch.Tensor:
    """Per-parameter 1/sigma_l of its layer ``[P]``; ones without LWLN."""
    scale = torch.ones(layout.n_params)
    if sigma is not None:
        for layer, s in zip(layout.layers, sigma.tolist()):
            scale[layout.layer_slice(layer.name)] = 1.0 / s
    return scale


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor,
                        scale: torch.Tensor) -> torch.Tensor:
    """Mean over batch and parameters of ((pred - target) * scale)^2."""
    return (((pred.float() - target.float()) * scale) ** 2).mean()


def r2_scores(pred: torch.Tensor, target: torch.Tensor, train_mean: torch.Tensor,
              layout: ParameterLayout, sigma: torch.Tensor | None = None) -> dict[str, float]:
    """R² = 1 - mse(pred, w) / mse(train mean, w), overall and per layer: in raw weight space,
    or with ``sigma`` (the training layers' std) on sigma-scaled weights w / sigma_l, the
    reference's ``rsq = 1 - loss / loss_mean`` with the LWLN loss (per layer the two agree;
    overall the scaled one weighs every layer by its own spread)."""
    scale = parameter_scale(layout, sigma).double() if sigma is not None else 1.0
    err = ((pred.double() - target.double()) * scale) ** 2
    base = ((train_mean.double().expand_as(target) - target.double()) * scale) ** 2
    out = {"overall": float(1 - err.mean() / base.mean())}
    for layer in layout.layers:
        sl = layout.layer_slice(layer.name)
        out[layer.name] = float(1 - err[:, sl].mean() / base[:, sl].mean())
    return out


# --------------------------------------------------------------------------- data


def checkpoint_sets(zoo: Zoo, split: dict, epochs: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Flat weights ``[N, P]`` of every finite checkpoint of the split's models in the epoch
    window ``[first, last]`` (inclusive), per split."""
    first, last = epochs
    if not 0 <= first <= last < zoo.n_epochs:
        raise ValueError(f"epoch window [{first}, {last}] is outside the zoo's epochs "
                         f"0..{zoo.n_epochs - 1}")
    out = {}
    for name, (m, e) in rows_by_split(zoo, split, epochs).items():
        w = zoo.weights[m, e]
        out[name] = w[torch.isfinite(w).all(dim=1)].float()
    if len(out["train"]) < 2:
        raise ValueError("the training split has fewer than 2 finite checkpoints in the window")
    return out


# --------------------------------------------------------------------------- training


@dataclass
class TrainedAutoencoder:
    model: HyperAutoencoder
    sigma: torch.Tensor  # [L] (ones for the baseline)
    train_mean: torch.Tensor  # [P]
    settings: TrainSettings
    history: pd.DataFrame
    metrics: dict  # R² per split, best epoch, throughput


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled batches; the last is merged into the previous if it would hold one sample
    (NT-Xent and BatchNorm need at least two)."""
    order = torch.randperm(n, generator=generator)
    bs = min(batch_size, n)
    chunks = list(order.split(bs))
    if len(chunks) > 1 and len(chunks[-1]) < 2:
        chunks[-2] = torch.cat([chunks[-2], chunks.pop()])
    return chunks


@torch.no_grad()
def _evaluate(model, weights, scale, batch_size, device, amp) -> tuple[float, torch.Tensor]:
    model.eval()
    recon, loss_sum = [], 0.0
    for i in range(0, len(weights), batch_size):
        x = weights[i:i + batch_size].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            y = model.decode(model.encode(x)).float()
        loss_sum += float(reconstruction_loss(y, x, scale)) * len(x)
        recon.append(y.cpu())
    return loss_sum / max(len(weights), 1), torch.cat(recon)


def train_autoencoder(data: dict[str, torch.Tensor], layout: ParameterLayout, arch: Architecture,
                      settings: TrainSettings, device: torch.device | str = "cpu",
                      progress: bool = False) -> TrainedAutoencoder:
    """Train on ``data['train']`` (checkpoints ``[N, P]``); keep the epoch with the lowest
    validation reconstruction loss; report R² on every split."""
    device = torch.device(device)
    amp = settings.mixed_precision and device.type == "cuda"
    torch.manual_seed(settings.seed)
    model = HyperAutoencoder(layout, arch).to(device)
    train = data["train"].float()
    val = data.get("val", train[:0]).float()
    train_sigma = layer_sigma(train, layout)
    sigma = train_sigma if settings.lwln else torch.ones(len(layout.layers))
    scale = parameter_scale(layout, sigma if settings.lwln else None).to(device)
    train_mean = train.mean(0)
    if settings.standardize:
        model.standardize_with(train_mean, train_sigma)
    else:
        model.init_output_statistics(train_mean, train_sigma)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=settings.plateau_factor, patience=settings.plateau_patience)
    gen = torch.Generator().manual_seed(settings.seed)
    aug_gen = torch.Generator(device=device).manual_seed(settings.seed + 1)
    augmenter = Augmenter(layout, settings.augment, aug_gen)
    train_dev = train.to(device)
    select_on = val if len(val) else train

    history, best = [], (math.inf, -1, None)
    train_seconds, seen = 0.0, 0
    bar = tqdm(range(1, settings.epochs + 1), desc="autoencoder", unit="epoch",
               disable=not progress, mininterval=5)
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        sums = np.zeros(3)
        batches = _batches(len(train), settings.batch_size, gen)
        for idx in batches:
            x = train_dev[idx.to(device)]
            (in1, t1), (in2, t2) = augmenter.view(x), augmenter.view(x)
            if settings.reconstruction_target == "input":
                t1, t2 = in1, in2
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                z = model.encode(torch.cat([in1, in2]))
                recon = model.decode(z)
                proj = model.projection(z).float()
            rec = reconstruction_loss(recon, torch.cat([t1, t2]), scale)
            con = nt_xent(proj[:len(x)], proj[len(x):], settings.temperature)
            loss = settings.beta * rec + (1 - settings.beta) * con
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums += np.array([loss.item(), rec.item(), con.item()]) * len(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds += time.perf_counter() - t0
        seen += len(train)
        sums /= len(train)
        if not np.isfinite(sums[0]):
            raise FloatingPointError(f"autoencoder loss is {sums[0]} in epoch {epoch}: lower "
                                     "the learning rate or check the zoo's weights")
        plateau.step(sums[0])
        row = dict(epoch=epoch, loss=sums[0], recon_loss=sums[1], contrastive_loss=sums[2],
                   lr=opt.param_groups[0]["lr"])
        if epoch % settings.eval_every == 0 or epoch == settings.epochs:
            val_loss, val_recon = _evaluate(model, select_on, scale, settings.batch_size,
                                            device, amp)
            row["val_recon_loss"] = val_loss
            row["val_r2"] = r2_scores(val_recon, select_on, train_mean, layout)["overall"]
            if settings.select == "best_val" and val_loss < best[0]:
                best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
            bar.set_postfix(loss=f"{sums[0]:.4f}", val_r2=f"{row['val_r2']:.3f}")
        history.append(row)
        if not progress and (epoch % max(1, settings.epochs // 10) == 0):
            log.info("epoch %d/%d loss %.5f recon %.5f contrastive %.4f val R² %s", epoch,
                     settings.epochs, sums[0], sums[1], sums[2], row.get("val_r2", "-"))
    if settings.select == "last":  # the model as it is (the last epoch is always evaluated)
        best = (row["val_recon_loss"], settings.epochs, None)
    else:
        model.load_state_dict(best[2])
    metrics = {"best_epoch": best[1], "best_val_recon_loss": best[0], "select": settings.select,
               "code_width": arch.code_width,
               "train_seconds": train_seconds,
               "checkpoints_per_second": seen / train_seconds if train_seconds else None,
               "n_checkpoints": {k: len(v) for k, v in data.items()}, "r2": {}, "r2_lwln": {},
               "layer_sigma": train_sigma.tolist()}
    for name, w in data.items():
        if len(w):
            _, recon = _evaluate(model, w.float(), scale, settings.batch_size, device, amp)
            metrics["r2"][name] = r2_scores(recon, w, train_mean, layout)
            metrics["r2_lwln"][name] = r2_scores(recon, w, train_mean, layout, train_sigma)
    return TrainedAutoencoder(model.cpu(), sigma, train_mean, settings, pd.DataFrame(history),
                              metrics)


@torch.no_grad()
def encode_weights(model: HyperAutoencoder, weights: torch.Tensor, batch_size: int = 1024,
                   device: torch.device | str = "cpu", progress: bool = False) -> torch.Tensor:
    """Embeddings ``[N, latent]`` of weights ``[N, P]``; rows with non-finite weights give NaN."""
    device = torch.device(device)
    model = model.to(device).eval()
    out = torch.full((len(weights), model.arch.latent_dim), float("nan"))
    ok = torch.isfinite(weights).all(dim=1)
    rows = torch.nonzero(ok).flatten()
    for i in tqdm(range(0, len(rows), batch_size), desc="embed", unit="batch",
                  disable=not progress, mininterval=5):
        r = rows[i:i + batch_size]
        out[r] = model.encode(weights[r].float().to(device)).float().cpu()
    return out


@torch.no_grad()
def decode_latents(model: HyperAutoencoder, z: torch.Tensor, batch_size: int = 1024,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    device = torch.device(device)
    model = model.to(device).eval()
    parts = [model.decode(z[i:i + batch_size].float().to(device)).float().cpu()
             for i in range(0, len(z), batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0, model.layout.n_params)


# --------------------------------------------------------------------------- storage


def save_autoencoder(path: str | os.PathLike, trained: TrainedAutoencoder, extra: dict) -> Path:
    """A directory with the weights (safetensors), settings and metrics (JSON) and the
    training history (CSV), written atomically."""
    tensors = {f"model.{k}": v.detach().contiguous().cpu()
               for k, v in trained.model.state_dict().items()}
    tensors["sigma"] = trained.sigma.contiguous()
    tensors["train_mean"] = trained.train_mean.contiguous()
    s = asdict(trained.settings)
    info = {"format": "hyperreps-autoencoder", "version": 1,
            "architecture": asdict(trained.model.arch), "training": s,
            "layers": [asdict(layer) for layer in trained.model.layout.layers],
            "model_architecture": architecture_of(trained.model.layout).name,
            "metrics": trained.metrics, **extra}
    with staged_dir(path) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE))
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1))
        trained.history.to_csv(tmp / HISTORY_FILE, index=False)
    return Path(path)


def load_autoencoder(path: str | os.PathLike) -> tuple[HyperAutoencoder, dict, dict]:
    """(model, info, tensors) from :func:`save_autoencoder`'s directory; pickle-free, with
    every tensor's shape checked against the architecture the JSON describes."""
    path = Path(path)
    for name in (INFO_FILE, WEIGHTS_FILE):
        if not (path / name).exists():
            raise AutoencoderFileError(f"{path / name}: missing")
    info = json.loads((path / INFO_FILE).read_text())
    if info.get("format") != "hyperreps-autoencoder":
        raise AutoencoderFileError(f"{path / INFO_FILE}: not a hyperreps autoencoder")
    try:
        layout = ParameterLayout([Layer(**d) for d in info["layers"]])
        if info.get("model_architecture"):  # its permutation groups, skips included
            registered = get_architecture(info["model_architecture"]).layout
            if registered != layout:
                raise ValueError(f"layers differ from {info['model_architecture']}")
            layout = registered
    except (TypeError, ValueError) as e:
        raise AutoencoderFileError(f"{path / INFO_FILE}: bad model layout ({e})") from None
    model = HyperAutoencoder(layout, Architecture(**info["architecture"]))
    tensors = load_file(str(path / WEIGHTS_FILE))
    state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise AutoencoderFileError(f"{path / WEIGHTS_FILE}: does not match the architecture "
                                   f"in {INFO_FILE} ({e})") from None
    for k in ("sigma", "train_mean"):
        if k not in tensors or not torch.isfinite(tensors[k]).all():
            raise AutoencoderFileError(f"{path / WEIGHTS_FILE}: {k} missing or not finite")
    return model.eval(), info, {k: tensors[k] for k in ("sigma", "train_mean")}
