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

Every file is untrusted: only regular files inside the model folder are opened (no links,
FIFOs, devices or folders), each with a size bound checked before and during the read, and
every value read is type-checked; a bad one is a :class:`ZooImportError` naming the file.
"""

from __future__ import annotations

import io
import logging
import math
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .architecture import ACTIVATIONS, zoo_cnn_layout
from .layout import ParameterLayout
from .metrics import METRICS
from .untrusted_files import (UntrustedFileError, check_regular, kind_of, read_bytes,
                              stat_path)
from .untrusted_json import UntrustedJSONError, loads_bounded
from .zoo import Zoo

log = logging.getLogger(__name__)

_TEXT_KEYS = {"init": "model::init_type", "optimizer": "optim::optimizer"}
_NUMBER_KEYS = {"lr": "optim::lr", "weight_decay": "optim::wd", "dropout": "model::dropout",
                "batch_size": "training::batchsize"}
_MiB = 1 << 20
PARAMS_LIMIT = _MiB  # bytes of a params.json (a real one: under 1 KiB)
RESULTS_LIMIT = 64 * _MiB  # bytes of a result.json (a real one: a few KiB per epoch)
MAX_RESULT_LINE = _MiB  # bytes of one line of it
MAX_RESULT_LINES = 100_000


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


def _read_file(folder: Path, relative: str, limit: int) -> bytes:
    """The bytes of ``folder/relative``: a regular file inside the model folder, reached
    without following links, of at most ``limit`` bytes (checked before the read, and the read
    stops past it, so a file that grows meanwhile cannot exhaust memory)."""
    path, where = folder / relative, folder
    try:
        for part in Path(relative).parts[:-1]:
            where = where / part
            mode = stat_path(where, follow_links=False).st_mode
            if not stat.S_ISDIR(mode):
                raise ZooImportError(f"{where}: {kind_of(mode)}, not a folder (links are not "
                                     "followed)")
        check_regular(path, follow_links=False)
        if not path.resolve().is_relative_to(folder.resolve()):
            raise ZooImportError(f"{path}: outside its model folder")
        return read_bytes(path, limit, follow_links=False)
    except UntrustedFileError as e:
        raise ZooImportError(str(e)) from None


def _parse_json(data: bytes, where: str):
    """``data`` parsed by :func:`hyperreps.untrusted_json.loads_bounded` (NaN allowed: Python's
    json writes a diverged run's loss so); ZooImportError naming ``where`` otherwise."""
    try:
        return loads_bounded(data, allow_nan=True)
    except UntrustedJSONError as e:
        raise ZooImportError(f"{where}: {e}") from None


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value, where: str, integer: bool = False):
    """``value`` if it is a finite number (an int64 with ``integer``), else ZooImportError."""
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or (
            integer and not -2 ** 63 <= value < 2 ** 63):
        raise ZooImportError(f"{where} is {_show(value)}, not a finite "
                             f"{'integer' if integer else 'number'}")
    return value


def _metric(value, where: str) -> float:
    """A recorded metric: a number, or null; NaN and Infinity (a diverged run's loss, as
    Python's json writes it) are recorded as missing."""
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ZooImportError(f"{where} is {_show(value)}, not a number or null")
    return float(value) if math.isfinite(value) else np.nan


def _model_row(path: Path, params, activation: str | None) -> dict:
    """The hyperparameter columns of one model from its params.json, every value checked."""
    if not isinstance(params, dict):
        raise ZooImportError(f"{path}: not a JSON object")
    seed = params.get("seed")
    row = dict(seed=-1 if seed is None else _number(seed, f"{path}: seed", integer=True))
    nlin = params.get("model::nlin")
    if nlin is None and activation is None:
        raise ZooImportError(f"{path}: no model::nlin: the activation cannot be determined "
                             "(give it as the import's activation: import_from.activation)")
    if nlin is not None and activation is not None and nlin != activation:
        raise ZooImportError(f"{path}: model::nlin is {_show(nlin)}, the import's activation "
                             f"is {activation!r}")
    row["activation"] = activation if nlin is None else nlin
    if row["activation"] not in ACTIVATIONS:
        raise ZooImportError(f"{path}: model::nlin is {_show(nlin)}, not one of "
                             f"{', '.join(ACTIVATIONS)}")
    for ours, theirs in _TEXT_KEYS.items():
        row[ours] = params.get(theirs)
        if row[ours] is not None and not isinstance(row[ours], str):
            raise ZooImportError(f"{path}: {theirs} is {_show(row[ours])}, not text")
    for ours, theirs in _NUMBER_KEYS.items():
        v = params.get(theirs)
        row[ours] = None if v is None else _number(v, f"{path}: {theirs}",
                                                   integer=ours == "batch_size")
    return row


