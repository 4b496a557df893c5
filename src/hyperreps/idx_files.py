"""The idx files of the MNIST family (MNIST, Fashion-MNIST, KMNIST), checked before anything
reads or copies them: the header says the element type and the dimensions, so the exact size of
a good file is known before its data is read. A file is accepted only as unsigned bytes
(type 0x08; a float idx file would reach torchvision as a ``TypeError``), with the dimensions
its role needs (images ``[N, 28, 28]``, labels ``[N]``) and exactly the bytes its header
announces. A gzip-compressed source is decompressed as a stream and never past that size, so a
"gzip bomb" is refused after a few bytes more than a real file has, and nothing of it is left
on disk (:func:`hyperreps.publish.atomic_path` removes the partial copy).
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
from collections.abc import Iterator
from pathlib import Path

from .publish import atomic_path
from .untrusted_files import GiB, UntrustedFileError, open_gzip, open_regular

IDX_LIMIT = 1 * GiB  # bytes of one idx file (MNIST's largest: 47 MB)
UNSIGNED_BYTE = 0x08
ROLES = {"images": (3, (28, 28)), "labels": (1, ())}


class IdxFileError(ValueError):
    """An idx file is not what its role needs; the message names it."""


def role_of(name: str) -> str:
    return "images" if "images" in name else "labels"


@contextlib.contextmanager
def _stream(path: Path) -> Iterator:
    """The decompressed bytes of ``path`` (``.gz``) or its bytes, bounded."""
    try:
        if path.suffix == ".gz":
            with open_gzip(path, IDX_LIMIT, IDX_LIMIT) as f:
                yield f
        else:
            with open_regular(path, IDX_LIMIT) as f:
                yield f
    except UntrustedFileError as e:
        raise IdxFileError(str(e)) from None


def read_header(stream, path: Path, role: str) -> tuple[tuple[int, ...], int]:
    """The dimensions and total byte size of an idx file of ``role``, from the header read
    off ``stream``; IdxFileError naming ``path`` when it is not an unsigned-byte idx file of
    the role's shape."""
    head = stream.read(4)
    if len(head) < 4 or head[:2] != b"\0\0":
        raise IdxFileError(f"{path}: not an idx file (it does not start with two zero bytes "
                           "and a type byte)")
    kind, ndim = head[2], head[3]
    want_ndim, want_tail = ROLES[role]
    if kind != UNSIGNED_BYTE:
        raise IdxFileError(f"{path}: idx element type 0x{kind:02x}; the {role} of the MNIST "
                           "family are unsigned bytes (0x08)")
    if ndim != want_ndim:
        raise IdxFileError(f"{path}: {ndim} dimensions; {role} have {want_ndim}")
    raw = stream.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise IdxFileError(f"{path}: ends inside its header")
    dims = tuple(int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in range(ndim))
    if dims[1:] != want_tail or dims[0] == 0:
        raise IdxFileError(f"{path}: dimensions {list(dims)}; {role} must be [N"
                           + "".join(f", {d}" for d in want_tail) + "] with N > 0")
    return dims, 4 + 4 * ndim + math.prod(dims)


def check_idx(path: str | os.PathLike, role: str | None = None) -> tuple[int, ...]:
    """The dimensions of the idx file ``path`` (plain or ``.gz``), checked as the module says:
    header and exact length (the whole file is streamed, never held)."""
    path = Path(path)
    role = role or role_of(path.name)
    with _stream(path) as f:
        dims, size = read_header(f, path, role)
        have = 4 + 4 * len(dims)
        while chunk := f.read(min(1 << 20, size + 1 - have)):
            have += len(chunk)
            if have > size:
                break
    if have != size:
        what = "longer than" if have > size else f"{have} bytes, truncated:"
        raise IdxFileError(f"{path}: {what} the {size} bytes its header {list(dims)} makes")
    return dims


def copy_idx(source: str | os.PathLike, final: str | os.PathLike) -> None:
    """Copy the idx file ``source`` (plain or ``.gz``) to ``final`` atomically, decompressed,
    checked as :func:`check_idx` does while it is copied (nothing is left on a refusal)."""
    source, final = Path(source), Path(final)
    role = role_of(final.name)
    with atomic_path(final) as tmp, _stream(source) as src, open(tmp, "wb") as dst:
        header_dims, size = read_header(src, source, role)
        header = (bytes([0, 0, UNSIGNED_BYTE, len(header_dims)])
                  + b"".join(d.to_bytes(4, "big") for d in header_dims))
        dst.write(header)
        left = size - len(header)
        while left > 0:
            chunk = src.read(min(1 << 20, left))
            if not chunk:
                raise IdxFileError(f"{source}: truncated: its header {list(header_dims)} "
                                   f"makes {size} bytes")
            dst.write(chunk)
            left -= len(chunk)
        if src.read(1):
            raise IdxFileError(f"{source}: longer than the {size} bytes its header "
                               f"{list(header_dims)} makes (trailing data)")


def open_source(path: Path):
    """``gzip.open`` for a ``.gz`` idx file, else ``open`` (for comparing contents)."""
    return gzip.open if path.suffix == ".gz" else open
