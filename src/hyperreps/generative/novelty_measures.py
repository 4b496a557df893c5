"""The 2025 memorisation audit's measures of novelty (Zeng et al., "Generative Modeling of
Weights: Generalization or Memorization?", code boyazeng/weight_memorization).

- **Behavioural novelty**: a model's misclassified test images ``E`` (its *error mask*), and the
  maximum over all reference checkpoints ``t`` of the intersection over union
  ``|E ∩ E_t| / |E ∪ E_t|`` (:func:`max_error_iou`). Lower is more novel; a copy scores 1. For a
  training model against the training checkpoints, its own checkpoints are excluded (the
  audit excludes the model itself; here every epoch of the same model is excluded, since a
  later checkpoint of one run is not a different model).
- **Chance level** of that IoU: two independent error sets at error rates ``p`` and ``q`` have
  expected intersection ``p q`` and union ``p + q - p q`` (per image), so
  ``IoU ~ p q / (p + q - p q)`` (:func:`independent_error_iou`). The IoU is bounded by the error
  rates (at most ``min(p, q) / max(p, q)``): a much less accurate model cannot reach a high IoU
  with accurate references, so IoU differences between populations of different accuracy are
  partly accuracy differences. The excess over chance says how much of the overlap is shared
  behaviour.
- **Weight novelty** against the autoencoder's reconstructions ``R(W)`` of the training
  checkpoints: :func:`hyperreps.metrics.nearest_anchor` with those as anchors.

Two perfect models (both error sets empty) have IoU 1: they behave identically on the images.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import SplitData
from ..layout import ParameterLayout
from ..trainer.evaluate import class_probabilities


@torch.no_grad()
def error_masks(weights: torch.Tensor, activation: str, data: SplitData, device="cpu",
                layout: ParameterLayout | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Misclassified images ``bool [n, images]`` of models given as flat weights ``[n, P]``,
    and whether each model is finite (``bool [n]``; a non-finite model's row is all True, and
    its measures are NaN in :func:`max_error_iou`)."""
    finite = torch.isfinite(weights).all(dim=1)
    masks = np.ones((len(weights), len(data)), dtype=bool)
    rows = torch.nonzero(finite).flatten()
    if len(rows):
        pred = class_probabilities(weights[rows], activation, data, device, layout).argmax(-1)
        masks[rows.numpy()] = (pred != data.y.cpu()).numpy()
    return masks, finite.numpy()


def _as_float(masks: np.ndarray) -> torch.Tensor:
    m = np.asarray(masks)
    if m.ndim != 2 or m.dtype != bool:
        raise ValueError(f"error masks must be a 2-D boolean array [models, images], got "
                         f"{m.dtype} {m.shape}")
    return torch.from_numpy(m).float()


def max_error_iou(masks: np.ndarray, references: np.ndarray, *, groups=None,
                  reference_groups=None, finite=None, block: int = 1024
                  ) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``masks`` ``[n, images]``, the maximum error IoU over the rows of
    ``references`` ``[R, images]`` and the index of the reference that attains it.

    ``groups`` ``[n]`` and ``reference_groups`` ``[R]`` (e.g. model ids): pairs in the same group
    are excluded (a training model against its own checkpoints). A row with every reference
    excluded, or not ``finite``, gets NaN and index -1."""
    a, b = _as_float(masks), _as_float(references)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"masks and references must cover the same images, got {a.shape[1]} "
                         f"and {b.shape[1]}")
    if (groups is None) != (reference_groups is None):
        raise ValueError("give both groups and reference_groups, or neither")
    n = len(a)
    best, arg = np.full(n, np.nan), np.full(n, -1)
    if len(b) == 0:
        return best, arg
    ok = np.ones(n, dtype=bool) if finite is None else np.asarray(finite, dtype=bool)
    size_b = b.sum(1)
    if groups is not None:
        groups, reference_groups = np.asarray(groups), np.asarray(reference_groups)
        if groups.shape != (n,) or reference_groups.shape != (len(b),):
            raise ValueError("groups must give one label per row of masks and references")
    for start in range(0, n, block):
        rows = slice(start, start + block)
        inter = a[rows] @ b.T
        union = a[rows].sum(1, keepdim=True) + size_b - inter
        iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))
        if groups is not None:
            same = torch.from_numpy(groups[rows, None] == reference_groups[None, :])
            iou = iou.masked_fill(same, -1.0)
        value, index = iou.max(dim=1)
        value, index = value.double().numpy(), index.numpy()
        valid = value >= 0
        best[rows] = np.where(valid, value, np.nan)
        arg[rows] = np.where(valid, index, -1)
    best[~ok], arg[~ok] = np.nan, -1
    return best, arg


def paired_error_iou(masks: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Row by row, the error IoU of ``masks[i]`` and ``others[i]`` (``[n, images]`` each; 1
    where neither errs, as :func:`max_error_iou` counts two perfect models)."""
    a, b = _as_float(masks), _as_float(others)
    if a.shape != b.shape:
        raise ValueError(f"paired masks must have one shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    inter = (a * b).sum(1)
    union = a.sum(1) + b.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter)
                       ).double().numpy()


def independent_error_iou(p, q) -> np.ndarray:
    """The error IoU expected of two models that err independently at rates ``p`` and ``q``:
    ``p q / (p + q - p q)`` (1 where both are 0, as :func:`max_error_iou` counts two perfect
    models)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    union = p + q - p * q
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, p * q / np.where(union > 0, union, 1.0), 1.0)


def audit_measures(masks: np.ndarray, finite: np.ndarray, reference_masks: np.ndarray, *,
                   groups=None, reference_groups=None) -> dict[str, np.ndarray]:
    """Per model: ``error_rate``, ``max_error_iou`` over the references, ``iou_reference``
    (its index), ``chance_iou`` (:func:`independent_error_iou` at the model's and that
    reference's error rates) and ``iou_over_chance`` (their difference)."""
    iou, arg = max_error_iou(masks, reference_masks, groups=groups,
                             reference_groups=reference_groups, finite=finite)
    rate = np.where(finite, masks.mean(1), np.nan)
    ref_rate = np.where(arg >= 0, reference_masks.mean(1)[np.maximum(arg, 0)], np.nan)
    chance = np.where(arg >= 0, independent_error_iou(np.nan_to_num(rate),
                                                      np.nan_to_num(ref_rate)), np.nan)
    return {"error_rate": rate, "max_error_iou": iou, "iou_reference": arg,
            "chance_iou": chance, "iou_over_chance": iou - chance}
