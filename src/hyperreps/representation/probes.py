"""Linear property probes: how much of a model's properties a linear map can read off its features.

The evaluation protocol of the hyper-representation papers (Schürholt et al., NeurIPS 2021,
App. B and Table 6): a feature set (raw flattened weights "W", weight statistics "s(W)", a
learned embedding, ...) is judged by how well a *linear* model predicts the zoo models'
properties from it, on the zoo's train / validation / test splits.

* Numeric properties (test accuracy, epoch, generalisation gap ``train_acc - test_acc``, and
  numeric hyperparameters such as lr, weight decay or dropout when the zoo varies them): ridge
  regression with intercept on standardised features. The penalty is picked among
  :data:`RIDGE_ALPHAS` by R² on the validation split. Reported: R² = 1 - MSE / Var(y)
  (:func:`hyperreps.metrics.r_squared` against the targets' own mean; NaN for constant y) and
  Kendall's τ between targets and predictions, on every split.
* Categorical properties (activation, initialisation, optimiser): multinomial logistic
  regression on standardised features, its inverse penalty ``C`` picked among
  :data:`LOGISTIC_CS` by validation accuracy. Reported: accuracy on every split.

The scaler and the linear model are fitted on the train split only; the penalty is chosen on the
validation split only, so test numbers never influence any choice. Rows whose features or target
are not finite (diverged models) are dropped before fitting, and each split reports the number
of rows it used. A property with fewer than two distinct values in the train split carries no
signal to probe and is skipped.

The "s(W)" baseline is the per-layer weight statistics of Unterthiner et al. (2020), as in the
reference implementation's ``LayerQuintiles``: for every layer, the mean, the (population)
variance and the 1st, 25th, 50th, 75th and 99th percentiles of its weights, then the same seven
statistics of its biases (:func:`weight_statistics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from ..metrics import r_squared

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hyperreps.layout import ParameterLayout

SPLITS = ("train", "val", "test")
# 1e3, 3e2, 1e2, 3e1, ..., 3e-5, 1e-5: alternating mantissas 1 and 3, 17 values.
RIDGE_ALPHAS: tuple[float, ...] = tuple(
    float(f"{m}e{e}") for e in range(3, -6, -1) for m in (3, 1)
)[1:]
LOGISTIC_CS: tuple[float, ...] = tuple(float(f"1e{e}") for e in range(-3, 4))
LOGISTIC_MAX_ITER = 1000
PERCENTILES = (1, 25, 50, 75, 99)


@dataclass
class ProbeResult:
    """One property probed from one feature set.

    ``penalty`` is the chosen ridge ``alpha`` (regression) or logistic ``C`` (classification).
    Each split's dict holds ``r2``, ``kendall_tau`` and ``n`` (regression) or ``accuracy`` and
    ``n`` (classification); ``n`` counts the rows used after dropping non-finite ones.
    """

    feature_set: str
    prop: str
    kind: str  # "regression" | "classification"
    penalty: float
    train: dict
    val: dict
    test: dict


class ProbeResults(list[ProbeResult]):
    """The results of :func:`run_probes`, plus the properties it skipped as constant."""

    def __init__(self, results: Iterable[ProbeResult] = (), skipped: Iterable[str] = ()):
        super().__init__(results)
        self.skipped: list[str] = list(skipped)


def kendall_tau(y: np.ndarray, pred: np.ndarray) -> float:
    """Kendall's τ-b between targets and predictions; NaN when either is constant."""
    if len(y) < 2 or np.ptp(y) == 0 or np.ptp(pred) == 0:
        return float("nan")
    return float(kendalltau(y, pred).statistic)


def _missing(y: np.ndarray) -> np.ndarray:
    """Row mask of missing targets: non-finite numbers, or None / NaN among labels."""
    if y.dtype.kind in "biufc":
        return ~np.isfinite(y)
    return np.asarray(pd.isna(y), dtype=bool)


