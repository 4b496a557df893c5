"""Training the autoencoder on a zoo's checkpoints, and encoding and decoding with it.

The reconstruction target (``reconstruction_target``) is the clean permuted view of each
checkpoint (``clean``, a denoising autoencoder) or the corrupted input itself (``input``, as
the reference ``train_step`` does: erased blocks must then be reproduced as zeros).

With ``standardize`` the encoder works on (w - training mean) / sigma_l
(:meth:`~.model.HyperAutoencoder.standardize_with`); the losses and R² are unchanged (raw
weight space, LWLN or not).

The kept model (``select``) is the epoch of lowest validation reconstruction loss
(``best_val``, the paper) or the last epoch (``last``).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..augment import Augmenter, AugmentSettings
from ..layout import ParameterLayout
from ..zoo import Zoo
from ..splits import checkpoint_sets
from .loss import layer_sigma, nt_xent, parameter_scale, r2_scores, reconstruction_loss
from .model import AutoencoderShape, HyperAutoencoder

log = logging.getLogger(__name__)
TARGETS = ("clean", "input")
SELECTIONS = ("best_val", "last")


@dataclass(frozen=True)
class AutoencoderTraining:
    """How the autoencoder is trained (defaults: 2022 Table 8; not the zoo trainer's
    :class:`hyperreps.trainer.loop.TrainSettings`)."""

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


def settings_from_config(ae: dict, variant: str
                         ) -> tuple[AutoencoderShape, AutoencoderTraining, tuple[int, int]]:
    """The autoencoder's shape, training settings and epoch window from a zoo's validated
    ``autoencoder`` config block, for one variant (lwln or baseline)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown autoencoder variant {variant!r}; choose from {VARIANTS}")
    a = ae["augment"]
    augment = AugmentSettings(permute=a["permute"], erase_p=a["erase_p"],
                              erase_scale=tuple(a["erase_scale"]), noise=a["noise"])
    training = AutoencoderTraining(**ae["training"], lwln=variant == "lwln", augment=augment)
    window = (ae["window"]["first"], ae["window"]["last"])
    return AutoencoderShape(**ae["architecture"]), training, window


@dataclass
class TrainedAutoencoder:
    model: HyperAutoencoder
    sigma: torch.Tensor  # [L] (ones for the baseline)
    train_mean: torch.Tensor  # [P]
    settings: AutoencoderTraining
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


def train_autoencoder(data: dict[str, torch.Tensor], layout: ParameterLayout,
                      arch: AutoencoderShape, settings: AutoencoderTraining,
                      device: torch.device | str = "cpu",
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


def train_zoo_autoencoder(zoo: Zoo, split: dict, ae: dict, variant: str, zoo_name: str,
                          device: torch.device) -> tuple[TrainedAutoencoder, dict]:
    """Train one autoencoder of ``variant`` on the training split of ``zoo``'s epoch window
    (its ``autoencoder`` config block ``ae``); returns it and the metadata stored beside it."""
    arch, settings, window = settings_from_config(ae, variant)
    data = checkpoint_sets(zoo, split, window)
    log.info("%s %s on %s: %s checkpoints of epochs %d-%d", zoo_name, variant, device,
             {k: len(v) for k, v in data.items()}, *window)
    trained = train_autoencoder(data, zoo.layout, arch, settings, device, progress=True)
    m = trained.metrics
    log.info("best epoch %d; R² %s; %.1f checkpoints/s", m["best_epoch"],
             {k: round(v["overall"], 4) for k, v in m["r2"].items()}, m["checkpoints_per_second"])
    return trained, {"zoo": zoo_name, "variant": variant, "window": list(window),
                     "dataset": zoo.dataset, "device": str(device)}
