"""A folder of PyTorch checkpoints as a zoo (issue 23): one file per model and epoch, named by a
pattern such as ``run{model}/epoch_{epoch}.pt``, for any registered architecture.

Files are untrusted. ``.pt`` / ``.pth`` files are read with ``torch.load(weights_only=True)``,
which refuses any pickle that would build objects other than tensors and plain containers
(nothing is executed); ``.safetensors`` files hold tensors only. A file must hold a state dict
(optionally under a ``state_dict`` key) whose tensors are matched to the architecture's
parameters by name where all names match, else by order and shape; any extra, missing or
misshapen tensor is an error naming the file and the tensor. Metrics are measured by the
pipeline on the zoo's dataset (the files carry none).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..architecture import get_architecture
from ..data import DataSettings, dataset_info, load_dataset
from ..layout import ParameterLayout
from ..metrics import METRICS
from ..untrusted_files import GiB, UntrustedFileError, check_folder, check_regular, read_bytes
from ..zoo import Zoo, describe_epochs, metadata_table
from .errors import ZooImportError
from .measured import mark_diverged, measure_checkpoints
from .source import ImportResult, ImportSource, ZooFormat
from .state_dicts import flat_weights, load_state_dict

SUFFIXES = (".pt", ".pth", ".safetensors")
CHECKPOINT_LIMIT = 1 * GiB  # bytes of one checkpoint; the registered CNNs' are under 1 MB


def pattern_regex(pattern: str) -> re.Pattern:
    """``{model}`` (any name without '/') and ``{epoch}`` (digits) in a file-name pattern,
    everything else literal."""
    if pattern.count("{model}") != 1 or pattern.count("{epoch}") != 1:
        raise ZooImportError(f"pattern {pattern!r} must contain {{model}} and {{epoch}} "
                             "once each")
    if not pattern.endswith(SUFFIXES):
        raise ZooImportError(f"pattern {pattern!r} must end in one of {SUFFIXES}")
    parts = re.split(r"(\{model\}|\{epoch\})", pattern)
    fields = {"{model}": r"(?P<model>[^/]+?)", "{epoch}": r"(?P<epoch>\d+)"}
    regex = "".join(fields.get(p, re.escape(p)) for p in parts)
    return re.compile(f"^{regex}$")


def find_checkpoints(folder, pattern: str) -> dict[str, dict[int, Path]]:
    """``{model: {epoch: path}}`` of the files under ``folder`` that match ``pattern``; every
    model must have the same epochs."""
    folder = Path(folder)
    regex = pattern_regex(pattern)
    try:
        check_folder(folder)
    except UntrustedFileError as e:
        raise ZooImportError(str(e)) from None
    found: dict[str, dict[int, Path]] = {}
    for path in sorted(folder.rglob("*")):
        m = regex.match(path.relative_to(folder).as_posix())
        if not m:
            continue
        try:  # a matching name that is no regular file is named, not skipped
            check_regular(path, CHECKPOINT_LIMIT, follow_links=False)
        except UntrustedFileError as e:
            raise ZooImportError(f"{e}; it matches the pattern {pattern!r}") from None
        found.setdefault(m["model"], {})[int(m["epoch"])] = path
    if not found:
        raise ZooImportError(f"{folder}: no file matches the pattern {pattern!r}")
    epochs = sorted(next(iter(found.values())))
    for model, files in found.items():
        if sorted(files) != epochs:
            raise ZooImportError(f"{folder}: model {model!r} has epochs "
                                 f"{describe_epochs(sorted(files))}, the first model "
                                 f"{describe_epochs(epochs)}")
    return found


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of one checkpoint file (a regular file of at most
    :data:`CHECKPOINT_LIMIT` bytes, read whole once), loaded without running code."""
    try:
        data = read_bytes(path, CHECKPOINT_LIMIT, follow_links=False)
    except UntrustedFileError as e:
        raise ZooImportError(str(e)) from None
    return load_state_dict(data, path, safetensors=path.suffix == ".safetensors")


def import_checkpoint_folder(folder, pattern: str, dataset: str, layout: ParameterLayout,
                             activation: str, data=None, device="cpu") -> Zoo:
    """Every model's checkpoints as a :class:`Zoo` (epochs: the numbers in the file names).
    With ``data`` (the dataset's splits) train and test loss and accuracy are measured; a
    model with a non-finite checkpoint is recorded as diverged from it."""
    found = find_checkpoints(folder, pattern)
    names = sorted(found)
    epochs = sorted(found[names[0]])
    weights = torch.stack([torch.stack([flat_weights(load_state(found[m][e]), layout,
                                                     found[m][e]) for e in epochs])
                           for m in names])
    n = len(names)
    diverged = mark_diverged(weights, epochs)
    metrics = {k: np.full((n, len(epochs)), np.nan) for k in METRICS}
    if data is not None:
        metrics.update(measure_checkpoints(weights, activation, data, layout, device=device))
    rows = [{"model_id": i, "source": m, "activation": activation} for i, m in enumerate(names)]
    meta = metadata_table(rows, metrics, diverged, epochs)
    info = {"model_ids": list(range(n)), "epochs": epochs, "format": "checkpoints",
            "imported_from": str(folder), "pattern": pattern}
    return Zoo(weights, meta, layout, dataset, info)


class CheckpointFolderFormat(ZooFormat):
    """A folder of PyTorch checkpoints, one file per model and epoch, named by a pattern."""

    name = "checkpoints"
    label = "folder of PyTorch checkpoints"
    looks_like = "files named by a pattern with {model} and {epoch} (give it)"
    needs_data = True  # the files carry no metrics: they are measured on the dataset

    def default_activation(self, dataset: str, given: str | None) -> str:
        return given or dataset_info(dataset).defaults["activation"]

    def detect(self, path: Path) -> bool:
        return False  # nothing in a folder of checkpoints says so: the pattern does

    def check(self, source: ImportSource, key: str):
        if not source.pattern:
            return ([f"config key '{key}.pattern': a checkpoints import needs a file-name "
                     "pattern with {model} and {epoch}"], None, "")
        try:  # names only: the files are read by the import job
            find_checkpoints(source.folder, source.pattern)
        except ZooImportError as e:
            return [f"config key '{key}.pattern': {e}"], None, ""
        return [], None, ""  # the job checks the epochs against the config

    def load(self, source: ImportSource, data_settings: DataSettings | None = None,
             device="cpu") -> ImportResult:
        data = None if data_settings is None else load_dataset(source.dataset, data_settings)
        zoo = import_checkpoint_folder(source.path, source.pattern, source.dataset,
                                       get_architecture(source.architecture).layout,
                                       source.activation, data, device)
        return ImportResult(zoo)

    def summary(self, source: ImportSource, strict: bool = True) -> str:
        from .summary import zoo_summary

        return zoo_summary(self.load(source).zoo, self.label,
                           f"every file loaded without running code and matched to "
                           f"{source.architecture} (no metrics: they are measured on import)",
                           source)


FORMAT = CheckpointFolderFormat()