def _usable_rows(
    X: dict[str, np.ndarray], y: dict[str, np.ndarray], numeric: bool
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every split's features and targets without the rows where either is non-finite."""
    Xs, ys = {}, {}
    for split in X:  # train, val, test and any further set to evaluate on (probe transfer)
        x = np.asarray(X[split], dtype=float)
        t = np.asarray(y[split], dtype=float) if numeric else np.asarray(y[split])
        if x.ndim != 2 or t.ndim != 1 or len(x) != len(t):
            raise ValueError(f"{split}: features must be [N, D] and targets [N], "
                             f"got {x.shape} and {t.shape}")
        keep = np.isfinite(x).all(axis=1) & ~_missing(t)
        Xs[split], ys[split] = x[keep], t[keep]
    if len(np.unique(ys["train"])) < 2:
        raise ValueError("the train split has fewer than two distinct target values to probe")
    if len(ys["val"]) == 0:
        raise ValueError("the validation split has no usable rows to choose the penalty on")
    return Xs, ys


def _standardised(Xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    scaler = StandardScaler().fit(Xs["train"])
    return {split: scaler.transform(x) if len(x) else x for split, x in Xs.items()}


def ridge_probe(
    X: dict[str, np.ndarray], y: dict[str, np.ndarray], alphas: Sequence[float] = RIDGE_ALPHAS,
    predictions: bool = False,
) -> tuple[float, dict[str, dict]]:
    """Ridge regression probe of a numeric property.

    ``X[split]`` is ``[N, D]``, ``y[split]`` is ``[N]`` for split in train / val / test, and
    any further key is evaluated too (e.g. another zoo: 2021 App. D.3). Fits on train, picks
    ``alpha`` by validation R² (ties go to the earlier, by default larger, alpha) and returns
    it with ``{split: {"r2", "kendall_tau", "n"}}`` (plus the usable targets ``y`` and their
    predictions ``pred`` with ``predictions=True``).
    """
    Xs, ys = _usable_rows(X, y, numeric=True)
    Zs = _standardised(Xs)
    best_alpha, best_model, best_val = None, None, -np.inf
    for alpha in alphas:
        model = Ridge(alpha=alpha).fit(Zs["train"], ys["train"])
        score = r_squared(model.predict(Zs["val"]), ys["val"])
        if score > best_val:
            best_alpha, best_model, best_val = alpha, model, score
    if best_model is None:
        raise ValueError("validation R² is undefined: the usable validation targets are constant")
    metrics = {}
    for split in Zs:
        pred = best_model.predict(Zs[split]) if len(Zs[split]) else np.empty(0)
        metrics[split] = {"r2": r_squared(pred, ys[split]),
                          "kendall_tau": kendall_tau(ys[split], pred), "n": len(ys[split])}
        if predictions:
            metrics[split].update(y=ys[split], pred=pred)
    return float(best_alpha), metrics


def logistic_probe(
    X: dict[str, np.ndarray], y: dict[str, np.ndarray], Cs: Sequence[float] = LOGISTIC_CS
) -> tuple[float, dict[str, dict]]:
    """Multinomial logistic regression probe of a categorical property (labels may be strings).

    Fits on train, picks ``C`` by validation accuracy (ties go to the earlier, by default
    smaller, C) and returns it with ``{split: {"accuracy", "n"}}``.
    """
    Xs, ys = _usable_rows(X, y, numeric=False)
    Zs = _standardised(Xs)
    best_C, best_model, best_val = None, None, -np.inf
    for C in Cs:
        model = LogisticRegression(C=C, max_iter=LOGISTIC_MAX_ITER).fit(Zs["train"], ys["train"])
        score = float(np.mean(model.predict(Zs["val"]) == ys["val"]))
        if score > best_val:
            best_C, best_model, best_val = C, model, score
    metrics = {}
    for split in Zs:
        n = len(ys[split])
        acc = float(np.mean(best_model.predict(Zs[split]) == ys[split])) if n else float("nan")
        metrics[split] = {"accuracy": acc, "n": n}
    return float(best_C), metrics


def weight_statistics(flat: np.ndarray, layer_slices: Sequence[tuple[slice, slice]]) -> np.ndarray:
    """The "s(W)" features ``[N, 14 * L]`` of flat weight vectors ``[N, P]``.

    ``layer_slices`` holds one ``(weight slice, bias slice)`` per layer. Per layer, in this order:
    the mean, population variance and :data:`PERCENTILES` (1/25/50/75/99) of its weights, then
    the same seven statistics of its biases.
    """
    flat = np.asarray(flat, dtype=float)
    columns = []
    for weight, bias in layer_slices:
        for part in (flat[:, weight],) + (() if bias is None else (flat[:, bias],)):
            columns += [part.mean(axis=1, keepdims=True), part.var(axis=1, keepdims=True),
                        np.percentile(part, PERCENTILES, axis=1).T]
    return np.concatenate(columns, axis=1)


def layer_slices(layout: ParameterLayout) -> list[tuple[slice, slice]]:
    """Every layer's ``(weight slice, bias slice)`` in ``layout``, for :func:`weight_statistics`
    (bias slice None for a layer without bias)."""
    slices = []
    for layer in layout.layers:
        w = layout.tensor(f"{layer.name}.weight")
        b = (layout.tensor(f"{layer.name}.bias") if layout.has_tensor(f"{layer.name}.bias")
             else None)
        slices.append((slice(w.offset, w.offset + w.numel),
                       None if b is None else slice(b.offset, b.offset + b.numel)))
    return slices


def run_probes(
    features: dict[str, dict[str, np.ndarray]],
    properties: dict[str, dict[str, np.ndarray]],
    categorical: set[str],
) -> ProbeResults:
    """Probe every property from every feature set.

    ``features[name][split]`` is ``[N, D]`` and ``properties[prop][split]`` is ``[N]`` in the same
    row order. Properties named in ``categorical`` get :func:`logistic_probe`, the others
    :func:`ridge_probe`. A property with fewer than two distinct (non-missing) values in the train
    split is not probed; its name goes to ``ProbeResults.skipped``.
    """
    results, skipped = [], []
    for prop, y in properties.items():
        is_cat = prop in categorical
        train = np.asarray(y["train"]) if is_cat else np.asarray(y["train"], dtype=float)
        if len(np.unique(train[~_missing(train)])) < 2:
            skipped.append(prop)
            continue
        probe, kind = (logistic_probe, "classification") if is_cat else (ridge_probe, "regression")
        for name, X in features.items():
            penalty, metrics = probe(X, y)
            results.append(ProbeResult(name, prop, kind, penalty, **metrics))
    return ProbeResults(results, skipped)


def probe_table(results: Sequence[ProbeResult]) -> pd.DataFrame:
    """Long table, one row per (feature set, property): penalty and every split's metrics.

    Columns: feature_set, property, kind, penalty, then ``{split}_{r2, kendall_tau, accuracy, n}``
    for train, val and test (NaN where a metric does not apply). The skipped properties of a
    :class:`ProbeResults` are kept in ``table.attrs["skipped"]``.
    """
    metric_names = ("r2", "kendall_tau", "accuracy", "n")
    rows = []
    for r in results:
        row = {"feature_set": r.feature_set, "property": r.prop, "kind": r.kind,
               "penalty": r.penalty}
        for split in SPLITS:
            metrics = getattr(r, split)
            row.update({f"{split}_{m}": metrics.get(m, np.nan) for m in metric_names})
        rows.append(row)
    columns = ["feature_set", "property", "kind", "penalty",
               *(f"{split}_{m}" for split in SPLITS for m in metric_names)]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["skipped"] = list(getattr(results, "skipped", []))
    return table


def probe_summary(results: Sequence[ProbeResult], split: str = "test") -> pd.DataFrame:
    """Paper-style wide table of one split: one row per property, one column per feature set.

    Values are R² in % (regression) or accuracy in % (classification), see the ``metric`` column;
    the columns ``"τ {feature set}"`` hold Kendall's τ (NaN for classification).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    rows: dict[str, dict] = {}
    for r in results:
        metrics = getattr(r, split)
        regression = r.kind == "regression"
        row = rows.setdefault(r.prop, {"metric": "R² %" if regression else "acc %"})
        row[r.feature_set] = 100 * (metrics["r2"] if regression else metrics["accuracy"])
        row[f"τ {r.feature_set}"] = metrics.get("kendall_tau", np.nan)
    feature_sets = list(dict.fromkeys(r.feature_set for r in results))
    columns = ["metric", *feature_sets, *(f"τ {fs}" for fs in feature_sets)]
    index = pd.Index(list(rows), name="property")
    summary = pd.DataFrame(list(rows.values()), index=index, columns=columns)
    summary.attrs["skipped"] = list(getattr(results, "skipped", []))
    return summary


def class_f_scores(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class F1 scores ``[..., n_classes]`` of predicted labels ``[..., N]`` against
    ``labels`` ``[N]`` (the 2021 papers' F_c targets): 2 TP / (2 TP + FP + FN), 0 where a
    class is neither predicted nor present (as ``sklearn.metrics.f1_score`` with
    ``zero_division=0``)."""
    pred = np.asarray(pred)
    labels = np.asarray(labels)
    out = np.zeros(pred.shape[:-1] + (n_classes,))
    for c in range(n_classes):
        p, t = pred == c, labels == c
        tp = (p & t).sum(-1)
        denom = p.sum(-1) + t.sum()
        out[..., c] = np.divide(2 * tp, denom, out=np.zeros(denom.shape, dtype=float),
                                where=denom > 0)
    return out


TRANSFER_PROPERTIES = ("test_acc", "epoch", "ggap")


def probe_transfer(features: dict[str, dict[str, np.ndarray]],
                   properties: dict[str, dict[str, np.ndarray]],
                   props: Sequence[str] = TRANSFER_PROPERTIES
                   ) -> tuple[pd.DataFrame, dict[tuple[str, str, str], tuple]]:
    """In- and out-of-distribution probes (2021 App. D.3, Figs. 7-10): ridge probes fitted on
    the source zoo's train split (penalty on its val split) and evaluated on its test split
    and on every further key of ``features[name]`` (other zoos' test models). Returns the long
    table (property, feature_set, evaluated_on, r2, kendall_tau, n) and the targets and
    predictions per (property, feature set, evaluated_on)."""
    rows, predictions = [], {}
    for prop in props:
        y = properties[prop]
        train = np.asarray(y["train"], dtype=float)
        if len(np.unique(train[np.isfinite(train)])) < 2:
            continue
        for name, X in features.items():
            _, metrics = ridge_probe(X, y, predictions=True)
            for where, m in metrics.items():
                if where in ("train", "val"):
                    continue
                rows.append(dict(property=prop, feature_set=name, evaluated_on=where,
                                 r2=m["r2"], kendall_tau=m["kendall_tau"], n=m["n"]))
                predictions[prop, name, where] = (m["y"], m["pred"])
    return pd.DataFrame(rows), predictions
