"""The files of a Small CNN Zoo folder (Unterthiner et al. 2020), read as untrusted input: each
through :mod:`hyperreps.untrusted_files` (regular files only, sizes bounded before and during
the read, gzip decompressed under a bound) and checked against the format before anything
uses it:

- ``layout.csv``: ``varname, start_idx, end_idx, shape`` per TensorFlow variable, integer
  columns, shapes of positive integers, the variables tiling the row;
- ``metrics.csv.gz``: one row per (``modeldir``, ``step``), no pair twice, steps integers in
  ``[0, MAX_STEP]``, accuracies in ``[0, 1]`` (or missing), losses non-negative (or missing,
  or infinite for a diverged run);
- ``weights.npy``: float32, little-endian, C order, ``[rows, P]``, rows == metrics rows, the
  file exactly as long as its header says (memory-mapped, never read whole);
- the field's split CSV: one row index per line.

A violation is a :class:`ZooImportError` naming the file and the rule broken.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ZooImportError
from ..untrusted_files import (GiB, MiB, UntrustedFileError, memory_map_npy, open_gzip, read_bytes,
                               read_npy_header)

WEIGHTS_FILE = "weights.npy"
METRICS_FILE = "metrics.csv.gz"
LAYOUT_FILE = "layout.csv"
FILES = (WEIGHTS_FILE, METRICS_FILE, LAYOUT_FILE)
LAYOUT_COLUMNS = ("varname", "start_idx", "end_idx", "shape")

LAYOUT_LIMIT = 1 * MiB  # a real layout.csv: 8 to 12 lines, under 1 KiB
METRICS_LIMIT = 1 * GiB  # compressed; a real one: tens of MB for 30,000 runs x 9 steps
METRICS_DECOMPRESSED_CAP = 4 * GiB
SPLIT_LIMIT = 64 * MiB  # a real split CSV: one index per row, a few MB
MAX_STEP = 1_000_000
ACCURACY_COLUMNS = ("test_accuracy", "train_accuracy")
LOSS_COLUMNS = ("test_loss", "train_loss")


@dataclass(frozen=True)
class Variable:
    """One TensorFlow variable of a row: its name, columns and TF shape."""

    name: str
    start: int
    end: int
    shape: tuple[int, ...]


def _refusal(e: UntrustedFileError, hint: str) -> ZooImportError:
    """``e`` as a ZooImportError; a missing file also says what the folder should hold."""
    return ZooImportError(f"{e} ({hint})" if str(e).endswith(": missing") else str(e))


def _csv(source, path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` of ``source`` with every failure a ZooImportError naming ``path``."""
    try:
        return pd.read_csv(source, **kwargs)
    except UntrustedFileError as e:
        raise ZooImportError(str(e)) from None
    except pd.errors.EmptyDataError:
        raise ZooImportError(f"{path}: empty (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, MemoryError,
            OverflowError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise ZooImportError(f"{path}: not a readable CSV table ({first})") from None


def _integers(table: pd.DataFrame, column, path, low: int, high: int,
              header: int = 1) -> np.ndarray:
    """``table[column]`` as int64 if every value is an integer in ``[low, high]`` (errors give
    the file's line number: the table's row plus ``header`` lines plus one)."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(values) & (values == np.round(values)) & (values >= low) & (values <= high)
    if not ok.all():
        row = int(np.argmin(ok))
        raise ZooImportError(f"{path}: line {row + header + 1}, column {column!r} is "
                             f"{str(table[column].iloc[row])[:40]!r}; it must be an integer "
                             f"in [{low}, {high}]")
    return values.astype(np.int64)


def _shape(text, name: str, path) -> tuple[int, ...]:
    text = str(text)
    try:
        if len(text) > 100:
            raise ValueError
        shape = ast.literal_eval(text)
        if isinstance(shape, int):
            shape = (shape,)
        if not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s < 1 << 31
                   for s in shape) or not 0 < len(shape) <= 8:
            raise ValueError
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ZooImportError(f"{path}: variable {name[:60]!r} has the shape {text[:60]!r}; "
                             "a shape is a tuple of positive integers such as (3, 3, 1, 16)"
                             ) from None
    return tuple(shape)


def read_layout(path) -> list[Variable]:
    """``layout.csv`` as variables sorted by ``start_idx``; checks that they tile the row."""
    path = Path(path)
    try:
        data = read_bytes(path, LAYOUT_LIMIT)
    except UntrustedFileError as e:
        raise _refusal(e, f"a Small CNN Zoo folder has {LAYOUT_FILE}") from None
    table = _csv(io.BytesIO(data), path, dtype=str, keep_default_na=False)
    missing = [c for c in LAYOUT_COLUMNS if c not in table.columns]
    if missing:
        raise ZooImportError(f"{path}: columns {missing} missing; expected {LAYOUT_COLUMNS}")
    if table.empty:
        raise ZooImportError(f"{path}: no variables")
    starts = _integers(table, "start_idx", path, 0, 1 << 31)
    ends = _integers(table, "end_idx", path, 0, 1 << 31)
    out = []
    for name, start, end, text in zip(table["varname"], starts, ends, table["shape"]):
        shape = _shape(text, name, path)
        var = Variable(str(name), int(start), int(end), shape)
        if var.end - var.start != int(np.prod(shape, dtype=object)):
            raise ZooImportError(f"{path}: variable {var.name[:60]!r} spans "
                                 f"{var.end - var.start} columns but its shape {shape} has "
                                 f"{int(np.prod(shape, dtype=object))}")
        out.append(var)
    out.sort(key=lambda v: v.start)
    position = 0
    for var in out:
        if var.start != position:
            raise ZooImportError(f"{path}: variable {var.name[:60]!r} starts at {var.start}, "
                                 f"expected {position} (the variables must tile the row)")
        position = var.end
    return out


def _stamp(path: Path):
    """What identifies a regular file's content for the cache below (None: not one)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read_metrics_once(stamp: tuple) -> pd.DataFrame:
    return _read_metrics(Path(stamp[0]))


def read_metrics(path) -> pd.DataFrame:
    """``metrics.csv.gz``, decompressed under a bound and checked (module docstring); ``step``
    as int64 and ``modeldir`` as text. A file read before, unchanged since (same inode, size
    and modification time), is not read again (``hyperreps inspect`` checks the files before
    it imports torch, then summarises them); each call gets its own copy."""
    path = Path(path)
    stamp = _stamp(path)
    return _read_metrics(path) if stamp is None else _read_metrics_once(stamp).copy()


def check_folder_files(folder) -> tuple:
    """Every file of a Small CNN Zoo folder read and checked as the import reads it (weights:
    the header and the size; metrics read once, see :func:`read_metrics`); a
    :class:`ZooImportError` naming the first bad file; returns the variables, the metrics and
    the memory-mapped weights. Imports nothing heavy: a refusal comes before torch is
    loaded."""
    folder = Path(folder)
    variables = read_layout(folder / LAYOUT_FILE)
    metrics = read_metrics(folder / METRICS_FILE)
    weights = open_weights(folder / WEIGHTS_FILE, len(metrics), variables[-1].end,
                           f"the columns the variables of {LAYOUT_FILE} tile")
    return variables, metrics, weights


def _read_metrics(path: Path) -> pd.DataFrame:
    try:
        with open_gzip(path, METRICS_LIMIT, METRICS_DECOMPRESSED_CAP) as stream:
            table = _csv(stream, path, low_memory=False)
    except UntrustedFileError as e:
        raise _refusal(e, f"a Small CNN Zoo folder has {METRICS_FILE}") from None
    for column in ("modeldir", "step"):
        if column not in table.columns:
            raise ZooImportError(f"{path}: column {column!r} missing")
    if table.empty:
        raise ZooImportError(f"{path}: no rows")
    if table["modeldir"].isna().any():
        row = int(np.argmax(table["modeldir"].isna().to_numpy()))
        raise ZooImportError(f"{path}: line {row + 2} has no modeldir")
    table["modeldir"] = table["modeldir"].astype(str)
    table["step"] = _integers(table, "step", path, 0, MAX_STEP)
    twice = table.duplicated(["modeldir", "step"])
    if twice.any():
        row = int(np.argmax(twice.to_numpy()))
        raise ZooImportError(f"{path}: line {row + 2} repeats (modeldir "
                             f"{table['modeldir'].iloc[row][:60]!r}, step "
                             f"{table['step'].iloc[row]}); each run and step has one row")
    for column in ACCURACY_COLUMNS + LOSS_COLUMNS:
        if column not in table.columns:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        given = table[column].notna() & values.isna()  # text where a number belongs
        x = values.to_numpy(dtype=np.float64)
        if column in ACCURACY_COLUMNS:
            bad = given.to_numpy() | (np.isfinite(x) & ((x < 0) | (x > 1))) | np.isinf(x)
            rule = "an accuracy in [0, 1] (or empty)"
        else:
            bad = given.to_numpy() | (x < 0)
            rule = "a non-negative loss (or empty, or inf for a diverged run)"
        if bad.any():
            row = int(np.argmax(bad))
            raise ZooImportError(f"{path}: line {row + 2}, column {column!r} is "
                                 f"{str(table[column].iloc[row])[:40]!r}; it must be {rule}")
        table[column] = x
    return table


def open_weights(path, n_rows: int, n_params: int,
                 columns_from: str = "the architecture's parameters") -> np.ndarray:
    """``weights.npy`` memory-mapped (no pickles), its header checked (module docstring), its
    rows against the metrics' row count and its columns against ``n_params`` (which
    ``columns_from`` names in a refusal)."""
    path = Path(path)
    try:
        header = read_npy_header(path)
    except UntrustedFileError as e:
        raise _refusal(e, f"a Small CNN Zoo folder has {WEIGHTS_FILE}") from None
    if header.dtype != np.dtype("<f4"):
        order = {">": "big-endian ", "<": "", "=": "", "|": ""}[header.dtype.byteorder]
        raise ZooImportError(f"{path}: dtype {order}{header.dtype} (descr "
                             f"{header.dtype.str!r}); the format is little-endian float32 "
                             "('<f4')")
    if header.fortran_order:
        raise ZooImportError(f"{path}: stored in Fortran (column) order; the format is one "
                             "model checkpoint per row in C order")
    if len(header.shape) != 2 or header.shape[1] != n_params:
        raise ZooImportError(f"{path}: shape {header.shape}, expected [rows, {n_params}] "
                             f"({n_params} columns: {columns_from})")
    if header.shape[0] != n_rows:
        raise ZooImportError(f"{path}: {header.shape[0]} rows, but {METRICS_FILE} has "
                             f"{n_rows}: the two must match row for row")
    try:
        return memory_map_npy(path, header)
    except (UntrustedFileError, OSError, ValueError) as e:
        raise ZooImportError(f"{path}: cannot be memory-mapped ({e})") from None


def read_split_order(path, n_rows: int) -> np.ndarray:
    """The row permutation of a field split CSV (NFN, reused by ScaleGMN and Neural Graphs):
    one row index per line. Their files begin with a header line that the field's loaders
    read as data (``pd.read_csv(header=None)``), so row 0 appears twice; the first occurrence
    is dropped here (it names the same row). Every index must lie in ``[0, n_rows)``."""
    path = Path(path)
    try:
        data = read_bytes(path, SPLIT_LIMIT)
    except UntrustedFileError as e:
        raise _refusal(e, "the split CSV of the field's benchmarks") from None
    table = _csv(io.BytesIO(data), path, header=None, dtype=str)
    if table.shape[1] != 1:
        raise ZooImportError(f"{path}: {table.shape[1]} columns; one row index per line")
    order = _integers(table, 0, path, 0, max(n_rows - 1, 0), header=0)
    if len(order) > 1 and order[0] in set(order[1:].tolist()):
        order = order[1:]  # the header line read as data
    if len(set(order.tolist())) != len(order):
        raise ZooImportError(f"{path}: a row index appears twice")
    return order