def _load_state(data: bytes, path: Path, layout: ParameterLayout) -> torch.Tensor:
    """A checkpoint's flat weight vector, validated against the zoo CNN."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # refused pickles and broken files alike
        raise ZooImportError(f"{path}: not a plain tensor state dict ({type(e).__name__}: "
                             f"{(str(e).splitlines() or [''])[0][:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ZooImportError(f"{path}: expected a dict of tensors")

    def order(key: str):  # module_list.{i}.{weight,bias}: by module index, weight before bias
        nums = [(len(n.lstrip("0")), n.lstrip("0")) for n in re.findall(r"\d+", key)]
        return (nums, 0 if key.endswith("weight") else 1)  # numbers compared as digit strings

    keys = sorted((k for k in state if isinstance(k, str) and k.endswith(("weight", "bias"))),
                  key=order)
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


def _read_results(folder: Path) -> list[dict]:
    """result.json's lines as ``{metric: float}`` (NaN where missing), by training_iteration."""
    path = folder / "result.json"
    lines = _read_file(folder, "result.json", RESULTS_LIMIT).split(b"\n")
    if len(lines) > MAX_RESULT_LINES:
        raise ZooImportError(f"{path}: {len(lines)} lines, more than the {MAX_RESULT_LINES} read")
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{path}: line {i + 1}"
        if len(line) > MAX_RESULT_LINE:
            raise ZooImportError(f"{where}: {len(line)} bytes, more than the {MAX_RESULT_LINE} "
                                 "read")
        res = _parse_json(line, where)
        if not isinstance(res, dict):
            raise ZooImportError(f"{where}: not a JSON object")
        it = res.get("training_iteration")
        it = 0 if it is None else _number(it, f"{where}: training_iteration", integer=True)
        rows.append((it, {k: _metric(res.get(k), f"{where}: {k}") for k in METRICS}))
    return [r for _, r in sorted(rows, key=lambda r: r[0])]


def _read_model(folder: Path, layout: ParameterLayout, n_epochs: int | None,
                activation: str | None) -> tuple[dict, list[dict], torch.Tensor]:
    """One model folder: its hyperparameters, its last ``n_epochs`` result lines (all if None)
    and its checkpoints as flat weights ``[epochs, P]``; ZooImportError naming the bad file."""
    row = _model_row(folder / "params.json", _parse_json(
        _read_file(folder, "params.json", PARAMS_LIMIT), str(folder / "params.json")), activation)
    ckpts = _checkpoint_dirs(folder)
    if not ckpts:
        raise ZooImportError(f"{folder}: no checkpoint_NNNNNN folders")
    if n_epochs is not None and len(ckpts) != n_epochs:
        raise ZooImportError(f"{folder}: {len(ckpts)} checkpoints, other models have {n_epochs}")
    results = _read_results(folder)
    if len(results) < len(ckpts):
        raise ZooImportError(f"{folder / 'result.json'}: {len(results)} lines for "
                             f"{len(ckpts)} checkpoints")
    limit = 16 * layout.n_params + _MiB  # 4x the float32 weights, plus room for the format
    flat = torch.stack([
        _load_state(_read_file(folder, f"{d.name}/checkpoints", limit), d / "checkpoints", layout)
        for _, d in ckpts])
    return row, results[-len(ckpts):], flat


def count_checkpoints(root: str | Path) -> int | None:
    """Epochs (checkpoints) of the first model folder under ``root``, read without loading
    any checkpoint; None if there is no model folder."""
    folders = sorted(p.parent for p in Path(root).glob("*/params.json"))
    return len(_checkpoint_dirs(folders[0])) if folders else None


def import_raytune_zoo(root: str | Path, dataset: str, channels: int = 1,
                       skip_unsafe: bool = False, activation: str | None = None) -> Zoo:
    """Read every model folder under ``root`` into one :class:`Zoo`.

    A model whose files are unsafe or malformed (a pickle that runs code, wrong shapes, a
    missing file, a link or device, a value of the wrong type) stops the import with
    :class:`ZooImportError`; with ``skip_unsafe`` it is left out instead, and
    ``zoo.info["skipped"]`` lists each such folder with the reason. ``activation`` (the
    config's ``import_from.activation``) is the models' activation where params.json has no
    ``model::nlin``; with neither, the model is refused (its accuracy could not be measured)."""
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {ACTIVATIONS}")
    root = Path(root)
    layout = zoo_cnn_layout(channels)
    folders = sorted(p.parent for p in root.glob("*/params.json"))
    if not folders:
        raise ZooImportError(f"{root}: no model folders (*/params.json) found")
    weights, records, skipped, n_epochs = [], [], [], None
    for folder in folders:
        try:
            row, results, flat = _read_model(folder, layout, n_epochs, activation)
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
        base = dict(model_id=model_id, seed=row.pop("seed"), source=folder.name, **row)
        for epoch, res in enumerate(results):
            rec = dict(base, epoch=epoch)
            for k in METRICS:
                kept = diverged_epoch < 0 or epoch < diverged_epoch
                rec[k] = res[k] if kept else np.nan
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
