"""The zoo format: pickle-free weights, a metadata table and a manifest with checksums.

A zoo is a directory:

- ``weights.safetensors``: one float32 tensor ``weights`` of shape [models, epochs, params]
  (epoch 0 = the untrained state; NaN from the epoch a model diverged);
- the checkpoints' epoch numbers: 0, 1, ..., E-1 for the zoos we train; an imported zoo may
  have others (the Small CNN Zoo's 0, 1, 2, 3, 20, 40, 60, 80, 86), listed in the manifest's
  ``extra.epochs``. The metadata's ``epoch`` column and every config key that names an epoch
  (windows, comparison epochs) hold these real numbers; :meth:`Zoo.position` maps one to its
  index on the weights' epoch axis;
- ``metadata.csv``: one row per (model, epoch): model_id, seed, the model's hyperparameters,
  epoch, train/val/test loss and accuracy, diverged, diverged_epoch;
- ``manifest.json``: format name and version, dataset, channels, counts, the layer layout
  (tensor name, shape, offset in the flat vector) and the sha256 and size of both files.

Writes go to a temporary sibling directory that is renamed into place, so an interrupted job
never leaves a half-written zoo under the final name. Loading verifies checksums, shapes and
values and names the offending file; :mod:`hyperreps.zoo_checks` holds the checks that bound
the work an untrusted zoo can cause (sizes before hashing, a bounded manifest parse) and
those of the metadata table and of weights against metadata.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .architecture import ARCHITECTURES, architecture_of, zoo_cnn_name
from .data import DATASETS, file_sha256
from .layout import ParameterLayout, Tensor
from .metrics import METRICS
from .publish import staged_dir
from .zoo_checks import ZooCorruptError as ZooCorruptError  # re-exported: callers import it here
from .zoo_checks import (check_divergence, check_metadata, check_metadata_size,
                         check_weights_file, corrupt, describe_epochs, read_json_file)

FORMAT = "hyperreps-zoo"
VERSION = 1
WEIGHTS, METADATA, MANIFEST = "weights.safetensors", "metadata.csv", "manifest.json"
HYPERPARAMETER_COLUMNS = ["activation", "init", "optimizer", "lr", "weight_decay", "dropout",
                          "batch_size"]


@dataclass
class Zoo:
    """Weights ``[models, epochs, params]`` plus the long metadata table."""

    weights: torch.Tensor
    metadata: pd.DataFrame
    layout: ParameterLayout
    dataset: str
    info: dict

    @property
    def n_models(self) -> int:
        return self.weights.shape[0]

    @property
    def n_epochs(self) -> int:
        return self.weights.shape[1]

    @property
    def epochs(self) -> np.ndarray:
        """The real epoch number of each checkpoint (index on the weights' epoch axis)."""
        given = self.info.get("epochs")
        return np.arange(self.n_epochs) if given is None else np.asarray(given, dtype=np.int64)

    def position(self, epoch: int) -> int:
        """The index on the weights' epoch axis of the checkpoint of epoch number ``epoch``;
        ValueError naming the zoo's epochs if it has none there."""
        hits = np.nonzero(self.epochs == int(epoch))[0]
        if len(hits) == 0:
            raise ValueError(f"the zoo ({self.dataset}) has no checkpoint at epoch {epoch}; its "
                             f"epochs: {describe_epochs(self.epochs)}")
        return int(hits[0])

    def positions_between(self, first: int, last: int) -> np.ndarray:
        """Indices of the checkpoints whose epoch number lies in ``[first, last]``; both ends
        must be epochs of the zoo."""
        if first > last:
            raise ValueError(f"epoch window [{first}, {last}]: first is after last")
        self.position(first), self.position(last)
        return np.nonzero((self.epochs >= first) & (self.epochs <= last))[0]

    @property
    def model_ids(self) -> np.ndarray:
        return self.models()["model_id"].to_numpy()

    def models(self) -> pd.DataFrame:
        """One row per model (hyperparameters and divergence), in weight-tensor order."""
        cols = [c for c in self.metadata.columns if c not in [*METRICS, "epoch"]]
        return (self.metadata[cols].drop_duplicates("model_id")
                .set_index("model_id").loc[self._order()].reset_index())

    def _order(self) -> list[int]:
        return list(self.info["model_ids"])

    def finite_at(self, epoch: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """Weights ``[n, P]`` at epoch number ``epoch`` of the models whose checkpoint there is
        finite, with their activations and model ids (weight-tensor order)."""
        w = self.weights[:, self.position(epoch)]
        keep = torch.isfinite(w).all(dim=1)
        k = keep.numpy()
        return w[keep], self.models()["activation"].to_numpy()[k], np.asarray(self._order())[k]

    def metric(self, name: str) -> np.ndarray:
        """A metric as ``[models, epochs]`` in weight-tensor order."""
        table = self.metadata.pivot(index="model_id", columns="epoch", values=name)
        return table.loc[self._order()].to_numpy(dtype=np.float64)

    def select(self, model_ids) -> "Zoo":
        pos = {m: i for i, m in enumerate(self._order())}
        idx = [pos[int(m)] for m in model_ids]
        meta = self.metadata[self.metadata["model_id"].isin(set(int(m) for m in model_ids))]
        info = dict(self.info, model_ids=[int(m) for m in model_ids])
        return Zoo(self.weights[idx], meta.reset_index(drop=True), self.layout, self.dataset, info)


def save_zoo(path: str | os.PathLike, zoo: Zoo) -> Path:
    """Write ``zoo`` to directory ``path`` (atomically: temporary directory, then rename)."""
    path = Path(path)
    w = zoo.weights.detach().to(torch.float32).contiguous().cpu()
    if w.dim() != 3 or w.shape[2] != zoo.layout.n_params:
        raise ValueError(f"weights must be [models, epochs, {zoo.layout.n_params}], "
                         f"got {tuple(w.shape)}")
    ids = [int(m) for m in zoo.info["model_ids"]]
    if len(ids) != w.shape[0] or len(set(ids)) != len(ids):
        raise ValueError("model_ids must be unique, one per model")
    with staged_dir(path) as tmp:
        save_file({"weights": w}, str(tmp / WEIGHTS))
        meta = zoo.metadata.sort_values(["model_id", "epoch"]).reset_index(drop=True)
        meta.to_csv(tmp / METADATA, index=False, float_format="%.8g")
        manifest = {
            "format": FORMAT, "version": VERSION, "dataset": zoo.dataset,
            "architecture": architecture_of(zoo.layout).name,
            "channels": zoo.layout.channels, "n_models": int(w.shape[0]),
            "n_epochs": int(w.shape[1]), "n_params": zoo.layout.n_params,
            "layout": zoo.layout.as_list(), "model_ids": ids,
            "extra": {k: v for k, v in zoo.info.items() if k != "model_ids"},
            "files": {name: {"sha256": file_sha256(tmp / name),
                             "bytes": (tmp / name).stat().st_size}
                      for name in (WEIGHTS, METADATA)},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return path


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ZOO_FILES = (WEIGHTS, METADATA)  # the format's data files, exactly these


def _manifest_int(manifest: dict, key: str, mpath: Path, minimum: int = 0) -> int:
    value = manifest.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise corrupt(mpath, f"{key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _layout_from_manifest(entries, where: Path, architecture=None) -> ParameterLayout:
    """The registered architecture's layout, which the manifest's must equal exactly (a
    manifest without 'architecture', of format version 1, holds the zoo CNN)."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise corrupt(where, "'layout' must be a list of {name, shape, offset} entries")
    try:
        if architecture is None:
            channels = next((e["shape"][1] for e in entries if e.get("name") == "conv1.weight"),
                            None)
            if channels not in (1, 3):
                raise corrupt(where, "layout does not describe the zoo CNN")
            architecture = zoo_cnn_name(channels)
        if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
            raise corrupt(where, f"unknown architecture {str(architecture)[:40]!r}; known: "
                           f"{sorted(ARCHITECTURES)}")
        layout = ARCHITECTURES[architecture].layout
        given = [Tensor(e["name"], tuple(e["shape"]), e["offset"]).as_dict() for e in entries]
    except (KeyError, TypeError, IndexError) as e:
        raise corrupt(where, f"malformed 'layout' entry ({type(e).__name__}: {e})") from None
    if given != layout.as_list():
        raise corrupt(where, f"layout differs from architecture {architecture}")
    return layout


def _checked_files(path: Path, manifest: dict, mpath: Path) -> dict[str, dict]:
    """The manifest's file records, which must name exactly the format's files, each a
    regular file inside the zoo folder (no links, devices, absolute paths or '..')."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise corrupt(mpath, f"'files' must map {list(_ZOO_FILES)} to their size and sha256")
    if set(files) != set(_ZOO_FILES):
        odd = sorted(set(files) - set(_ZOO_FILES))
        missing = sorted(set(_ZOO_FILES) - set(files))
        raise corrupt(mpath, f"'files' must list exactly {list(_ZOO_FILES)}"
                       + (f"; refusing {odd}" if odd else "")
                       + (f"; missing {missing}" if missing else ""))
    for name, rec in files.items():
        if (not isinstance(rec, dict) or isinstance(rec.get("bytes"), bool)
                or not isinstance(rec.get("bytes"), int) or rec["bytes"] < 0
                or not isinstance(rec.get("sha256"), str) or not _SHA256.match(rec["sha256"])):
            raise corrupt(mpath, f"file record of {name!r} must be {{bytes: int, sha256: 64 "
                                  f"hex digits}}, got {rec!r}")
        f = path / name
        if f.is_symlink():
            raise corrupt(f, "is a symbolic link; a zoo holds regular files only")
        if not f.exists():
            raise corrupt(f, "missing")
        if not stat.S_ISREG(f.stat().st_mode):
            raise corrupt(f, "not a regular file")
    return files


def load_zoo(path: str | os.PathLike) -> Zoo:
    """Read a zoo directory, as untrusted input: the manifest (bounded in size, depth and
    number length) must name exactly the format's files inside the folder, with their sizes
    and sha256 (always checked), describe a registered architecture and dataset; each file's
    size must be what the manifest's counts imply before anything is hashed; the metadata must
    have the format's types and one row per (model, epoch), and agree with the weights on which
    models diverged when (:mod:`hyperreps.zoo_checks`). Every inconsistency raises
    :class:`ZooCorruptError` naming the file."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file() or mpath.is_symlink():
        raise corrupt(mpath, "missing or not a regular file (not a zoo directory, or an "
                              "interrupted write)")
    manifest = read_json_file(mpath)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("version") != VERSION:
        raise corrupt(mpath, f"not a {FORMAT} v{VERSION} manifest")
    files = _checked_files(path, manifest, mpath)
    layout = _layout_from_manifest(manifest.get("layout"), mpath, manifest.get("architecture"))
    n_models = _manifest_int(manifest, "n_models", mpath, 1)
    n_epochs = _manifest_int(manifest, "n_epochs", mpath, 1)
    ids = manifest.get("model_ids")
    if (not isinstance(ids, list) or len(ids) != n_models or len(set(map(str, ids))) != n_models
            or not all(isinstance(m, int) and not isinstance(m, bool) for m in ids)):
        raise corrupt(mpath, f"'model_ids' must be {n_models} distinct integers")
    dataset = manifest.get("dataset")
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise corrupt(mpath, f"unknown dataset {str(dataset)[:40]!r}; known: "
                              f"{sorted(DATASETS)}")
    extra = manifest.get("extra", {})
    if not isinstance(extra, dict):
        raise corrupt(mpath, "'extra' must be an object")
    epochs = extra.get("epochs", list(range(n_epochs)))
    if (not isinstance(epochs, list) or len(epochs) != n_epochs
            or not all(isinstance(e, int) and not isinstance(e, bool) and e >= 0 for e in epochs)
            or any(b <= a for a, b in zip(epochs, epochs[1:]))):
        raise corrupt(mpath, f"'extra.epochs' must be {n_epochs} increasing epoch numbers "
                              ">= 0")
    shape = (n_models, n_epochs, layout.n_params)
    for name, rec in files.items():  # every size is checked before anything is hashed
        f = path / name
        if f.stat().st_size != rec["bytes"]:
            raise corrupt(f, f"{f.stat().st_size} bytes, manifest says {rec['bytes']} "
                              "(truncated or altered)")
    check_weights_file(path / WEIGHTS, shape)
    check_metadata_size(path / METADATA, n_models * n_epochs)
    for name, rec in files.items():
        if file_sha256(path / name) != rec["sha256"]:
            raise corrupt(path / name, "sha256 does not match the manifest (corrupt or "
                                        "altered)")
    try:
        w = load_file(str(path / WEIGHTS))["weights"]
    except (SafetensorError, OSError, KeyError) as e:
        raise corrupt(path / WEIGHTS, f"unreadable ({e})") from None
    if tuple(w.shape) != shape or w.dtype != torch.float32:
        raise corrupt(path / WEIGHTS, f"expected float32 weights of shape {shape}")
    try:
        meta = pd.read_csv(path / METADATA)
    except Exception as e:  # any parse failure means a corrupt table
        raise corrupt(path / METADATA, f"unreadable ({e})") from None
    check_metadata(meta, path / METADATA, ids, epochs)
    check_divergence(w, meta, ids, epochs, path / WEIGHTS, METADATA)
    info = dict(extra, model_ids=ids)
    return Zoo(w, meta, layout, dataset, info)


def single_setting(zoo: Zoo, column: str):
    """The one value a zoo's models share in ``column`` (e.g. activation); ValueError naming
    the values where they differ or the column is missing (a hyperparameter grid zoo)."""
    models = zoo.models()
    if column not in models.columns:
        raise ValueError(f"zoo ({zoo.dataset}) has no {column!r} in its metadata; columns: "
                         f"{list(models.columns)}")
    values = pd.unique(models[column].dropna())
    if len(values) != 1:
        raise ValueError(f"zoo ({zoo.dataset}) has {len(values)} values of {column!r} across "
                         f"its models ({sorted(map(str, values))[:8]}); sampling and "
                         "fine-tuning need one setting for all models")
    value = values[0]
    return value.item() if hasattr(value, "item") else value


def metadata_table(rows: list[dict], metrics: dict[str, np.ndarray],
                   diverged_epoch: np.ndarray, epochs=None) -> pd.DataFrame:
    """Long table from per-model rows (model_id, seed, hyperparameters) and metrics [M, E];
    ``epochs``: the checkpoints' epoch numbers (default 0..E-1)."""
    n_epochs = next(iter(metrics.values())).shape[1]
    numbers = list(range(n_epochs)) if epochs is None else [int(e) for e in epochs]
    records = []
    for i, row in enumerate(rows):
        d_ep = int(diverged_epoch[i])
        for e, number in enumerate(numbers):
            rec = dict(row, epoch=number)
            rec.update({k: float(metrics[k][i, e]) for k in METRICS})
            rec["diverged"] = d_ep >= 0
            rec["diverged_epoch"] = d_ep
            records.append(rec)
    return pd.DataFrame.from_records(records)


def merge_zoos(zoos: list[Zoo]) -> Zoo:
    """Concatenate shards of one zoo along the model axis."""
    if not zoos:
        raise ValueError("nothing to merge")
    first = zoos[0]
    for z in zoos[1:]:
        if (z.layout != first.layout or not np.array_equal(z.epochs, first.epochs)
                or z.dataset != first.dataset):
            raise ValueError("shards differ in layout, epochs or dataset")
    ids = [m for z in zoos for m in z.info["model_ids"]]
    if len(set(ids)) != len(ids):
        raise ValueError("shards share model ids")
    # per-shard facts (shard index, training time, device) stay per shard
    info = {"model_ids": ids,
            "shards": [{k: v for k, v in z.info.items() if k != "model_ids"} for z in zoos]}
    if "epochs" in first.info:
        info["epochs"] = list(first.info["epochs"])
    return Zoo(torch.cat([z.weights for z in zoos]),
               pd.concat([z.metadata for z in zoos], ignore_index=True),
               first.layout, first.dataset, info)
