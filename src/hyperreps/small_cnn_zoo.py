"""Unterthiner et al.'s Small CNN Zoo format ("Predicting Neural Network Accuracy from
Weights", 2020; google-research ``dnn_predict_accuracy``), read and written.

One folder per dataset holds:

- ``weights.npy``: float32 ``[rows, 4970]``, one row per (run, checkpoint); several GB for a
  whole zoo, so it is opened memory-mapped (``allow_pickle=False``) and only the selected rows
  are copied;
- ``metrics.csv.gz``: one row per weights row, same order: ``config.*`` hyperparameters
  (``config.activation``, ``config.w_init``, ``config.init_std``, ``config.l2reg``,
  ``config.dropout``, ``config.learning_rate``, ``config.optimizer``,
  ``config.train_fraction``, ``config.random_seed``, ...), ``modeldir`` (one per run),
  ``step`` (the checkpoint's epoch), ``test_accuracy``, ``test_loss``, ``train_accuracy``,
  ``train_loss``;
- ``layout.csv``: ``varname, start_idx, end_idx, shape``, where each TensorFlow variable lies in
  a row. Each layer is stored **bias first, then kernel**, kernels in TensorFlow order: conv
  ``(3, 3, in, out)`` (HWIO), dense ``(in, out)``.

The layout is always read from ``layout.csv`` (the 2021 authors' own index starts conv3 at 2320,
which is wrong), checked to tile ``[0, 4970)`` exactly, and matched to the registered
``unterthiner_cnn`` layer by layer in order of ``start_idx``. Conversion to our layout
(PyTorch OIHW / ``(out, in)``, weight then bias per layer) and back are exact permutations of
the row, so a written archive reads back bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .architecture import ARCHITECTURES, get_architecture
from .layout import ParameterLayout
from .metrics import METRICS
from .small_cnn_zoo_files import (LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE, SmallCNNZooError,
                                  Variable, open_weights, read_layout, read_metrics,
                                  read_split_order)
from .zoo import Zoo, metadata_table

__all__ = ["LAYOUT_FILE", "METRICS_FILE", "WEIGHTS_FILE", "SmallCNNZooError", "Variable",
           "read_layout", "read_metrics", "open_weights", "read_split_order",
           "matching_architectures", "to_layout", "from_layout", "import_small_cnn_zoo",
           "write_small_cnn_zoo", "zoo_rows", "field_split", "accuracy_check"]


def _pairs(variables: list[Variable], layout: ParameterLayout, where) -> list[tuple]:
    """Per layer of ``layout``: (layer, TF bias variable, TF kernel variable), matching the
    archive's variables in order (bias first, then kernel) and checking their shapes."""
    if len(variables) != 2 * len(layout.layers):
        raise SmallCNNZooError(f"{where}: {len(variables)} variables, the architecture has "
                               f"{len(layout.layers)} layers with weight and bias each")
    total = variables[-1].end if variables else 0
    if total != layout.n_params:
        raise SmallCNNZooError(f"{where}: the variables cover {total} columns, the architecture "
                               f"has {layout.n_params} parameters")
    out = []
    for i, layer in enumerate(layout.layers):
        bias, kernel = variables[2 * i], variables[2 * i + 1]
        o, n = layer.out_features, layer.in_features
        want = (layer.kernel_size, layer.kernel_size, n, o) if layer.kind == "conv" else (n, o)
        if bias.shape != (o,) or kernel.shape != want:
            raise SmallCNNZooError(f"{where}: layer {i} ({layer.name}) expects bias ({o},) then "
                                   f"kernel {want}, found {bias.name} {bias.shape} then "
                                   f"{kernel.name} {kernel.shape}")
        out.append((layer, bias, kernel))
    return out


def matching_architectures(variables: list[Variable]) -> list[str]:
    """The registered architectures whose layers the archive's variables fit (bias then kernel
    per layer, shapes equal), in registry order; the Unterthiner CNN's 28x28 and 32x32
    variants share one layout, so both match its archives."""
    found = []
    for name, arch in ARCHITECTURES.items():
        if not all(layer.bias for layer in arch.layout.layers):
            continue
        try:
            _pairs(variables, arch.layout, "")
        except SmallCNNZooError:
            continue
        found.append(name)
    return found


