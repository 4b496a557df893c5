"""Behavioural novelty read where it is a function (issue 32): each model's max error-IoU
against the IoU that a noise model of the same accuracy has, and the share of the distance
between noise and independently trained models that a population covers.

On a noise curve accuracy falls monotonically with sigma but max error-IoU does not: it falls,
then rises again near chance, where every model errs on most images. "Accuracy at equal IoU"
therefore has two branches, and a population on the curve's flat bottom gets an unstable
answer. Read the other way round, model by model:

- **IoU given accuracy**: an increasing isotonic regression of max error-IoU on test accuracy
  over the *individual* noise models of every sigma of a curve (:func:`fit_iou_given_accuracy`;
  a model's accuracy tells how far noise has moved it, and the regression is a function of
  it). It is defined inside the noise models' accuracy range and NaN outside.
- **ΔIoU** of a model = the regression at its accuracy minus its own IoU (> 0: more novel in
  behaviour than noise at its accuracy); a population's ΔIoU is the mean over its models inside
  the range (:func:`compare_at_accuracy`). Comparing population *means* with the curve of sigma
  *means* instead is biased by the curve's bend (a pool of mixed sigma, every model on the
  curve, would score below it).
- **Gap closed** = ΔIoU of the population / ΔIoU of the independently trained models (the
  zoo's training models, their own checkpoints excluded from the references, and its test
  models): 0 for noise, 1 for independent solutions; beside it the population's accuracy as a
  share of theirs, since near their accuracy the regression is steep.

Confidence intervals: percentile bootstrap that resamples the noise models (refitting the
regression), the population's models and the independent models together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression


@dataclass(frozen=True)
class IoUGivenAccuracy:
    """A fitted increasing step-linear function of accuracy (sklearn's thresholds), defined on
    ``[low, high]``, the noise models' accuracy range."""

    x: np.ndarray
    y: np.ndarray

    @property
    def low(self) -> float:
        return float(self.x[0])

    @property
    def high(self) -> float:
        return float(self.x[-1])

    def __call__(self, acc) -> np.ndarray:
        acc = np.asarray(acc, dtype=np.float64)
        out = np.interp(acc, self.x, self.y)
        out[~np.isfinite(acc) | (acc < self.low) | (acc > self.high)] = np.nan
        return out


def fit_iou_given_accuracy(acc, iou) -> IoUGivenAccuracy | None:
    """The increasing isotonic regression of ``iou`` on ``acc`` over the finite pairs (None
    with fewer than two distinct accuracies)."""
    acc, iou = np.asarray(acc, dtype=np.float64), np.asarray(iou, dtype=np.float64)
    ok = np.isfinite(acc) & np.isfinite(iou)
    if len(np.unique(acc[ok])) < 2:
        return None
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(acc[ok], iou[ok])
    return IoUGivenAccuracy(np.asarray(iso.X_thresholds_, dtype=np.float64),
                            np.asarray(iso.y_thresholds_, dtype=np.float64))


def delta_iou(acc, iou, fit: IoUGivenAccuracy | None) -> np.ndarray:
    """Per model: the noise regression at its accuracy minus its own max error-IoU (NaN for a
    model outside the regression's range or without finite measures)."""
    acc, iou = np.asarray(acc, dtype=np.float64), np.asarray(iou, dtype=np.float64)
    if fit is None:
        return np.full(acc.shape, np.nan)
    return fit(acc) - iou


def _mean_delta(acc, iou, fit) -> tuple[float, float]:
    """Mean ΔIoU over the models inside the range, and the share of finite models inside."""
    d = delta_iou(acc, iou, fit)
    finite = np.isfinite(acc) & np.isfinite(iou)
    inside = np.isfinite(d)
    if not inside.any():
        return float("nan"), float(inside.sum() / max(finite.sum(), 1))
    return float(d[inside].mean()), float(inside.sum() / max(finite.sum(), 1))


NAN_RESULT = {"delta_iou": np.nan, "ci_low": np.nan, "ci_high": np.nan, "in_range": np.nan,
              "gap_closed": np.nan, "gap_ci_low": np.nan, "gap_ci_high": np.nan,
              "acc_share": np.nan, "independent_delta_iou": np.nan}


def _finite(*columns):
    arrays = [np.asarray(c, dtype=np.float64) for c in columns]
    ok = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[ok] for a in arrays]


@dataclass
class CurveReference:
    """What every population is compared with on one noise curve: the regression fitted on the
    curve's models and on each bootstrap resample of them, and the independent models' ΔIoU
    on each (resampled alike). Built once per curve (:func:`curve_reference`), so that the
    populations share its resamples."""

    fit: IoUGivenAccuracy | None
    fits: list  # per resample: IoUGivenAccuracy or None
    independent_acc: np.ndarray
    independent_delta: float  # NaN where too few of them lie in the curve's accuracy range
    independent_deltas: np.ndarray  # per resample
    independent_in_range: float = float("nan")


# the gap needs the far end measured: at least this share of the independent models inside the
# noise models' accuracy range (noise on reconstructions, less accurate, may not reach them)
MIN_INDEPENDENT_IN_RANGE = 0.5


