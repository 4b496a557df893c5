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

import logging
import math
import re
import stat
from pathlib import Path

import numpy as np
import torch

from ..architecture import ACTIVATIONS, get_architecture, zoo_cnn_name
from ..data import dataset_info
from ..layout import ParameterLayout
from ..metrics import METRICS
from ..untrusted_files import UntrustedFileError, check_regular, kind_of, read_bytes, stat_path
from ..untrusted_json import UntrustedJSONError, loads_bounded
from ..zoo import Zoo, metadata_table
from .errors import ZooImportError, printable
from .measured import mark_diverged
from .source import ImportResult, ImportSource, ZooFormat
from .state_dicts import flat_weights, load_state_dict

log = logging.getLogger(__name__)

_TEXT_KEYS = {"init": "model::init_type", "optimizer": "optim::optimizer"}
_NUMBER_KEYS = {"lr": "optim::lr", "weight_decay": "optim::wd", "dropout": "model::dropout",
                "batch_size": "training::batchsize"}
_MiB = 1 << 20
PARAMS_LIMIT = _MiB  # bytes of a params.json (a real one: under 1 KiB)
RESULTS_LIMIT = 64 * _MiB  # bytes of a result.json (a real one: a few KiB per epoch)
MAX_RESULT_LINE = _MiB  # bytes of one line of it
MAX_RESULT_LINES = 100_000


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
    """A checkpoint's flat weight vector: its ``weight`` / ``bias`` tensors
    (``module_list.{i}.weight`` ...) in module order, matched to the zoo CNN's."""
    state = load_state_dict(data, path)

    def order(key: str):  # module_list.{i}.{weight,bias}: by module index, weight before bias
        nums = [(len(n.lstrip("0")), n.lstrip("0")) for n in re.findall(r"\d+", key)]
        return (nums, 0 if key.endswith("weight") else 1)  # numbers compared as digit strings

    keys = sorted((k for k in state if k.endswith(("weight", "bias"))), key=order)
    return flat_weights({k: state[k] for k in keys}, layout, path, "the zoo CNN", "weight/bias")


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


def import_raytune_zoo(root: str | Path, dataset: str, *, architecture: str | None = None,
                       skip_unsafe: bool = False, activation: str | None = None) -> Zoo:
    """Read every model folder under ``root`` into one :class:`Zoo` of the registered
    ``architecture`` (default the zoo CNN for the dataset's channels).

    A model whose files are unsafe or malformed (a pickle that runs code, wrong shapes, a
    missing file, a link or device, a value of the wrong type) stops the import with
    :class:`ZooImportError`; with ``skip_unsafe`` it is left out instead, and
    ``zoo.info["skipped"]`` lists each such folder with the reason. ``activation`` (the
    config's ``import_from.activation``) is the models' activation where params.json has no
    ``model::nlin``; with neither, the model is refused (its accuracy could not be measured)."""
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {ACTIVATIONS}")
    root = Path(root)
    layout = get_architecture(architecture or FORMAT.default_architecture(dataset)).layout
    folders = sorted(p.parent for p in root.glob("*/params.json"))
    if not folders:
        raise ZooImportError(f"{root}: no model folders (*/params.json) found")
    weights, rows, results, skipped, n_epochs = [], [], [], [], None
    for folder in folders:
        try:
            row, found, flat = _read_model(folder, layout, n_epochs, activation)
        except ZooImportError as e:
            if not skip_unsafe:
                raise
            skipped.append({"model": printable(folder.name), "reason": str(e)})
            log.warning("skipped %s: %s", printable(folder.name), e)
            continue
        n_epochs = len(flat)
        weights.append(flat)
        rows.append(dict(model_id=len(rows), seed=row.pop("seed"), source=folder.name, **row))
        results.append(found)
    if not weights:
        raise ZooImportError(f"{root}: every model folder was skipped as unsafe or malformed "
                             f"({len(skipped)}); first: {skipped[0]['reason']}")
    weights = torch.stack(weights)
    metrics = {k: np.array([[r[k] for r in found] for found in results]) for k in METRICS}
    diverged = mark_diverged(weights, range(n_epochs), metrics)
    for row, epoch in zip(rows, diverged):
        if epoch >= 0:
            log.warning("%s: non-finite weights from epoch %d: recorded as diverged",
                        printable(root / row["source"]), epoch)
    info = dict(model_ids=list(range(len(weights))), imported_from=str(root), format="raytune",
                skipped=skipped)
    return Zoo(weights, metadata_table(rows, metrics, diverged), layout, dataset, info)


class RayTuneFormat(ZooFormat):
    """The reference implementation's zoos (ModelZooDataset / GHRP): one folder per model."""

    name = "raytune"
    label = "Ray Tune zoo"
    looks_like = "*/params.json with checkpoint_NNNNNN/ folders"

    def default_architecture(self, dataset: str) -> str:
        return zoo_cnn_name(dataset_info(dataset).channels)  # the reference zoos' CNN

    def detect(self, path: Path) -> bool:
        return any(Path(path).glob("*/params.json"))

    def check(self, source: ImportSource, key: str):
        checkpoints = count_checkpoints(source.folder)
        if not checkpoints:
            return ([f"config key '{key}': {source.path} holds no model folders "
                     f"({self.looks_like})"], None, "")
        return [], list(range(checkpoints)), (
            f"epochs 0..{checkpoints - 1} ({checkpoints} checkpoints in the first model of "
            f"{source.path})")

    def load(self, source: ImportSource, data_settings=None, device="cpu") -> ImportResult:
        zoo = import_raytune_zoo(source.path, source.dataset, architecture=source.architecture,
                                 skip_unsafe=source.skip_unsafe, activation=source.activation)
        skipped = zoo.info["skipped"]
        warnings = [] if not skipped else [
            f"skipped {len(skipped)} unsafe or malformed model folder(s) of {source.path} "
            f"(skip_unsafe: true); first: {skipped[0]['model']}: {skipped[0]['reason']}"]
        return ImportResult(zoo, skipped=skipped, warnings=warnings)

    def summary(self, source: ImportSource, strict: bool = True) -> str:
        from .summary import zoo_summary

        return zoo_summary(self.load(source).zoo, self.label, "every checkpoint loaded without "
                           "running code and checked against the zoo CNN", source)


FORMAT = RayTuneFormat()