def to_layout(rows: np.ndarray, variables: list[Variable], layout: ParameterLayout,
              where="layout.csv") -> np.ndarray:
    """Rows of the archive ``[n, 4970]`` in our layout (per layer PyTorch weight, then bias)."""
    rows = np.asarray(rows)
    parts = []
    for layer, bias, kernel in _pairs(variables, layout, where):
        k = rows[:, kernel.start:kernel.end].reshape(len(rows), *kernel.shape)
        # HWIO -> OIHW, (in, out) -> (out, in)
        k = k.transpose(0, 4, 3, 1, 2) if layer.kind == "conv" else k.transpose(0, 2, 1)
        parts += [k.reshape(len(rows), -1), rows[:, bias.start:bias.end]]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def from_layout(weights: np.ndarray, variables: list[Variable],
                layout: ParameterLayout) -> np.ndarray:
    """The inverse of :func:`to_layout`: our rows back to the archive's column order."""
    weights = np.asarray(weights, dtype=np.float32)
    out = np.empty((len(weights), layout.n_params), dtype=np.float32)
    position = 0
    for layer, bias, kernel in _pairs(variables, layout, "layout"):
        n_w = int(np.prod(layer.weight_shape))
        w = weights[:, position:position + n_w].reshape(len(weights), *layer.weight_shape)
        w = w.transpose(0, 3, 4, 2, 1) if layer.kind == "conv" else w.transpose(0, 2, 1)
        out[:, kernel.start:kernel.end] = w.reshape(len(weights), -1)
        out[:, bias.start:bias.end] = weights[:, position + n_w:position + n_w + layer.out_features]
        position += n_w + layer.out_features
    return out


def standard_layout(layout: ParameterLayout) -> list[Variable]:
    """The archive's own variable table for ``layout`` (TF names, bias first per layer)."""
    out, position = [], 0
    for i, layer in enumerate(layout.layers):
        name = ("conv2d" if i == 0 else f"conv2d_{i}") if layer.kind == "conv" else "dense"
        o, n = layer.out_features, layer.in_features
        kernel = (layer.kernel_size, layer.kernel_size, n, o) if layer.kind == "conv" else (n, o)
        for suffix, shape in (("bias", (o,)), ("kernel", kernel)):
            size = int(np.prod(shape))
            out.append(Variable(f"sequential/{name}/{suffix}:0", position, position + size,
                                shape))
            position += size
    return out


