"""Unterthiner et al.'s Small CNN Zoo format ("Predicting Neural Network Accuracy from
Weights", 2020; google-research ``dnn_predict_accuracy``), read (written back by
:mod:`.small_cnn_zoo_archive`).

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

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..architecture import ARCHITECTURES, get_architecture
from ..data import dataset_info, load_dataset, missing_dataset
from ..layout import ParameterLayout
from ..metrics import METRICS
from ..untrusted_files import UntrustedFileError, check_regular
from ..zoo import Zoo, metadata_table
from .errors import ZooImportError
from .measured import mark_diverged, measure_checkpoints
from .small_cnn_zoo_files import (FILES, LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE, Variable,
                                  open_weights, read_layout, read_metrics, read_split_order)
from .source import ImportResult, ImportSource, ZooFormat


def layer_variables(variables: list[Variable], layout: ParameterLayout, where) -> list[tuple]:
    """Per layer of ``layout``: (layer, TF bias variable, TF kernel variable), matching the
    archive's variables in order (bias first, then kernel) and checking their shapes."""
    if len(variables) != 2 * len(layout.layers):
        raise ZooImportError(f"{where}: {len(variables)} variables, the architecture has "
                             f"{len(layout.layers)} layers with weight and bias each")
    total = variables[-1].end if variables else 0
    if total != layout.n_params:
        raise ZooImportError(f"{where}: the variables cover {total} columns, the architecture "
                             f"has {layout.n_params} parameters")
    out = []
    for i, layer in enumerate(layout.layers):
        bias, kernel = variables[2 * i], variables[2 * i + 1]
        o, n = layer.out_features, layer.in_features
        want = (layer.kernel_size, layer.kernel_size, n, o) if layer.kind == "conv" else (n, o)
        if bias.shape != (o,) or kernel.shape != want:
            raise ZooImportError(f"{where}: layer {i} ({layer.name}) expects bias ({o},) then "
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
            layer_variables(variables, arch.layout, "")
        except ZooImportError:
            continue
        found.append(name)
    return found


def to_layout(rows: np.ndarray, variables: list[Variable], layout: ParameterLayout,
              where="layout.csv") -> np.ndarray:
    """Rows of the archive ``[n, 4970]`` in our layout (per layer PyTorch weight, then bias)."""
    rows = np.asarray(rows)
    parts = []
    for layer, bias, kernel in layer_variables(variables, layout, where):
        k = rows[:, kernel.start:kernel.end].reshape(len(rows), *kernel.shape)
        # HWIO -> OIHW, (in, out) -> (out, in)
        k = k.transpose(0, 4, 3, 1, 2) if layer.kind == "conv" else k.transpose(0, 2, 1)
        parts += [k.reshape(len(rows), -1), rows[:, bias.start:bias.end]]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


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
            raise ZooImportError(f"{METRICS_FILE}: filter column {column!r} not found; "
                                 f"columns: {sorted(metrics.columns)[:20]}")
        values = value if isinstance(value, (list, tuple)) else [value]
        kept = kept[kept[column].isin(values)]
    if kept.empty:
        raise ZooImportError(f"{METRICS_FILE}: no row matches the filter {where}")
    order = list(dict.fromkeys(kept["modeldir"]))
    if steps is None:
        steps = sorted(kept.loc[kept["modeldir"] == order[0], "step"].unique())
    steps = sorted(int(s) for s in steps)
    have = kept.groupby("modeldir")["step"].agg(lambda s: set(int(x) for x in s))
    complete = [r for r in order if set(steps) <= have[r]]
    if not complete:
        raise ZooImportError(f"{METRICS_FILE}: no run has every step of {steps}")
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
    diverged = mark_diverged(weights, steps, metrics)
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


def accuracy_check(zoo: Zoo, data, n_models: int = 32, device="cpu") -> dict:
    """Re-evaluate up to ``n_models`` imported runs at their last checkpoint on the test split of
    ``data`` (the zoo's dataset, as the pipeline preprocesses it) against the accuracies
    recorded in the archive. A difference beyond a point or two means the architecture (e.g.
    padding), the kernel order or the preprocessing is not the one the zoo was trained with."""
    recorded = zoo.metric("test_acc")[:, -1]
    rows = np.flatnonzero(np.isfinite(recorded) & torch.isfinite(zoo.weights[:, -1]).all(1)
                          .numpy())[:n_models]
    if len(rows) == 0:
        return {"n": 0}
    activations = zoo.models()["activation"].to_numpy()[rows]
    acc = measure_checkpoints(zoo.weights[rows, -1], activations, data, zoo.layout,
                              splits=("test",), device=device)["test_acc"]
    diff = np.abs(acc - recorded[rows])
    return {"n": int(len(rows)), "epoch": int(zoo.epochs[-1]),
            "mean_abs_difference": float(diff.mean()), "max_abs_difference": float(diff.max())}


ARCHITECTURE = "unterthiner_cnn"  # the archive's CNN; its 32x32 variant for 32x32 datasets
ACCURACY_TOLERANCE = 0.02  # mean |re-evaluated - recorded| test accuracy of an import


class SmallCNNZooFormat(ZooFormat):
    """Unterthiner et al.'s archive: weights.npy, metrics.csv.gz, layout.csv."""

    name = "small_cnn_zoo"
    label = "Small CNN Zoo"
    looks_like = f"the regular files {', '.join(FILES)}"

    def default_architecture(self, dataset: str) -> str:
        arch = dataset_info(dataset).architecture or ""
        return arch if arch.startswith(ARCHITECTURE) else ARCHITECTURE

    def detect(self, path: Path) -> bool:
        return any(os.path.lexists(Path(path) / f) for f in FILES)

    def check(self, source: ImportSource, key: str):
        bad = []
        for f in FILES:
            try:
                check_regular(source.folder / f)
            except UntrustedFileError as e:
                bad.append(str(e))
        if bad:
            return [f"config key '{key}': " + "; ".join(bad) + " (a Small CNN Zoo folder holds "
                    f"{self.looks_like})"], None, ""
        if source.steps is None:  # the epochs are known once metrics.csv.gz is read
            return [], None, ""
        epochs = sorted(source.steps)
        return [], epochs, f"the steps {epochs} of {key}.steps"

    def load(self, source: ImportSource, data_settings=None, device="cpu") -> ImportResult:
        zoo = import_small_cnn_zoo(source.path, source.dataset, source.architecture,
                                   source.where, source.runs, source.steps, source.split_csv)
        result = ImportResult(zoo)
        if data_settings is not None and missing_dataset(source.dataset, data_settings) is None:
            check = accuracy_check(zoo, load_dataset(source.dataset, data_settings), device=device)
            result.accuracy_check = check
            if check["n"] and check["mean_abs_difference"] > ACCURACY_TOLERANCE:
                result.warnings.append(
                    f"re-evaluated test accuracy differs from the recorded one by "
                    f"{check['mean_abs_difference']:.3f} on average ({check['n']} runs at epoch "
                    f"{check['epoch']}): the architecture, kernel order or preprocessing is not "
                    "the one the zoo was trained with")
        return result

    def summary(self, source: ImportSource, strict: bool = True) -> str:
        from .summary import small_cnn_zoo_summary

        return small_cnn_zoo_summary(source, strict)


FORMAT = SmallCNNZooFormat()
