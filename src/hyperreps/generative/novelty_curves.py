"""The accuracy-novelty frontier of the trivial baseline, and every population placed against it
(issue 22; the 2025 memorisation audit's Fig. 6a, extended to a curve and to two axes).

Noise curves: the top-30% training checkpoints (``noise_raw``), or the autoencoder's
reconstructions of them (``noise_reconstructed``, the audit's variant), plus Gaussian noise of
std sigma for each sigma of a grid. Every sigma uses the same picked checkpoints and the same
standard-normal draws (common random numbers), so the curve moves only with sigma.

Axes of novelty (:data:`AXES`): ``max_error_iou`` (behaviour; lower is more novel, see
:mod:`hyperreps.generative.novelty_measures`), and a weight distance, each curve with its own:
``l2_checkpoint`` (to the nearest training checkpoint) for ``noise_raw`` and
``l2_reconstruction`` (to the nearest reconstructed checkpoint, the audit's) for
``noise_reconstructed``.

A population's comparison on the behavioural axis is made at equal accuracy, model by model
(:mod:`hyperreps.generative.novelty_at_accuracy`: ΔIoU and the share of the gap to
independently trained models it closes), because IoU is not a monotone function of sigma. On a
weight axis, which grows with sigma, it is its mean accuracy minus the curve's accuracy at the
population's mean distance (linear interpolation between the curve's sigma points, each a mean
over its models; NaN outside the curve's range), with a percentile bootstrap CI that resamples
the population's models and every sigma point's models (:func:`compare_to_curve`).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import torch

from .mixing_populations import SELECTION_BASELINES
from .novelty_at_accuracy import compare_at_accuracy, compare_populations, curve_reference

# the noise curves, and the weight-novelty axis each is compared on
CURVES: dict[str, str] = {"noise_raw": "l2_checkpoint",
                          "noise_reconstructed": "l2_reconstruction"}
BEHAVIOUR = "max_error_iou"
AXES = ("max_error_iou", "l2_checkpoint", "l2_reconstruction")
# the zoo's own models, placed beside the populations: the training models at the window's end
# (their own checkpoints excluded from the references) and the test models (never seen)
TRAINING_MODELS = "zoo_train"
TEST_MODELS = "zoo_test"
ZOO_MODELS = (TRAINING_MODELS, TEST_MODELS)
# both together: the independently trained models whose novelty is the gap's far end
INDEPENDENT_MODELS = "zoo_independent"


def noise_members(base: torch.Tensor, sigmas, n: int, seed: int
                  ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``n`` models per sigma: rows of ``base`` ``[B, P]`` (picked with replacement) plus sigma
    times one shared standard-normal draw. Returns weights ``[len(sigmas) * n, P]``, each row's
    sigma and the index of its base row."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if sigmas.ndim != 1 or len(sigmas) == 0 or not np.isfinite(sigmas).all() \
            or (sigmas < 0).any():
        raise ValueError(f"sigmas must be a non-empty list of finite values >= 0, got {sigmas}")
    if len(base) == 0:
        raise ValueError("no checkpoints to add noise to")
    rng = np.random.default_rng(seed)
    pick = rng.integers(len(base), size=n)
    eps = torch.from_numpy(rng.standard_normal((n, base.shape[1]))).float()
    rows = base[pick].float()
    weights = torch.cat([rows + float(s) * eps for s in sigmas])
    return weights, np.repeat(sigmas, n), np.tile(pick, len(sigmas))


def curve_points(members: pd.DataFrame) -> pd.DataFrame:
    """Per curve and sigma: the number of finite models, mean and std of accuracy and of every
    novelty axis present (columns ``<axis>`` and ``<axis>_std``)."""
    axes = [a for a in AXES if a in members]
    agg = {"test_acc": ["count", "mean", "std"], **{a: ["mean", "std"] for a in axes}}
    g = members.groupby(["curve", "sigma"]).agg(agg)
    g.columns = ["n", "test_acc", "test_acc_std",
                 *[c for a in axes for c in (a, f"{a}_std")]]
    return g.reset_index()


def accuracy_at(novelty: np.ndarray, accuracy: np.ndarray, x: float) -> float:
    """The curve's accuracy at novelty ``x``: linear interpolation between its points
    (sorted by novelty), NaN outside their range."""
    novelty, accuracy = np.asarray(novelty, float), np.asarray(accuracy, float)
    ok = np.isfinite(novelty) & np.isfinite(accuracy)
    if ok.sum() < 2 or not np.isfinite(x):
        return float("nan")
    order = np.argsort(novelty[ok], kind="stable")
    xs, ys = novelty[ok][order], accuracy[ok][order]
    if x < xs[0] or x > xs[-1]:
        return float("nan")
    return float(np.interp(x, xs, ys))


def compare_to_curve(acc: np.ndarray, novelty: np.ndarray, curve_acc: list[np.ndarray],
                     curve_novelty: list[np.ndarray], n_resamples: int = 1000, seed: int = 0,
                     confidence: float = 0.95, min_defined: float = 0.95) -> dict[str, float]:
    """A population (per-model ``acc`` and ``novelty``) against a curve (per sigma point, its
    models' accuracies and novelties): ``curve_acc`` (the curve at the population's mean
    novelty), ``difference`` (mean accuracy minus it) and its percentile bootstrap CI
    ``ci_low``, ``ci_high``. Non-finite models are left out.

    Each resample draws the population's models and every sigma point's models with
    replacement. The difference is undefined on a resample whose mean novelty falls outside
    that resample's curve (a population at the curve's end); ``scipy.stats.bootstrap`` cannot
    skip such resamples, so the resampling is written out here: the CI is taken over the
    defined resamples if they are at least ``min_defined`` of all, else it is NaN (the
    population lies at the edge of the curve and no honest interval exists)."""
    ok = np.isfinite(acc) & np.isfinite(novelty)
    acc, novelty = np.asarray(acc, float)[ok], np.asarray(novelty, float)[ok]
    points = []
    for a, v in zip(curve_acc, curve_novelty):
        keep = np.isfinite(a) & np.isfinite(v)
        if keep.any():
            points.append((np.asarray(a, float)[keep], np.asarray(v, float)[keep]))
    out = {"curve_acc": float("nan"), "difference": float("nan"), "ci_low": float("nan"),
           "ci_high": float("nan")}
    if len(acc) < 2 or len(points) < 2:
        return out
    at = accuracy_at(np.array([v.mean() for _, v in points]),
                     np.array([a.mean() for a, _ in points]), novelty.mean())
    out.update(curve_acc=at, difference=float(acc.mean() - at))
    if not np.isfinite(at):
        return out
    rng = np.random.default_rng(seed)

    def resampled_means(*columns):
        idx = rng.integers(len(columns[0]), size=(n_resamples, len(columns[0])))
        return [c[idx].mean(axis=1) for c in columns]

    pop_acc, pop_nov = resampled_means(acc, novelty)
    curve = [resampled_means(a, v) for a, v in points]
    ys = np.stack([c[0] for c in curve], axis=1)
    xs = np.stack([c[1] for c in curve], axis=1)
    diffs = np.array([pop_acc[b] - accuracy_at(xs[b], ys[b], pop_nov[b])
                      for b in range(n_resamples)])
    defined = diffs[np.isfinite(diffs)]
    if len(defined) >= min_defined * n_resamples:
        tail = 100 * (1 - confidence) / 2
        out.update(ci_low=float(np.percentile(defined, tail)),
                   ci_high=float(np.percentile(defined, 100 - tail)))
    return out


def frontier_table(models: pd.DataFrame, members: pd.DataFrame, n_resamples: int = 1000,
                   seed: int = 0) -> pd.DataFrame:
    """Every population of ``models`` (columns ``population``, ``test_acc`` and the
    :data:`AXES`), and the zoo's independent models pooled (:data:`INDEPENDENT_MODELS`),
    against every curve of ``members`` (columns ``curve``, ``sigma``, ``test_acc`` and the
    axes).

    One row per population and curve: ``n``, accuracy, the population's mean on each axis, the
    mean chance IoU if given; on the behavioural axis, at equal accuracy
    (:func:`~hyperreps.generative.novelty_at_accuracy.compare_at_accuracy`): ``delta_iou``
    with ``ci_low_delta`` / ``ci_high_delta``, ``in_range``, ``gap_closed`` with
    ``ci_low_gap`` / ``ci_high_gap``, ``acc_share``; on the curve's weight axis, at equal
    distance: ``curve_acc_l2``, ``difference_l2`` and ``ci_low_l2`` / ``ci_high_l2``."""
    independent = models[models["population"].isin(ZOO_MODELS)]
    groups = list(models.groupby("population", sort=False))
    if not independent.empty:
        groups.append((INDEPENDENT_MODELS, independent))
    references = {}
    for c_index, curve in enumerate(CURVES):
        cm = members[members["curve"] == curve]
        if not cm.empty:
            references[curve] = curve_reference(
                cm["test_acc"], cm[BEHAVIOUR], independent["test_acc"], independent[BEHAVIOUR],
                n_resamples, seed + 7919 * (c_index + 1))
    rows = []
    for population, group in groups:
        for c_index, (curve, weight_axis) in enumerate(CURVES.items()):
            if curve not in references:
                continue
            cm = members[members["curve"] == curve]
            sigma_groups = [g for _, g in cm.groupby("sigma")]
            row = {"population": population, "curve": curve,
                   "n": int(group["test_acc"].notna().sum()),
                   "test_acc": group["test_acc"].mean()}
            for axis in AXES:
                row[axis] = group[axis].mean() if axis in group else np.nan
            if "chance_iou" in group:
                row["chance_iou"] = group["chance_iou"].mean()
            row["weight_axis"] = weight_axis
            own_seed = population_seed(seed, population, c_index)
            at_acc = compare_at_accuracy(group["test_acc"], group[BEHAVIOUR], references[curve],
                                         own_seed + 1)
            row.update({"delta_iou": at_acc["delta_iou"], "ci_low_delta": at_acc["ci_low"],
                        "ci_high_delta": at_acc["ci_high"], "in_range": at_acc["in_range"],
                        "gap_closed": at_acc["gap_closed"], "ci_low_gap": at_acc["gap_ci_low"],
                        "ci_high_gap": at_acc["gap_ci_high"], "acc_share": at_acc["acc_share"]})
            row.update(_against_selection_baseline(population, group, models,
                                                   references[curve], own_seed + 2))
            if weight_axis not in group or group[weight_axis].isna().all():
                cmp = {"curve_acc": np.nan, "difference": np.nan, "ci_low": np.nan,
                       "ci_high": np.nan}
            else:
                cmp = compare_to_curve(group["test_acc"].to_numpy(),
                                       group[weight_axis].to_numpy(),
                                       [g["test_acc"].to_numpy() for g in sigma_groups],
                                       [g[weight_axis].to_numpy() for g in sigma_groups],
                                       n_resamples, own_seed)
            for k, v in cmp.items():
                row[f"{k}_l2"] = v
            rows.append(row)
    return pd.DataFrame(rows)


def _against_selection_baseline(population: str, group: pd.DataFrame, models: pd.DataFrame,
                                reference, seed: int) -> dict:
    """A selected population's ΔIoU minus its noise baseline's under the same selection
    (:data:`~hyperreps.generative.mixing_populations.SELECTION_BASELINES`), with a CI; NaN for
    every other population or when the baseline was not drawn."""
    out = {"selection_baseline": "", "delta_vs_baseline": np.nan,
           "ci_low_vs_baseline": np.nan, "ci_high_vs_baseline": np.nan}
    baseline = SELECTION_BASELINES.get(population, (None, None))[1]
    base = models[models["population"] == baseline] if baseline else models.iloc[:0]
    if base.empty:
        return out
    cmp = compare_populations(group["test_acc"], group[BEHAVIOUR], base["test_acc"],
                              base[BEHAVIOUR], reference, seed)
    return {"selection_baseline": baseline, "delta_vs_baseline": cmp["difference"],
            "ci_low_vs_baseline": cmp["ci_low"], "ci_high_vs_baseline": cmp["ci_high"]}


def population_seed(seed: int, population: str, curve_index: int) -> int:
    """The bootstrap seed of one population against one curve: a function of its name, not of
    its place in the table, so that a population audited on its own (``hyperreps audit``)
    gets the same CI as in the pipeline's table."""
    return seed + 1000 * (zlib.crc32(str(population).encode()) % 100_000) + 10 * curve_index


def above_frontier(table: pd.DataFrame, axis: str = "iou") -> pd.DataFrame:
    """The rows whose CI lies above 0 on ``axis``: ``iou``, more novel in behaviour than noise
    at equal accuracy (ΔIoU); ``l2``, more accurate than noise at equal distance."""
    column = "ci_low_delta" if axis == "iou" else f"ci_low_{axis}"
    return table[table[column] > 0]