def write_small_cnn_zoo(folder, weights: np.ndarray, metrics: pd.DataFrame,
                        layout: ParameterLayout) -> None:
    """Write ``weights`` (our layout, ``[rows, P]``) and ``metrics`` (one row each, with
    ``modeldir`` and ``step``) as a Small CNN Zoo folder: the format's column order, bias
    first, TF kernel order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len(weights) != len(metrics):
        raise ValueError(f"{len(weights)} weight rows but {len(metrics)} metric rows")
    variables = standard_layout(layout)
    np.save(folder / WEIGHTS_FILE, from_layout(weights, variables, layout))
    # gzip stamps the time into its header unless told a fixed one: same zoo, same bytes
    metrics.to_csv(folder / METRICS_FILE, index=False,
                   compression={"method": "gzip", "mtime": 0})
    pd.DataFrame([{"varname": v.name, "start_idx": v.start, "end_idx": v.end,
                   "shape": str(v.shape)} for v in variables]).to_csv(folder / LAYOUT_FILE,
                                                                        index=False)


# metrics columns of the format -> ours (validation is not recorded in the archive)
METRIC_COLUMNS = {"train_accuracy": "train_acc", "train_loss": "train_loss",
                  "test_accuracy": "test_acc", "test_loss": "test_loss"}
CONFIG_PREFIX = "config."


def select_rows(metrics: pd.DataFrame, where: dict | None = None, runs: int | None = None,
                steps=None) -> tuple[list[str], list[int]]:
    """The runs (``modeldir``, in order of first appearance) and checkpoint steps to import:
    ``where`` keeps rows whose columns equal the given value (or one of a list of values);
    ``steps`` (default: every step of the first kept run) must all be present in a run for
    it to be kept; ``runs`` keeps the first that many."""
    kept = metrics
    for column, value in (where or {}).items():
        if column not in metrics.columns:
            raise SmallCNNZooError(f"{METRICS_FILE}: filter column {column!r} not found; "
                                   f"columns: {sorted(metrics.columns)[:20]}")
        values = value if isinstance(value, (list, tuple)) else [value]
        kept = kept[kept[column].isin(values)]
    if kept.empty:
        raise SmallCNNZooError(f"{METRICS_FILE}: no row matches the filter {where}")
    order = list(dict.fromkeys(kept["modeldir"]))
    if steps is None:
        steps = sorted(kept.loc[kept["modeldir"] == order[0], "step"].unique())
    steps = sorted(int(s) for s in steps)
    have = kept.groupby("modeldir")["step"].agg(lambda s: set(int(x) for x in s))
    complete = [r for r in order if set(steps) <= have[r]]
    if not complete:
        raise SmallCNNZooError(f"{METRICS_FILE}: no run has every step of {steps}")
    return complete[:runs] if runs is not None else complete, steps


def read_runs(folder, layout: ParameterLayout, where: dict | None = None,
              runs: int | None = None, steps=None, metrics: pd.DataFrame | None = None):
    """Selected runs of a Small CNN Zoo folder: weights ``[runs, steps, P]`` in our layout,
    metrics ``{ours: [runs, steps]}``, one row of hyperparameters per run (``config.`` prefix
    dropped) and the steps (the real epoch numbers). Only the selected rows of the
    memory-mapped ``weights.npy`` are read. ``metrics``: the folder's ``metrics.csv.gz``
    where the caller has read it already."""
    folder = Path(folder)
    variables = read_layout(folder / LAYOUT_FILE)
    if metrics is None:
        metrics = read_metrics(folder / METRICS_FILE)
    weights = open_weights(folder / WEIGHTS_FILE, len(metrics), layout.n_params)
    names, steps = select_rows(metrics, where, runs, steps)
    index = {(d, int(s)): i for i, (d, s) in enumerate(zip(metrics["modeldir"],
                                                           metrics["step"]))}
    rows = np.array([[index[(d, s)] for s in steps] for d in names])
    flat = rows.reshape(-1)
    order = np.argsort(flat, kind="stable")  # read the memory map in file order
    block = np.empty((len(flat), layout.n_params), dtype=np.float32)
    block[order] = weights[flat[order]]
    ours = to_layout(block, variables, layout, folder / LAYOUT_FILE)
    ours = ours.reshape(len(names), len(steps), layout.n_params)
    table = metrics.iloc[flat]
    values = {ours_name: (table[theirs].to_numpy(dtype=np.float64).reshape(rows.shape)
                          if theirs in table else np.full(rows.shape, np.nan))
              for theirs, ours_name in METRIC_COLUMNS.items()}
    first = metrics.iloc[rows[:, 0]]
    hyper = [{c[len(CONFIG_PREFIX):]: r[c] for c in metrics.columns if c.startswith(CONFIG_PREFIX)}
             | {"modeldir": r["modeldir"]} for _, r in first.iterrows()]
    return ours, values, hyper, steps


# hyperparameters of the format -> our metadata columns (the rest keep their own names)
HYPERPARAMETERS = {"activation": "activation", "w_init": "init", "learning_rate": "lr",
                   "optimizer": "optimizer", "l2reg": "weight_decay", "dropout": "dropout",
                   "random_seed": "seed"}


def import_small_cnn_zoo(folder, dataset: str, architecture: str = "unterthiner_cnn",
                         where: dict | None = None, runs: int | None = None, steps=None,
                         split_csv=None):
    """A Small CNN Zoo folder as a :class:`~hyperreps.zoo.Zoo` of the registered
    ``architecture``: the selected runs (see :func:`select_rows`), their checkpoints at the
    archive's real epoch numbers (``zoo.info["epochs"]``), the recorded accuracies and losses
    (validation: NaN, the archive has none), every ``config.*`` hyperparameter as a metadata
    column (renamed where ours has a name for it, e.g. ``w_init`` -> ``init``). A run with a
    non-finite checkpoint is recorded as diverged from it, its later checkpoints NaN. With
    ``split_csv`` the field's split (:func:`field_split`) of the imported runs is kept in
    ``zoo.info["split"]`` (model ids per split), which the split_zoo rule then uses."""
    layout = get_architecture(architecture).layout
    metrics_all = read_metrics(Path(folder) / METRICS_FILE)  # read once: it can be large
    weights, values, hyper, steps = read_runs(folder, layout, where, runs, steps, metrics_all)
    n = len(weights)
    metrics = {k: np.array(values[k]) if k in values else np.full((n, len(steps)), np.nan)
               for k in METRICS}
    finite = np.isfinite(weights).all(axis=2)
    diverged = np.full(n, -1)
    for i in np.flatnonzero(~finite.all(axis=1)):
        first = int(np.argmin(finite[i]))
        diverged[i] = steps[first]
        weights[i, first:] = np.nan
        for k in METRICS:
            metrics[k][i, first:] = np.nan
    rows = []
    for i, h in enumerate(hyper):
        row = {"model_id": i}
        for theirs, value in h.items():
            row[HYPERPARAMETERS.get(theirs, theirs)] = value
        rows.append(row)
    meta = metadata_table(rows, metrics, diverged, steps)
    info = {"model_ids": list(range(n)), "epochs": [int(s) for s in steps],
            "format": "small_cnn_zoo", "imported_from": str(folder),
            "filter": dict(where or {}), "diverged": int((diverged >= 0).sum())}
    if split_csv is not None:
        runs_split = field_split(metrics_all, read_split_order(split_csv, len(metrics_all)))
        ids = {h["modeldir"]: i for i, h in enumerate(hyper)}
        info["split"] = {k: sorted(ids[r] for r in v if r in ids) for k, v in runs_split.items()}
        info["split_csv"] = str(split_csv)
    return Zoo(torch.from_numpy(weights), meta, layout, dataset, info)


def zoo_rows(zoo: Zoo, steps=None) -> tuple[np.ndarray, pd.DataFrame]:
    """A zoo as the archive's rows: weights ``[runs * steps, P]`` (our layout) and one metrics
    row each (``config.*`` from the zoo's hyperparameters, ``modeldir``, ``step``, accuracies
    and losses), runs in the zoo's order, ``steps`` (default all) its epoch numbers."""
    steps = [int(s) for s in (zoo.epochs if steps is None else steps)]
    at = [zoo.position(s) for s in steps]
    theirs = {ours: t for t, ours in HYPERPARAMETERS.items()}
    models = zoo.models()
    metrics = {k: zoo.metric(k) for k in ("train_acc", "train_loss", "test_acc", "test_loss")}
    names = {v: k for k, v in METRIC_COLUMNS.items()}
    rows = []
    for i, model in models.iterrows():
        config = {f"{CONFIG_PREFIX}{theirs.get(c, c)}": model[c] for c in models.columns
                  if c not in ("model_id", "diverged", "diverged_epoch")}
        for s, a in zip(steps, at):
            rows.append({**config, "modeldir": f"model_{int(model['model_id'])}", "step": s,
                         **{names[k]: v[i, a] for k, v in metrics.items()}})
    weights = zoo.weights[:, at].reshape(-1, zoo.layout.n_params).numpy()
    return weights, pd.DataFrame(rows)


