"""Populations of models to fine-tune: samples from the hyper-representation and baselines
(2022 §3.2, App. E), plus the novelty baselines and metrics of the 2025 memorisation audit.

The population vocabulary is defined here once (:data:`LATENT_POPULATIONS` / :data:`SAMPLED`,
:data:`NOVELTY_BASELINES`, :data:`BASELINES`; :data:`ALL_POPULATIONS` in the papers' display
order); the config schema's population enums, the tables' order and the figures' colours
follow it (tests/test_populations.py).

Anchors are the source zoo's training-split checkpoints in the autoencoder's epoch window;
"30" populations use the anchors at or above the 0.7 quantile of test accuracy (the top 30%).
N_noise's std is ``noise_std`` in weight space, or with ``noise_match: <population>`` the std
for which N_noise's median distance to its nearest anchor equals that population's (the 2025
audit's comparison at equal novelty).

Novelty: the Euclidean distance of each model to its nearest anchor checkpoint in weight
space (:func:`hyperreps.metrics.nearest_anchor`), and the fraction of test images on which
their predictions agree.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..autoencoder.model import HyperAutoencoder
from ..autoencoder.train import decode_latents
from ..data import SplitData
from ..metrics import METRICS, nearest_anchor
from ..sampling.latent_priors import latent_mix_draw, near_anchor_draw
from ..sampling.samplers import draw_latents, gan_samples, top_fraction_mask
from ..trainer.evaluate import class_probabilities
from ..zoo import Zoo, load_zoo, metadata_table
from ..splits import rows_by_split
from .mixing_populations import MIXED as MIXING_POPULATIONS
from .mixing_populations import SELECTED_NOISE, MixingContext, mixing_population

log = logging.getLogger(__name__)

# The population vocabulary. Populations decoded from a hyper-representation: name ->
# (sampler of hyperreps.sampling.samplers, anchors it is fitted on: all or the top 30%, autoencoder
# variant that encodes the anchors and decodes the samples).
LATENT_POPULATIONS: dict[str, tuple[str, str, str]] = {
    "S_U": ("uniform", "all", "lwln"),  # uniform in the latent box [-1, 1]^d
    "S_C": ("counterfactual", "all", "lwln"),  # the lowest-density points of a uniform pool
    "S_KDE": ("kde", "all", "lwln"),  # a per-dimension KDE of the anchors
    "S_KDE30": ("kde", "top", "lwln"),  # S_KDE of the top-30% anchors
    # S_KDE30 as the reference code samples it (one random state for every dimension:
    # near-copies of anchors), reported beside the corrected S_KDE30
    "S_KDE30_ref": ("kde_reference", "top", "lwln"),
    "S_Neigh": ("neigh", "all", "lwln"),  # uniform in the anchors' UMAP box, mapped back
    "S_Neigh30": ("neigh", "top", "lwln"),  # S_Neigh of the top-30% anchors
    "S_GAN": ("gan", "all", "lwln"),  # a latent GAN trained on the anchors (2022 App. E.2)
    "S_GAN30": ("gan", "top", "lwln"),  # S_GAN of the top-30% anchors
    "B_KDE30": ("kde", "top", "baseline"),  # S_KDE30 with the baseline (plain-MSE) autoencoder
    # priors that keep the codes' joint structure (issue 22, hyperreps.sampling.latent_priors)
    "S_Gauss30": ("gaussian", "top", "lwln"),  # one full-covariance Gaussian, shrunk
    "S_GMM30": ("gmm", "top", "lwln"),  # a full-covariance Gaussian mixture
    "S_Flow30": ("flow", "top", "lwln"),  # a flow-matching prior (as D2NWG and p-diff)
    "S_Near30": ("near_anchor", "top", "lwln"),  # an anchor's code moved along the codes' spread
    # S_Near30's codes applied as an edit of the anchor's own weights: W_a + D(z') - D(z_a)
    "S_Edit30": ("near_anchor", "top", "lwln"),
    # S_Edit30 with the move pushed along the accuracy probe's direction in the codes (a ridge
    # regression of the anchors' test accuracy on their codes, all anchors)
    "S_EditP30": ("near_anchor", "top", "lwln"),
    # convex mixes of an anchor's code and a distant anchor's (issue 32), decoded, and applied
    # as an edit of the first anchor's weights
    "S_LatMix30": ("latent_mix", "top", "lwln"),
    "S_LatMixEdit30": ("latent_mix", "top", "lwln"),
}
# populations that add the decoded displacement D(z') - D(z_a) to the anchor's weights W_a
# instead of decoding z' alone: the decoder's reconstruction error of the anchor cancels
EDIT_POPULATIONS: tuple[str, ...] = ("S_Edit30", "S_EditP30", "S_LatMixEdit30")
# the draws an edit population moves its anchors' codes with (codes and the picked anchors)
EDIT_DRAWS = {"near_anchor": near_anchor_draw, "latent_mix": latent_mix_draw}
PROBE_PUSHED = {"S_EditP30": "probe_edit"}  # population -> its settings block (scale, push)
SAMPLED: tuple[str, ...] = tuple(LATENT_POPULATIONS)
# weight-space generators that mix aligned independent solutions, no autoencoder (issue 32;
# hyperreps.generative.mixing_populations)
MIXED: tuple[str, ...] = MIXING_POPULATIONS
NOVELTY_BASELINES: tuple[str, ...] = (  # training checkpoints moved a little (2025 audit)
    "N_noise",  # top-30% checkpoints plus Gaussian noise in weight space
    "N_avg",  # the average of a random pair or triple of top-30% checkpoints
    SELECTED_NOISE,  # noise as the frontier's raw curve, under W_Mix2_QD's selection
)
FINE_TUNED_SOURCE = "B_F"  # the source's training models at the window's last epoch, as they are
SCRATCH = "B_T"  # the target's test models trained from scratch (zoo stage), over their epochs
BASELINES: tuple[str, ...] = (FINE_TUNED_SOURCE, SCRATCH)
# what generate_populations makes (config key generative.populations); B_T comes from the zoo
GENERATED: tuple[str, ...] = (*SAMPLED, *MIXED, *NOVELTY_BASELINES, FINE_TUNED_SOURCE)
ALL_POPULATIONS: tuple[str, ...] = (*GENERATED, SCRATCH)  # the papers' display order

SAMPLER_SETTINGS = {"kde_reference": "kde"}  # samplers that share another's config block


@dataclass
class Anchors:
    weights: torch.Tensor  # [N, P] finite training checkpoints of the window
    acc: np.ndarray  # [N] their test accuracy
    top: np.ndarray  # [N] bool, at or above the 0.7 quantile
    embeddings: dict[str, np.ndarray]  # variant -> [N, Z]
    last_epoch_models: torch.Tensor  # [M_train, P] the training models at the window's end


def anchor_set(zoo: Zoo, split: dict, window: tuple[int, int],
               embeddings: dict[str, torch.Tensor], top_fraction: float = 0.3) -> Anchors:
    m, e = rows_by_split(zoo, split, window)["train"]
    w = zoo.weights[m, e]
    acc = zoo.metric("test_acc")[m, e]
    ok = torch.isfinite(w).all(dim=1).numpy() & np.isfinite(acc)
    emb = {v: z.numpy()[m, e][ok] for v, z in embeddings.items()}
    last = zoo.weights[np.unique(m), zoo.position(window[1])]
    last = last[torch.isfinite(last).all(dim=1)]
    return Anchors(w[ok], acc[ok], top_fraction_mask(acc[ok], top_fraction), emb, last)


def generate_populations(anchors: Anchors, autoencoders: dict[str, HyperAutoencoder],
                         settings: dict, seed: int, device="cpu",
                         gan_losses: dict | None = None,
                         mixing: MixingContext | None = None) -> dict[str, torch.Tensor]:
    """Every configured population as flat weights ``[n, P]``. ``settings``: n_models,
    populations (names), sampler settings per sampler (``kde``, ``counterfactual``,
    ``neigh``, ``gan``), noise_std. ``gan_losses``, if given, receives each GAN population's
    per-epoch losses (a DataFrame, see :func:`hyperreps.sampling.samplers.train_latent_gan`).
    ``mixing``: what the weight-space populations (:data:`MIXED`, N_noise_QD) need."""
    n = settings["n_models"]
    out = {}
    names = list(settings["populations"])
    # latent populations first: N_noise may match one's novelty; seeds follow the config order
    order = sorted(range(len(names)), key=lambda i: names[i] not in LATENT_POPULATIONS)
    for i in order:
        name = names[i]
        rng = np.random.default_rng([seed, i])
        if name in LATENT_POPULATIONS:
            method, which, variant = LATENT_POPULATIONS[name]
            if variant not in autoencoders:
                raise ValueError(f"population {name} needs the {variant} autoencoder; add it "
                                 "to autoencoder.variants")
            z = anchors.embeddings[variant]
            z = z[anchors.top] if which == "top" else z
            sampler_seed = int(rng.integers(2**31))
            sampler_settings = settings.get(SAMPLER_SETTINGS.get(method, method), {})
            if name in EDIT_POPULATIONS:
                base = anchors.weights[anchors.top] if which == "top" else anchors.weights
                if name in PROBE_PUSHED:
                    sampler_settings = dict(settings.get(PROBE_PUSHED[name], {}),
                                            direction=accuracy_direction(
                                                anchors.embeddings[variant], anchors.acc))
                out[name] = latent_edit(autoencoders[variant], base, z, n, sampler_seed,
                                        sampler_settings, device, EDIT_DRAWS[method])
            else:
                if method == "gan":
                    latents, losses = gan_samples(z, n, sampler_seed, device=device,
                                                  **sampler_settings)
                    if gan_losses is not None:
                        gan_losses[name] = losses
                else:
                    latents = draw_latents(method, z, n, sampler_seed, sampler_settings)
                out[name] = decode_latents(autoencoders[variant], torch.from_numpy(latents),
                                           device=device)
        elif name in MIXED or name == SELECTED_NOISE:
            if mixing is None:
                raise ValueError(f"population {name} needs the aligned training models "
                                 "(weight_alignment)")
            out[name] = mixing_population(name, mixing, n, int(rng.integers(2**31)), device)
        elif name == "N_noise":
            top = anchors.weights[anchors.top]
            pick = top[rng.integers(len(top), size=n)]
            noise = torch.from_numpy(rng.standard_normal(pick.shape)).float()
            std = settings["noise_std"]
            match = settings.get("noise_match")
            if match:
                if match not in out:
                    raise ValueError(f"noise_match: population {match!r} is not generated")
                target = float(np.nanmedian(nearest_anchor(out[match], anchors.weights)[0]))
                std = _matching_noise_std(pick, noise, anchors.weights, target)
                log.info("N_noise: std %.4g matches %s's median nearest-anchor distance %.4g",
                         std, match, target)
            out[name] = pick + std * noise
        elif name == "N_avg":
            top = anchors.weights[anchors.top]
            if len(top) < 2:
                raise ValueError("N_avg needs at least 2 top-30% checkpoints")
            rows = []
            for _ in range(n):
                k = int(rng.integers(2, 4)) if len(top) >= 3 else 2
                rows.append(top[rng.choice(len(top), size=k, replace=False)].mean(0))
            out[name] = torch.stack(rows)
        elif name == "B_F":
            pool = anchors.last_epoch_models
            pick = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
            out[name] = pool[np.sort(pick)]
        else:
            raise ValueError(f"unknown population {name!r}; choose from {GENERATED}")
        log.info("population %s: %d models", name, len(out[name]))
    return {name: out[name] for name in names}


def accuracy_direction(codes: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """The unit direction in which a ridge regression (``RidgeCV``, alphas 1e-3..1e3) of the
    anchors' test accuracy on their codes grows: the linear probe's accuracy direction."""
    from sklearn.linear_model import RidgeCV

    coef = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(codes, acc).coef_
    norm = float(np.linalg.norm(coef))
    if not norm > 0:
        raise ValueError("the accuracy probe found no direction (constant accuracy?)")
    return coef / norm


def latent_edit(model: HyperAutoencoder, weights: torch.Tensor, codes: np.ndarray, n: int,
                seed: int, settings: dict, device="cpu", draw=near_anchor_draw) -> torch.Tensor:
    """S_Edit: ``W_a + D(z') - D(z_a)`` for anchors ``a`` picked at random, ``z'`` their codes
    moved by ``draw`` (:func:`hyperreps.sampling.latent_priors.near_anchor_draw`, its
    ``scale`` in ``settings``, or ``latent_mix_draw`` for S_LatMixEdit30).
    The anchor keeps its own weights; only the change the decoder makes between ``z_a`` and
    ``z'`` is added, so the decoder's reconstruction error of the anchor cancels."""
    moved, pick = draw(codes, n, seed, **settings)
    return (weights[pick].float()
            + decode_latents(model, torch.from_numpy(moved), device=device)
            - decode_latents(model, torch.from_numpy(np.asarray(codes[pick], np.float32)),
                             device=device))


def _matching_noise_std(pick: torch.Tensor, noise: torch.Tensor, anchors: torch.Tensor,
                       target: float, steps: int = 40) -> float:
    """The std s for which ``pick + s * noise`` has the median nearest-anchor distance
    ``target`` (bisection; the distance grows with s, starting at |noise| * s while the
    source is the nearest anchor and bending once other anchors come closer)."""
    def median_distance(std):
        return float(np.nanmedian(nearest_anchor(pick + std * noise, anchors)[0]))
    lo, hi = 0.0, target / float(noise.norm(dim=1).median()) + 1e-12
    while median_distance(hi) < target and hi < 1e6:
        lo, hi = hi, 2 * hi
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if median_distance(mid) < target else (lo, mid)
    return (lo + hi) / 2


@torch.no_grad()
def novelty(weights: torch.Tensor, anchors: torch.Tensor, activation: str, data: SplitData,
            device="cpu", layout=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance to the nearest anchor, index of that anchor, prediction agreement with it on
    ``data``) per model; non-finite models get NaN and index -1."""
    dist, idx = nearest_anchor(weights, anchors)
    agree = np.full(len(weights), np.nan)
    rows = torch.nonzero(torch.isfinite(weights).all(dim=1)).flatten()
    if len(rows) == 0:
        return dist, idx, agree
    mine = class_probabilities(weights[rows], activation, data, device, layout).argmax(-1)
    nearest = class_probabilities(anchors[idx[rows.numpy()]], activation, data, device,
                                  layout).argmax(-1)
    agree[rows.numpy()] = (mine == nearest).double().mean(dim=1).numpy()
    return dist, idx, agree


def population_zoo(weights: torch.Tensor, name: str, layout, dataset: str,
                   activation: str) -> Zoo:
    """A population in the zoo format: one epoch (as sampled), metrics not yet measured."""
    n = len(weights)
    metrics = {k: np.full((n, 1), np.nan) for k in METRICS}
    rows = [dict(model_id=i, seed=-1, population=name, activation=activation, init="sampled")
            for i in range(n)]
    diverged = np.where(torch.isfinite(weights).all(dim=1).numpy(), -1, 0)
    return Zoo(weights.float().unsqueeze(1), metadata_table(rows, metrics, diverged), layout,
               dataset, {"model_ids": list(range(n)), "population": name})


POPULATIONS_INFO = "populations.json"


def load_populations(folder, which: str = "finetune") -> tuple[dict[str, torch.Tensor], dict]:
    """The populations sample_populations wrote, ``{name: weights [n, P]}``, and its info.

    Each population is drawn once at the larger of the fine-tuning size and the novelty
    frontier's size; ``which="finetune"`` gives the first ``n_finetune`` models of each (what
    is fine-tuned), ``"all"`` every model (what the frontier measures at epoch 0)."""
    if which not in ("finetune", "all"):
        raise ValueError(f"which must be 'finetune' or 'all', got {which!r}")
    folder = Path(folder)
    info = json.loads((folder / POPULATIONS_INFO).read_text())
    n = info.get("n_finetune") if which == "finetune" else None
    out = {}
    for name in info["populations"]:
        weights = load_zoo(folder / name).weights[:, 0]
        out[name] = weights[:n] if n is not None else weights
    return out, info