def curve_reference(noise_acc, noise_iou, independent_acc=(), independent_iou=(),
                    n_resamples: int = 1000, seed: int = 0) -> CurveReference:
    """The regression of a curve's models (``noise_acc``, ``noise_iou``, every sigma pooled)
    and ``n_resamples`` bootstrap refits; the independent models' ΔIoU against each."""
    noise_acc, noise_iou = _finite(noise_acc, noise_iou)
    ind_acc, ind_iou = _finite(independent_acc, independent_iou)
    fit = fit_iou_given_accuracy(noise_acc, noise_iou)
    rng = np.random.default_rng(seed)
    fits, ind_deltas = [], np.full(n_resamples, np.nan)
    for b in range(n_resamples if fit is not None else 0):
        idx = rng.integers(len(noise_acc), size=len(noise_acc))
        fits.append(fit_iou_given_accuracy(noise_acc[idx], noise_iou[idx]))
        if len(ind_acc) and fits[-1] is not None:
            i_idx = rng.integers(len(ind_acc), size=len(ind_acc))
            ind_deltas[b] = _mean_delta(ind_acc[i_idx], ind_iou[i_idx], fits[-1])[0]
    ind_delta, ind_in = _mean_delta(ind_acc, ind_iou, fit) if len(ind_acc) and fit is not None \
        else (float("nan"), float("nan"))
    if not ind_in >= MIN_INDEPENDENT_IN_RANGE:
        ind_delta, ind_deltas = float("nan"), np.full(n_resamples, np.nan)
    return CurveReference(fit, fits, ind_acc, ind_delta, ind_deltas, ind_in)


def compare_at_accuracy(acc, iou, reference: CurveReference, seed: int = 0,
                        confidence: float = 0.95, min_defined: float = 0.95) -> dict:
    """A population (per-model ``acc``, ``iou``) against a curve's ``reference``:
    ``delta_iou`` with its CI ``ci_low`` / ``ci_high``, ``in_range`` (share of the population's
    finite models inside the noise models' accuracy range), ``gap_closed`` (its ΔIoU over the
    independent models') with ``gap_ci_low`` / ``gap_ci_high``, ``acc_share`` (its mean
    accuracy over theirs) and ``independent_delta_iou``. Each resample draws the population's
    models and takes the reference's resample of the same number. A CI is taken over the
    resamples where the quantity is defined if they are at least ``min_defined`` of all, else
    it is NaN (a population at the edge of the curve's accuracy range)."""
    acc, iou = _finite(acc, iou)
    out = dict(NAN_RESULT)
    if reference.fit is None or len(acc) == 0:
        return out
    out["delta_iou"], out["in_range"] = _mean_delta(acc, iou, reference.fit)
    out["independent_delta_iou"] = reference.independent_delta
    out["gap_closed"] = _ratio(out["delta_iou"], reference.independent_delta)
    if len(reference.independent_acc) and reference.independent_acc.mean() > 0:
        out["acc_share"] = float(acc.mean() / reference.independent_acc.mean())
    rng = np.random.default_rng(seed)
    n = len(reference.fits)
    deltas, gaps = np.full(n, np.nan), np.full(n, np.nan)
    for b, fit_b in enumerate(reference.fits):
        idx = rng.integers(len(acc), size=len(acc))
        if fit_b is not None:
            deltas[b] = _mean_delta(acc[idx], iou[idx], fit_b)[0]
            gaps[b] = _ratio(deltas[b], reference.independent_deltas[b])
    out["ci_low"], out["ci_high"] = _percentile_ci(deltas, confidence, min_defined)
    out["gap_ci_low"], out["gap_ci_high"] = _percentile_ci(gaps, confidence, min_defined)
    return out


def _percentile_ci(values: np.ndarray, confidence: float, min_defined: float
                   ) -> tuple[float, float]:
    """The percentile interval of the resampled ``values`` over those defined, if they are at
    least ``min_defined`` of all; else NaN."""
    defined = values[np.isfinite(values)]
    if not len(values) or not len(defined) or len(defined) < min_defined * len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    return float(np.percentile(defined, tail)), float(np.percentile(defined, 100 - tail))


def compare_populations(acc, iou, base_acc, base_iou, reference: CurveReference, seed: int = 0,
                        confidence: float = 0.95) -> dict:
    """A population's ΔIoU minus a baseline population's (e.g. noise under the same selection)
    against one curve: ``difference`` and its CI ``ci_low`` / ``ci_high``, each resample
    drawing both populations' models and taking the reference's resampled regression."""
    acc, iou = _finite(acc, iou)
    base_acc, base_iou = _finite(base_acc, base_iou)
    out = {"difference": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if reference.fit is None or not len(acc) or not len(base_acc):
        return out
    out["difference"] = (_mean_delta(acc, iou, reference.fit)[0]
                         - _mean_delta(base_acc, base_iou, reference.fit)[0])
    rng = np.random.default_rng(seed)
    diffs = np.full(len(reference.fits), np.nan)
    for b, fit_b in enumerate(reference.fits):
        i = rng.integers(len(acc), size=len(acc))
        j = rng.integers(len(base_acc), size=len(base_acc))
        if fit_b is not None:
            diffs[b] = (_mean_delta(acc[i], iou[i], fit_b)[0]
                        - _mean_delta(base_acc[j], base_iou[j], fit_b)[0])
    out["ci_low"], out["ci_high"] = _percentile_ci(diffs, confidence, 0.95)
    return out


def _ratio(a: float, b: float) -> float:
    """``a / b``, NaN unless both are finite and ``b`` is positive (a gap only exists where the
    independent models are more novel than noise)."""
    return float(a / b) if np.isfinite(a) and np.isfinite(b) and b > 0 else float("nan")
