"""Import existing zoos into the hyperreps format.

Reference Ray Tune layout (ModelZooDataset / GHRP zoos): one folder per model holding

- ``params.json``: the model's config (``model::nlin``, ``model::init_type``,
  ``model::channels_in``, ``model::dropout``, ``optim::optimizer``, ``optim::lr``, ``optim::wd``,
  ``seed``, ``training::batchsize``);
- ``result.json``: one JSON object per line, one line per epoch (``train_loss``, ``train_acc``,
  ``test_loss``, ``test_acc``, optional ``val_*``, ``training_iteration``);
- ``checkpoint_NNNNNN/checkpoints``: the model's state dict (``module_list.{i}.weight/bias``).

Checkpoints are untrusted: they are read with ``torch.load(weights_only=True)`` (no arbitrary
unpickling), and every tensor's shape and values are checked against the zoo CNN. The k-th
checkpoint (by number) is epoch k, the k-th result line (by ``training_iteration``) its metrics,
so numbering from 0 or from 1 both import; epoch 0 is the untrained state.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .architecture import zoo_cnn_layout
from .layout import ParameterLayout
from .metrics import METRICS
from .zoo import Zoo

log = logging.getLogger(__name__)

_PARAM_KEYS = {"activation": "model::nlin", "init": "model::init_type",
               "optimizer": "optim::optimizer", "lr": "optim::lr", "weight_decay": "optim::wd",
               "dropout": "model::dropout", "batch_size": "training::batchsize"}


_TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (file names and
    messages from an untrusted zoo must not drive the user's terminal)."""
    return _TERMINAL_CODES.sub("?", str(text))


class ZooImportError(ValueError):
    """A file of the zoo being imported is missing, unsafe or malformed; the message names it
    (made printable: no terminal escape codes)."""

    def __init__(self, message: str):
        super().__init__(printable(message))