FINAL_STEP = 86  # the Small CNN Zoo's last checkpoint, the one the field's split uses


def field_split(metrics: pd.DataFrame, order: np.ndarray) -> dict[str, list[str]]:
    """The field's split of the runs (``modeldir``): the metrics rows in ``order``, those at
    the final step kept, the second half test, the first half shuffled by
    ``random.Random(0)`` and cut 80/20 into train and val."""
    import random

    rows = metrics.iloc[order]
    final = rows[rows["step"] == FINAL_STEP]["modeldir"].tolist()
    half = int(0.5 * len(final))
    trainval = list(range(half))
    random.Random(0).shuffle(trainval)
    cut = int(0.8 * len(trainval))
    return {"train": [final[i] for i in trainval[:cut]], "val": [final[i] for i in trainval[cut:]],
            "test": final[half:]}


def accuracy_check(zoo: Zoo, test, n_models: int = 32, device="cpu") -> dict:
    """Re-evaluate up to ``n_models`` imported runs at their last checkpoint on ``test`` (the
    zoo dataset's test split, as the pipeline preprocesses it) against the accuracies recorded
    in the archive. A difference beyond a point or two means the architecture (e.g. padding),
    the kernel order or the preprocessing is not the one the zoo was trained with."""
    from .trainer.evaluate import evaluate_weights

    recorded = zoo.metric("test_acc")[:, -1]
    rows = np.flatnonzero(np.isfinite(recorded) & torch.isfinite(zoo.weights[:, -1]).all(1)
                          .numpy())[:n_models]
    if len(rows) == 0:
        return {"n": 0}
    activations = zoo.models()["activation"].to_numpy()[rows]
    _, acc = evaluate_weights(zoo.weights[rows, -1], activations, test, device,
                              layout=zoo.layout)
    diff = np.abs(acc - recorded[rows])
    return {"n": int(len(rows)), "epoch": int(zoo.epochs[-1]),
            "mean_abs_difference": float(diff.mean()), "max_abs_difference": float(diff.max())}
