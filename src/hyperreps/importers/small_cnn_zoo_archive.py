"""Zoos written in Unterthiner et al.'s Small CNN Zoo format (the ``small_cnn_zoo_archive``
rule): our layout back to the archive's column order (bias first, TensorFlow kernel order), the
format's variable table, and a zoo's rows and metrics as the archive holds them. Read back by
:mod:`.small_cnn_zoo`, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..layout import ParameterLayout
from ..zoo import Zoo
from .small_cnn_zoo import CONFIG_PREFIX, HYPERPARAMETERS, METRIC_COLUMNS, layer_variables
from .small_cnn_zoo_files import LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE, Variable


def from_layout(weights: np.ndarray, variables: list[Variable],
                layout: ParameterLayout) -> np.ndarray:
    """The inverse of :func:`.small_cnn_zoo.to_layout`: our rows back to the archive's column
    order."""
    weights = np.asarray(weights, dtype=np.float32)
    out = np.empty((len(weights), layout.n_params), dtype=np.float32)
    position = 0
    for layer, bias, kernel in layer_variables(variables, layout, "layout"):
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