def _checkpoint_dirs(model_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for d in model_dir.iterdir():
        m = re.fullmatch(r"checkpoint_(\d+)", d.name)
        if m and d.is_dir():
            found.append((int(m.group(1)), d))
    return sorted(found)


def _load_state(path: Path, layout: ParameterLayout) -> torch.Tensor:
    """A checkpoint's flat weight vector, validated against the zoo CNN."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # refused pickles and broken files alike
        raise ZooImportError(f"{path}: not a plain tensor state dict ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ZooImportError(f"{path}: expected a dict of tensors")

    def order(key: str):  # module_list.{i}.{weight,bias}: by module index, weight before bias
        nums = [int(n) for n in re.findall(r"\d+", key)]
        return (nums, 0 if key.endswith("weight") else 1)

    keys = sorted((k for k in state if k.endswith(("weight", "bias"))), key=order)
    tensors = layout.tensors
    if len(keys) != len(tensors):
        raise ZooImportError(f"{path}: {len(keys)} weight/bias tensors, the zoo CNN has "
                             f"{len(tensors)}")
    named = {}
    for key, t in zip(keys, tensors):
        v = state[key]
        if tuple(v.shape) != t.shape:
            raise ZooImportError(f"{path}: {key} has shape {tuple(v.shape)}, expected {t.shape} "
                                 f"for {t.name}")
        named[t.name] = v.detach().to(torch.float32)
    return layout.flatten(named)


def _read_results(path: Path) -> list[dict]:
    if not path.exists():
        raise ZooImportError(f"{path}: missing")
    rows = []
    for i, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ZooImportError(f"{path}: line {i + 1} is not JSON ({e})") from None
    return sorted(rows, key=lambda r: r.get("training_iteration", 0))


def _read_model(folder: Path, layout: ParameterLayout, n_epochs: int | None
                ) -> tuple[dict, list[dict], torch.Tensor]:
    """One model folder: its params, its last ``n_epochs`` result lines (all if None) and its
    checkpoints as flat weights ``[epochs, P]``; ZooImportError naming the bad file."""
    try:
        params = json.loads((folder / "params.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ZooImportError(f"{folder / 'params.json'}: not JSON ({e})") from None
    if not isinstance(params, dict):
        raise ZooImportError(f"{folder / 'params.json'}: not a JSON object")
    results = _read_results(folder / "result.json")
    ckpts = _checkpoint_dirs(folder)
    if not ckpts:
        raise ZooImportError(f"{folder}: no checkpoint_NNNNNN folders")
    if n_epochs is not None and len(ckpts) != n_epochs:
        raise ZooImportError(f"{folder}: {len(ckpts)} checkpoints, other models have {n_epochs}")
    if len(results) < len(ckpts):
        raise ZooImportError(f"{folder / 'result.json'}: {len(results)} lines for "
                             f"{len(ckpts)} checkpoints")
    flat = torch.stack([_load_state(d / "checkpoints", layout) for _, d in ckpts])
    return params, results[-len(ckpts):], flat


def count_checkpoints(root: str | Path) -> int | None:
    """Epochs (checkpoints) of the first model folder under ``root``, read without loading
    any checkpoint; None if there is no model folder."""
    folders = sorted(p.parent for p in Path(root).glob("*/params.json"))
    return len(_checkpoint_dirs(folders[0])) if folders else None


def import_raytune_zoo(root: str | Path, dataset: str, channels: int = 1,
                       skip_unsafe: bool = False) -> Zoo:
    """Read every model folder under ``root`` into one :class:`Zoo`.

    A model whose files are unsafe or malformed (a pickle that runs code, wrong shapes, a
    missing file) stops the import with :class:`ZooImportError`; with ``skip_unsafe`` it is
    left out instead, and ``zoo.info["skipped"]`` lists each such folder with the reason."""
    root = Path(root)
    layout = zoo_cnn_layout(channels)
    folders = sorted(p.parent for p in root.glob("*/params.json"))
    if not folders:
        raise ZooImportError(f"{root}: no model folders (*/params.json) found")
    weights, records, skipped, n_epochs = [], [], [], None
    for folder in folders:
        try:
            params, results, flat = _read_model(folder, layout, n_epochs)
        except ZooImportError as e:
            if not skip_unsafe:
                raise
            skipped.append({"model": printable(folder.name), "reason": str(e)})
            log.warning("skipped %s: %s", printable(folder.name), e)
            continue
        n_epochs = len(flat)
        model_id = len(weights)
        finite = torch.isfinite(flat).all(dim=1)
        diverged_epoch = -1 if bool(finite.all()) else int((~finite).nonzero()[0])
        if diverged_epoch >= 0:
            flat[diverged_epoch:] = float("nan")
            log.warning("%s: non-finite weights from epoch %d: recorded as diverged",
                        printable(folder), diverged_epoch)
        weights.append(flat)
        base = dict(model_id=model_id, seed=int(params.get("seed", -1)), source=folder.name)
        for ours, theirs in _PARAM_KEYS.items():
            base[ours] = params.get(theirs)
        for epoch, res in enumerate(results):
            rec = dict(base, epoch=epoch)
            for k in METRICS:
                v = res.get(k)
                kept = v is not None and (diverged_epoch < 0 or epoch < diverged_epoch)
                rec[k] = float(v) if kept else np.nan
            rec["diverged"] = diverged_epoch >= 0
            rec["diverged_epoch"] = diverged_epoch
            records.append(rec)
    if not weights:
        raise ZooImportError(f"{root}: every model folder was skipped as unsafe or malformed "
                             f"({len(skipped)}); first: {skipped[0]['reason']}")
    meta = pd.DataFrame.from_records(records)
    info = dict(model_ids=list(range(len(weights))), imported_from=str(root), format="raytune",
                skipped=skipped)
    return Zoo(torch.stack(weights), meta, layout, dataset, info)
