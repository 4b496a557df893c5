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

import io
import pickle
import re
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from .layout import ParameterLayout
from .metrics import METRICS
from .untrusted_files import (GiB, UntrustedFileError, check_folder, check_regular,
                              read_bytes)
from .zoo import Zoo, describe_epochs, metadata_table

SUFFIXES = (".pt", ".pth", ".safetensors")
CHECKPOINT_LIMIT = 1 * GiB  # bytes of one checkpoint; the registered CNNs' are under 1 MB


class CheckpointFolderError(ValueError):
    """A checkpoint file is missing, unsafe or does not fit the architecture; the message
    names it."""


def pattern_regex(pattern: str) -> re.Pattern:
    """``{model}`` (any name without '/') and ``{epoch}`` (digits) in a file-name pattern,
    everything else literal."""
    if pattern.count("{model}") != 1 or pattern.count("{epoch}") != 1:
        raise CheckpointFolderError(f"pattern {pattern!r} must contain {{model}} and {{epoch}} "
                                    "once each")
    if not pattern.endswith(SUFFIXES):
        raise CheckpointFolderError(f"pattern {pattern!r} must end in one of {SUFFIXES}")
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
        raise CheckpointFolderError(str(e)) from None
    found: dict[str, dict[int, Path]] = {}
    for path in sorted(folder.rglob("*")):
        m = regex.match(path.relative_to(folder).as_posix())
        if not m:
            continue
        try:  # a matching name that is no regular file is named, not skipped
            check_regular(path, CHECKPOINT_LIMIT, follow_links=False)
        except UntrustedFileError as e:
            raise CheckpointFolderError(f"{e}; it matches the pattern {pattern!r}") from None
        found.setdefault(m["model"], {})[int(m["epoch"])] = path
    if not found:
        raise CheckpointFolderError(f"{folder}: no file matches the pattern {pattern!r}")
    epochs = sorted(next(iter(found.values())))
    for model, files in found.items():
        if sorted(files) != epochs:
            raise CheckpointFolderError(f"{folder}: model {model!r} has epochs "
                                        f"{describe_epochs(sorted(files))}, the first model "
                                        f"{describe_epochs(epochs)}")
    return found


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of one checkpoint file (a regular file of at most
    :data:`CHECKPOINT_LIMIT` bytes, read whole once), loaded without running code."""
    try:
        data = read_bytes(path, CHECKPOINT_LIMIT, follow_links=False)
    except UntrustedFileError as e:
        raise CheckpointFolderError(str(e)) from None
    try:
        if path.suffix == ".safetensors":
            state = load_safetensors(data)
        else:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, SafetensorError, EOFError, OSError,
            ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise CheckpointFolderError(f"{path}: refused or unreadable ({first}); only plain "
                                    "tensors are loaded, nothing is executed") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointFolderError(f"{path}: not a state dict of named tensors")
    return state


def flat_weights(state: dict[str, torch.Tensor], layout: ParameterLayout, path) -> torch.Tensor:
    """A state dict as the layout's flat vector: by name if the names are the layout's, else by
    order and shape."""
    names = [t.name for t in layout.tensors]
    if set(state) == set(names):
        ordered = [(n, state[n]) for n in names]
    else:
        extra = sorted(set(state) - set(names))
        missing = sorted(set(names) - set(state))
        if len(state) != len(names):
            raise CheckpointFolderError(
                f"{path}: {len(state)} tensors, the architecture has {len(names)}"
                + (f"; extra {extra[:5]}" if extra else "")
                + (f"; missing {missing[:5]}" if missing else ""))
        ordered = list(state.items())  # matched by order, checked by shape below
    parts = []
    for t, (name, value) in zip(layout.tensors, ordered):
        if tuple(value.shape) != tuple(t.shape):
            raise CheckpointFolderError(f"{path}: tensor {name!r} has shape {tuple(value.shape)}, "
                                        f"the architecture's {t.name} {tuple(t.shape)}")
        if not value.is_floating_point():
            raise CheckpointFolderError(f"{path}: tensor {name!r} is {value.dtype}, not floating")
        parts.append(value.detach().reshape(-1).float())
    return torch.cat(parts)


def import_checkpoint_folder(folder, pattern: str, dataset: str, layout: ParameterLayout,
                             activation: str, data=None, device="cpu") -> Zoo:
    """Every model's checkpoints as a :class:`Zoo` (epochs: the numbers in the file names).
    With ``data`` (the dataset's splits) train and test loss and accuracy are measured; a
    model with a non-finite checkpoint is recorded as diverged from it."""
    from .trainer.evaluate import evaluate_weights

    found = find_checkpoints(folder, pattern)
    names = sorted(found)
    epochs = sorted(found[names[0]])
    weights = torch.stack([torch.stack([flat_weights(load_state(found[m][e]), layout,
                                                     found[m][e]) for e in epochs])
                           for m in names])
    n = len(names)
    metrics = {k: np.full((n, len(epochs)), np.nan) for k in METRICS}
    finite = torch.isfinite(weights).all(dim=2).numpy()
    diverged = np.full(n, -1)
    for i in np.flatnonzero(~finite.all(axis=1)):
        first = int(np.argmin(finite[i]))
        diverged[i] = epochs[first]
        weights[i, first:] = float("nan")
    if data is not None:
        flat = weights.reshape(-1, layout.n_params)
        for split, (loss_key, acc_key) in (("train", ("train_loss", "train_acc")),
                                           ("test", ("test_loss", "test_acc"))):
            loss, acc = evaluate_weights(flat, activation, getattr(data, split), device,
                                         layout=layout)
            metrics[loss_key], metrics[acc_key] = loss.reshape(n, -1), acc.reshape(n, -1)
    rows = [{"model_id": i, "source": m, "activation": activation} for i, m in enumerate(names)]
    meta = metadata_table(rows, metrics, diverged, epochs)
    info = {"model_ids": list(range(n)), "epochs": epochs, "format": "checkpoints",
            "imported_from": str(folder), "pattern": pattern}
    return Zoo(weights, meta, layout, dataset, info)
