"""Populations that mix independent solutions in weight space, and quality-diversity selection
with its noise baseline under the same selection (issue 32).

- ``W_PCA``: a Gaussian on the aligned training models' PCA coefficients
  (:func:`hyperreps.sampling.weight_mixing.pca_gaussian`);
- ``W_Mix2`` / ``W_Mix3``: Dirichlet mixes of 2 / 3 aligned parents, repaired to the mix of
  their parents' unit statistics on training images (REPAIR,
  :func:`hyperreps.sampling.weight_mixing.repaired_mixes`);
- ``W_Mix2_QD``: a pool of ``pool_factor`` x n W_Mix2 models, the n kept with the highest
  :func:`selection_score` on the validation split (``delta_iou``: the frontier's ΔIoU on
  validation, max error-IoU against every training checkpoint of the window; ``product``:
  accuracy x (1 - max error-IoU)), among those at or above the ``floor_quantile`` of the
  training models' validation accuracy (:func:`select_novel_accurate`). The validation split
  only: the frontier measures the test split;
- ``N_noise_QD``: its baseline, noise built as the frontier's raw curve (a top-30% checkpoint
  plus Gaussian noise of one of the curve's sigmas, drawn uniformly), the same pool size under
  the same selection. Selection moves noise too: a selected population is read against it
  (:data:`SELECTION_BASELINES`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..data import SplitData
from ..layout import ParameterLayout
from ..sampling.weight_mixing import pca_gaussian, repaired_mixes, unit_statistics
from .novelty_at_accuracy import IoUGivenAccuracy, fit_iou_given_accuracy
from .novelty_measures import audit_measures, error_masks

log = logging.getLogger(__name__)

MIXED: tuple[str, ...] = ("W_PCA", "W_Mix2", "W_Mix3", "W_Mix2_QD")
SELECTED_NOISE = "N_noise_QD"
# a selected population -> (the population whose pool it selects from, its noise baseline)
SELECTION_BASELINES: dict[str, tuple[str, str]] = {"W_Mix2_QD": ("W_Mix2", SELECTED_NOISE)}
PARENTS = {"W_Mix2": 2, "W_Mix3": 3}


@dataclass
class MixingContext:
    """What the weight-space populations are drawn from and selected with."""

    aligned: torch.Tensor  # [N, P] aligned window-end training models
    layout: ParameterLayout
    activation: str
    repair_images: torch.Tensor  # training images for REPAIR's unit statistics
    val: SplitData  # the validation split, for selection
    val_references: np.ndarray  # bool [checkpoints, val images]: every anchor's val errors
    val_floor: float  # validation accuracy a selected model must reach
    noise_base: torch.Tensor  # [K, P] the top-30% anchors (the raw noise curve's base)
    sigmas: tuple[float, ...]  # the raw noise curve's sigmas
    settings: dict  # generative.mixing
    parent_statistics: dict | None = None
    val_curve: IoUGivenAccuracy | None = None  # noise's IoU given accuracy on validation


def mixing_context(aligned: torch.Tensor, anchors: torch.Tensor, top: np.ndarray,
                   layout: ParameterLayout, activation: str, train: SplitData, val: SplitData,
                   sigmas, settings: dict, device="cpu") -> MixingContext:
    """The context of :func:`mixing_population`: the anchors' validation errors and the
    selection floor (the ``floor_quantile`` of the aligned models' validation accuracy)."""
    val_refs, _ = error_masks(anchors, activation, val, device, layout)
    own = error_masks(aligned, activation, val, device, layout)[0]
    floor = float(np.quantile(1.0 - own.mean(1), settings["floor_quantile"]))
    images = train.x[:settings["repair_images"]].float()
    ctx = MixingContext(aligned, layout, activation, images, val, val_refs, floor, anchors[top],
                        tuple(sigmas), settings)
    if settings["selection_score"] == "delta_iou":
        # the selection's own noise curve, on validation: VAL_CURVE_MODELS per sigma
        pool = _draw(SELECTED_NOISE, ctx, VAL_CURVE_MODELS * len(ctx.sigmas), seed=2**31 - 1)
        acc, iou = _validation_measures(pool, ctx, device)
        ctx.val_curve = fit_iou_given_accuracy(acc, iou)
    return ctx


VAL_CURVE_MODELS = 50  # noise models per sigma of the validation curve (delta_iou selection)


def _validation_measures(pool: torch.Tensor, ctx: MixingContext, device="cpu"):
    masks, finite = error_masks(pool, ctx.activation, ctx.val, device, ctx.layout)
    m = audit_measures(masks, finite, ctx.val_references)
    return np.where(finite, 1.0 - m["error_rate"], np.nan), m["max_error_iou"]


def selection_score(acc: np.ndarray, iou: np.ndarray, ctx: MixingContext) -> np.ndarray:
    """``product``: validation accuracy x (1 - max error-IoU); ``delta_iou``: the IoU that
    noise of the same validation accuracy has (the validation curve, accuracy clipped to its
    range) minus the model's own, the frontier's ΔIoU on validation data. -inf where
    undefined."""
    if ctx.settings["selection_score"] == "delta_iou" and ctx.val_curve is not None:
        score = ctx.val_curve(np.clip(acc, ctx.val_curve.low, ctx.val_curve.high)) - iou
    else:
        score = acc * (1.0 - iou)
    return np.where(np.isfinite(score), score, -np.inf)


def parent_mixer(k: int, settings: dict, layout: ParameterLayout, activation: str,
                 train: SplitData):
    """W_Mix<k> as a function ``(parents [N, P], n, seed) -> [n, P]`` (the generalisation
    check fits it on other parents)."""
    images = train.x[:settings["repair_images"]].float()

    def draw(parents: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        return repaired_mixes(parents, n, k, settings["concentration"], seed, layout,
                              activation, images)
    return draw


def _draw(name: str, ctx: MixingContext, n: int, seed: int) -> torch.Tensor:
    s = ctx.settings
    if name == "W_PCA":
        return pca_gaussian(ctx.aligned, n, seed, s["pca_scale"])
    if name in PARENTS:
        if ctx.parent_statistics is None:
            ctx.parent_statistics = unit_statistics(ctx.aligned, ctx.layout, ctx.activation,
                                                    ctx.repair_images)
        return repaired_mixes(ctx.aligned, n, PARENTS[name], s["concentration"], seed,
                              ctx.layout, ctx.activation, ctx.repair_images,
                              ctx.parent_statistics)
    if name == SELECTED_NOISE:
        rng = np.random.default_rng(seed)
        base = ctx.noise_base[rng.integers(len(ctx.noise_base), size=n)]
        sigma = torch.from_numpy(rng.choice(np.asarray(ctx.sigmas), size=n)).float()
        return base + sigma[:, None] * torch.from_numpy(
            rng.standard_normal(base.shape)).float()
    raise ValueError(f"unknown weight-space population {name!r}")


def select_novel_accurate(pool: torch.Tensor, ctx: MixingContext, n: int, device="cpu"
                          ) -> tuple[np.ndarray, int]:
    """The rows of ``pool`` to keep: the ``n`` with the highest :func:`selection_score`, those
    below ``ctx.val_floor`` last; and how many reached it."""
    acc, iou = _validation_measures(pool, ctx, device)
    score = selection_score(acc, iou, ctx)
    above = np.isfinite(acc) & (acc >= ctx.val_floor)
    order = np.lexsort((-score, ~above))  # above the floor first, then by score
    return np.sort(order[:n]), int(above.sum())


def mixing_population(name: str, ctx: MixingContext, n: int, seed: int, device="cpu"
                      ) -> torch.Tensor:
    """``n`` models of the weight-space population ``name`` (:data:`MIXED` or
    :data:`SELECTED_NOISE`); a selected one draws ``pool_factor * n`` from its source."""
    selected = {**{k: v[0] for k, v in SELECTION_BASELINES.items()},
                SELECTED_NOISE: SELECTED_NOISE}
    if name not in selected:
        return _draw(name, ctx, n, seed)
    pool = _draw(selected[name], ctx, ctx.settings["pool_factor"] * n, seed)
    keep, above = select_novel_accurate(pool, ctx, n, device)
    log.info("%s: %d of a pool of %d at or above the validation floor %.3f, %d kept", name,
             above, len(pool), ctx.val_floor, len(keep))
    if above < n:
        log.warning("%s: only %d of %d pool models reach the validation floor; the rest are "
                    "the best below it", name, above, len(pool))
    return pool[torch.from_numpy(keep)]
