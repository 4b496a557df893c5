"""The checks :func:`hyperreps.zoo.load_zoo` runs on a zoo directory from an untrusted source.

Every file of a zoo is input to distrust, so the checks bound the work a damaged or hostile
zoo can cause, and turn each inconsistency into a :class:`ZooCorruptError` whose message
starts with the path of the file at fault:

* ``manifest.json`` is read with bounds on its size, nesting depth and number length
  (:func:`read_json_file`, :func:`parse_json`): no RecursionError, no 5,000-digit integer, no
  NaN or Infinity, no key given twice;
* before anything is hashed, each data file's size must be what the manifest's counts
  imply: ``weights.safetensors`` exactly, from its header, which is read and checked here
  (:func:`check_weights_file`: one F32 tensor ``weights`` of the manifest's shape and nothing
  else), ``metadata.csv`` within a generous bound per row (:func:`check_metadata_size`);
* the metadata table must have the types the format writes (integer model ids and epochs,
  boolean ``diverged``, numeric metrics and hyperparameters), exactly the zoo's epoch numbers
  and exactly one row per (model, epoch) (:func:`check_metadata`);
* weights and metadata must agree on divergence (:func:`check_divergence`): a model's
  checkpoints are finite before its recorded ``diverged_epoch`` and not finite from it on
  (all finite if it never diverged), as every writer of the format stores them (the trainer,
  fine-tuning, sampled populations and the importers).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .metrics import METRICS
from .untrusted_files import UntrustedFileError, read_bytes
from .untrusted_json import UntrustedJSONError, loads_bounded

MANIFEST_MAX_BYTES = 16 * 2**20  # a manifest lists every model id, also a 30,000-run import's
HEADER_MAX_BYTES = 2**20  # a safetensors header; a zoo's holds one tensor (< 200 bytes)
METADATA_ROW_BYTES = 4096  # the most one metadata row may take (ours take ~110)
METADATA_HEADER_BYTES = 2**20  # and the column names
FINITE_CHUNK_ELEMENTS = 2**24  # weights tested for finiteness at a time (16 MiB of flags)

NUMERIC_COLUMNS = ("seed", "lr", "weight_decay", "dropout", "batch_size")
TEXT_COLUMNS = ("activation", "init", "optimizer")
_BOOLEAN_TEXT = ("True", "False", "true", "false", "TRUE", "FALSE")  # what pandas reads as bool


class ZooCorruptError(ValueError):
    """A zoo file is missing, truncated, altered or inconsistent; the message names it."""


def corrupt(where, message: str) -> ZooCorruptError:
    """The error for file ``where``: its path, a colon, then what is wrong with it."""
    return ZooCorruptError(f"{where}: {message}")


def describe_epochs(epochs) -> str:
    """``0..19`` for consecutive epochs, else the list."""
    e = [int(x) for x in epochs]
    if len(e) > 1 and e == list(range(e[0], e[0] + len(e))):
        return f"{e[0]}..{e[-1]}"
    return ", ".join(map(str, e))


def parse_json(data: bytes, where, what: str = "JSON") -> object:
    """``data`` parsed by :func:`hyperreps.untrusted_json.loads_bounded` (bounded depth and
    numbers, no NaN, no key twice); :class:`ZooCorruptError` naming ``where`` otherwise."""
    try:
        return loads_bounded(data)
    except UntrustedJSONError as e:
        raise corrupt(where, f"{what} {e}") from None


def read_json_file(path: Path, max_bytes: int = MANIFEST_MAX_BYTES) -> object:
    """The JSON file ``path`` (a regular file, no link), refused unread if over ``max_bytes``
    (:mod:`hyperreps.untrusted_files`), parsed by :func:`parse_json`."""
    try:
        data = read_bytes(path, max_bytes, follow_links=False)
    except UntrustedFileError as e:
        raise corrupt(path, str(e).removeprefix(f"{path}: ")) from None
    return parse_json(data, path)


# --- sizes, before hashing ------------------------------------------------------------------

def _same_json(a, b) -> bool:
    """Equal as JSON texts: 2.0 is not 2, true is not 1."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check_weights_file(path: Path, shape: tuple[int, int, int]) -> None:
    """Refuse ``weights.safetensors`` unless its header (read here, bounded by
    HEADER_MAX_BYTES) holds exactly one tensor ``weights`` (plus an optional
    ``__metadata__`` of strings), dtype F32, of ``shape`` (the manifest's models, epochs and
    layout), at data offsets ``[0, 4 * models * epochs * params]``, and the file's size is
    exactly 8 + header + data. Reads at most 8 bytes plus the header, so a huge (or sparse)
    file is refused at once, before anything hashes it."""
    n_data = 4 * math.prod(shape)
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise corrupt(path, f"{len(prefix)} bytes, too short for a safetensors file")
        n_header = int.from_bytes(prefix, "little")
        if not 2 <= n_header <= HEADER_MAX_BYTES:
            raise corrupt(path, f"safetensors header of {n_header} bytes (a zoo's takes "
                                f"2..{HEADER_MAX_BYTES}): not a zoo's weights file")
        raw = f.read(n_header)
    if len(raw) < n_header:
        raise corrupt(path, f"ends inside its safetensors header ({len(raw)} of {n_header} "
                            "bytes)")
    header = parse_json(raw, path, "safetensors header")
    if not isinstance(header, dict):
        raise corrupt(path, "safetensors header is not a JSON object")
    tensors = sorted(k for k in header if k != "__metadata__")
    if tensors != ["weights"]:
        shown = ", ".join(repr(t[:40]) for t in tensors[:8]) or "none"
        raise corrupt(path, f"must hold exactly one tensor, 'weights'; holds {len(tensors)} "
                            f"({shown})")
    extra = header.get("__metadata__", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise corrupt(path, "safetensors '__metadata__' must map names to strings")
    expected = {"dtype": "F32", "shape": list(shape), "data_offsets": [0, n_data]}
    if not _same_json(header["weights"], expected):
        raise corrupt(path, f"tensor 'weights' is {str(header['weights'])[:200]}; the "
                            f"manifest's counts and layout make it {expected}")
    size = path.stat().st_size
    if size != 8 + n_header + n_data:
        raise corrupt(path, f"{size} bytes, but its header and the manifest make it "
                            f"{8 + n_header + n_data} (8 + {n_header} header + {n_data} "
                            "data bytes)")


def check_metadata_size(path: Path, rows: int) -> None:
    """Refuse ``metadata.csv`` if it is larger than ``rows`` (models x epochs) rows can
    reasonably take: METADATA_ROW_BYTES a row plus METADATA_HEADER_BYTES."""
    limit = METADATA_HEADER_BYTES + rows * METADATA_ROW_BYTES
    size = path.stat().st_size
    if size > limit:
        raise corrupt(path, f"{size} bytes, more than the {limit} its {rows} rows may take "
                            f"({METADATA_ROW_BYTES} bytes a row, {METADATA_HEADER_BYTES} for "
                            "the header)")


# --- the metadata table ---------------------------------------------------------------------

def _first_bad(values: pd.Series, ok) -> str:
    """'; data row N holds X' for the first row where ``ok`` is False, else ''."""
    bad = np.flatnonzero(~np.asarray(ok, dtype=bool))
    if len(bad) == 0:
        return ""
    return f"; data row {bad[0] + 1} holds {str(values.iloc[bad[0]])[:40]!r}"


def _check_integers(meta: pd.DataFrame, column: str, where) -> None:
    values = meta[column]
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return
    num = pd.to_numeric(values, errors="coerce")
    raise corrupt(where, f"column {column!r} must hold integers"
                         + _first_bad(values, num.notna() & (num == np.floor(num))))


def _check_numeric(meta: pd.DataFrame, column: str, where) -> None:
    values = meta[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return
    ok = values.isna() | pd.to_numeric(values, errors="coerce").notna()
    if pd.api.types.is_bool_dtype(values) or ok.all():
        ok = np.zeros(len(values), dtype=bool)
    raise corrupt(where, f"column {column!r} must hold numbers" + _first_bad(values, ok))


def _check_text(meta: pd.DataFrame, column: str, where) -> None:
    values = meta[column]
    if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values) \
            or values.isna().all():
        return
    raise corrupt(where, f"column {column!r} must hold names (text), not {values.dtype} "
                         f"values" + _first_bad(values, np.zeros(len(values), dtype=bool)))


def _check_boolean(meta: pd.DataFrame, column: str, where) -> None:
    values = meta[column]
    if pd.api.types.is_bool_dtype(values):
        return
    raise corrupt(where, f"column {column!r} must hold True or False"
                         + _first_bad(values, values.astype(str).isin(_BOOLEAN_TEXT)))


def check_metadata(meta: pd.DataFrame, where: Path, ids: list[int], epochs: list[int]) -> None:
    """Refuse the metadata table ``meta`` (read from ``where``) unless it has the format's
    columns and types (integer ``model_id``, ``epoch`` and ``diverged_epoch``; boolean
    ``diverged``; numeric metrics and hyperparameters; text activation, init and optimizer),
    exactly one row per (model, epoch) of the zoo's models ``ids`` and epoch numbers
    ``epochs``, each model's settings the same in all its rows, and ``diverged_epoch`` -1 for
    a model that never diverged or else one of the zoo's epochs."""
    missing = {"model_id", "epoch", *METRICS, "diverged"} - set(meta.columns)
    if missing:
        raise corrupt(where, f"missing columns {sorted(missing)}")
    for column in ("model_id", "epoch", "diverged_epoch"):
        if column in meta:
            _check_integers(meta, column, where)
    for column in (*METRICS, *NUMERIC_COLUMNS):
        if column in meta:
            _check_numeric(meta, column, where)
    for column in TEXT_COLUMNS:
        if column in meta:
            _check_text(meta, column, where)
    _check_boolean(meta, "diverged", where)

    found = np.unique(meta["epoch"].to_numpy())
    if found.tolist() != list(epochs):
        stray = np.isin(meta["epoch"].to_numpy(), epochs)
        raise corrupt(where, f"its epochs {describe_epochs(found)} are not the zoo's "
                             f"({describe_epochs(epochs)})" + _first_bad(meta["epoch"], stray))
    known = np.isin(meta["model_id"].to_numpy(), ids)
    if not known.all():
        raise corrupt(where, "a row of a model the manifest does not list"
                             + _first_bad(meta["model_id"], known))
    twice = meta.duplicated(["model_id", "epoch"], keep=False).to_numpy()
    if twice.any():
        i = int(np.argmax(twice))
        m, e = meta["model_id"].iloc[i], meta["epoch"].iloc[i]
        rows = np.flatnonzero(twice & (meta["model_id"].to_numpy() == m)
                              & (meta["epoch"].to_numpy() == e)) + 1
        raise corrupt(where, f"model {m} has {len(rows)} rows at epoch {e} (data rows "
                             f"{', '.join(map(str, rows[:8]))}); the format has one per "
                             "(model, epoch)")
    if len(meta) != len(ids) * len(epochs):
        raise corrupt(where, f"{len(meta)} rows; the zoo's {len(ids)} models x {len(epochs)} "
                             f"epochs need {len(ids) * len(epochs)}")

    settings = [c for c in meta.columns if c not in (*METRICS, "model_id", "epoch")]
    if len(meta.drop_duplicates(["model_id", *settings])) != len(ids):  # fast path
        varying = meta.groupby("model_id")[settings].nunique(dropna=False) > 1
        m, column = varying.stack().idxmax()
        raise corrupt(where, f"model {m} has different values of {column!r} across its rows; "
                             "a model's settings are one per model")
    if "diverged_epoch" in meta:
        d, flag = meta["diverged_epoch"].to_numpy(), meta["diverged"].to_numpy()
        ok = ((d == -1) & ~flag) | (np.isin(d, epochs) & flag)
        if not ok.all():
            i = int(np.argmin(ok))
            raise corrupt(where, f"model {meta['model_id'].iloc[i]}: diverged={flag[i]} "
                                 f"with diverged_epoch={d[i]} (-1 for a model that never "
                                 "diverged, else one of the zoo's epochs)")


# --- weights against metadata ---------------------------------------------------------------

def finite_checkpoints(weights: torch.Tensor) -> np.ndarray:
    """``[models, epochs]``: whether every weight of the checkpoint is finite, computed a
    block of models at a time (at most FINITE_CHUNK_ELEMENTS weights' flags at once; numpy's
    test runs ~20x faster than torch's on the CPU)."""
    w = weights.detach().cpu().numpy()
    m, e, p = w.shape
    out = np.empty((m, e), dtype=bool)
    step = max(1, FINITE_CHUNK_ELEMENTS // max(1, e * p))
    for s in range(0, m, step):
        out[s:s + step] = np.isfinite(w[s:s + step]).all(axis=2)
    return out


def check_divergence(weights: torch.Tensor, meta: pd.DataFrame, ids: list[int],
                     epochs: list[int], where: Path, metadata_name: str) -> None:
    """Refuse weights ``[models, epochs, params]`` (from ``where``) that contradict the
    (checked) metadata ``meta``: a model's checkpoints must be finite before its recorded
    ``diverged_epoch`` and not finite from it on, all finite if it never diverged. Without a
    ``diverged_epoch`` column, a model flagged ``diverged`` needs finite checkpoints up to
    some epoch and non-finite ones from it on."""
    models = meta.drop_duplicates("model_id").set_index("model_id").loc[ids]
    flag = models["diverged"].to_numpy(dtype=bool)
    finite = finite_checkpoints(weights)
    epochs_arr = np.asarray(epochs, dtype=np.int64)
    recorded_epoch = "diverged_epoch" in models
    if recorded_epoch:
        d = models["diverged_epoch"].to_numpy(dtype=np.int64)
    else:  # from the first non-finite checkpoint (the last one if all are finite) on
        first = np.where(finite.all(axis=1), len(epochs_arr) - 1, np.argmin(finite, axis=1))
        d = np.where(flag, epochs_arr[first], -1)
    expected = (d[:, None] < 0) | (epochs_arr[None, :] < d[:, None])
    wrong = finite != expected
    if not wrong.any():
        return
    i, at = np.argwhere(wrong)[0]
    model, epoch = ids[i], int(epochs_arr[at])
    if d[i] < 0:
        recorded = "as never diverged"
    else:
        recorded = f"as diverged from epoch {d[i]}" if recorded_epoch else "as diverged"
    state = "finite" if finite[i, at] else "not finite (NaN or inf)"
    raise corrupt(where, f"model {model}'s checkpoint at epoch {epoch} is {state}, but "
                         f"{metadata_name} records the model {recorded}; a model's weights are "
                         "finite before the epoch it diverged and non-finite from it on")
