"""Files from elsewhere (imported zoos, dataset files, checkpoints, configs), read with bounds:
one reader for every format.

- Only **regular files** are opened: a FIFO would block the reader forever, a device
  (``/dev/zero``) never ends, a folder is no file. A symbolic link is followed to a regular
  file unless the caller forbids links (the Ray Tune importer, whose model folders must hold
  their own files); a link loop is said to be one.
- The **size is bounded** before the read (``stat``) and during it (never more than the bound
  plus one byte is read, so a file that grows meanwhile cannot exhaust memory).
- **gzip** is decompressed as a stream under a bound on the decompressed bytes that depends on
  the compressed size (a real table compresses 3-20x; a "gzip bomb" a thousand-fold), so a
  3 MB file costs at most a few hundred MB of work, never gigabytes.
- A ``.npy`` header is read and checked (dtype, byte order, memory order, shape, and that the
  file holds exactly the data the header announces) before any memory map is made.

Every refusal is an :class:`UntrustedFileError` (a ``ValueError``) whose message starts with
the file's path and says the rule broken; callers that have an error class of their own wrap
it (``raise TheirError(str(e)) from None``).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
# decompressed bytes allowed per compressed byte, and at least this many (small files)
GZIP_RATIO = 50  # a Small CNN Zoo-like metrics table of 270,000 rows compresses 4.8-fold
GZIP_FLOOR = 64 * MiB


class UntrustedFileError(ValueError):
    """A file from elsewhere is missing, not a regular file, too large or malformed; the
    message names it."""


def kind_of(mode: int) -> str:
    """What a ``stat`` mode is, in words."""
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "a special file"


def stat_path(path: str | os.PathLike, follow_links: bool = True) -> os.stat_result:
    """``os.stat`` (``os.lstat`` without ``follow_links``) of ``path``, its failures said in
    words naming it: missing, a link loop, not readable."""
    try:
        return os.stat(path) if follow_links else os.lstat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UntrustedFileError(f"{path}: a symbolic link to {os.readlink(path)!r}, which "
                                     "does not exist") from None
        raise UntrustedFileError(f"{path}: missing") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UntrustedFileError(f"{path}: a loop of symbolic links") from None
        raise UntrustedFileError(f"{path}: cannot be read ({e.strerror})") from None


def check_regular(path: str | os.PathLike, limit: int | None = None,
                  follow_links: bool = True) -> os.stat_result:
    """The ``stat`` of ``path`` if it is a regular file (reached through links unless
    ``follow_links`` is false) of at most ``limit`` bytes; UntrustedFileError otherwise."""
    st = stat_path(path, follow_links)
    if not stat.S_ISREG(st.st_mode):
        links = "" if follow_links else "; links are not followed"
        raise UntrustedFileError(f"{path}: {kind_of(st.st_mode)}, not a regular file (only "
                                 f"regular files are read{links})")
    if limit is not None and st.st_size > limit:
        raise UntrustedFileError(f"{path}: {st.st_size:,} bytes, more than the {limit:,} "
                                 "this file may have")
    return st


def check_folder(path: str | os.PathLike) -> None:
    """``path`` is a folder (reached through links); UntrustedFileError in words otherwise:
    missing, a link loop, or what it is instead (a FIFO, a device, a file)."""
    st = stat_path(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedFileError(f"{path}: {kind_of(st.st_mode)}, not a folder")


class _Bounded(io.RawIOBase):
    """A binary stream that refuses to yield more than ``limit`` bytes of ``inner``."""

    def __init__(self, inner, limit: int, path, what: str):
        self.inner, self.limit, self.path, self.what, self.count = inner, limit, path, what, 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.count

    def readinto(self, buffer) -> int:
        data = self.inner.read(min(len(buffer), self.limit + 1 - self.count))
        self.count += len(data)
        if self.count > self.limit:
            raise UntrustedFileError(f"{self.path}: more than {self.limit:,} {self.what}")
        buffer[:len(data)] = data
        return len(data)


@contextlib.contextmanager
def open_regular(path: str | os.PathLike, limit: int,
                 follow_links: bool = True) -> Iterator[io.BufferedReader]:
    """``path`` opened for binary reading if it is a regular file of at most ``limit`` bytes
    (see :func:`check_regular`); reads past ``limit`` raise (a file that grows meanwhile), and
    the open never blocks (``O_NONBLOCK``: a FIFO swapped in after the check)."""
    check_regular(path, limit, follow_links)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise UntrustedFileError(f"{path}: cannot be read ({e.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UntrustedFileError(f"{path}: replaced by {kind_of(mode)} while being opened")
    with os.fdopen(fd, "rb") as raw:
        yield io.BufferedReader(_Bounded(raw, limit, path, "bytes (it grew while being read)"))


def read_bytes(path: str | os.PathLike, limit: int, follow_links: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them."""
    with open_regular(path, limit, follow_links) as f:
        return f.read()


def read_text(path: str | os.PathLike, limit: int, follow_links: bool = True) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes)."""
    data = read_bytes(path, limit, follow_links)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UntrustedFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") \
            from None


def gzip_limit(compressed_bytes: int, cap: int) -> int:
    """The decompressed bytes allowed for a gzip file of ``compressed_bytes``: at most ``cap``,
    and :data:`GZIP_RATIO` times the compressed size (at least :data:`GZIP_FLOOR`)."""
    return min(cap, max(GZIP_FLOOR, GZIP_RATIO * compressed_bytes))


@contextlib.contextmanager
def open_gzip(path: str | os.PathLike, limit: int, cap: int) -> Iterator[io.BufferedReader]:
    """The decompressed stream of the gzip file ``path`` (at most ``limit`` compressed bytes;
    decompressed, at most :func:`gzip_limit` of them). Not gzip, truncated or corrupt data
    raise UntrustedFileError naming the file, during the read as before it."""
    size = check_regular(path, limit).st_size
    allowed = gzip_limit(size, cap)
    with open_regular(path, limit) as raw:
        if raw.peek(2)[:2] != b"\x1f\x8b":
            raise UntrustedFileError(f"{path}: not a gzip file (it does not start with the gzip "
                                     "magic bytes 1f 8b)")
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
        bounded = _Bounded(_GzipErrors(stream, path), allowed, path,
                           f"bytes decompressed from {size:,} (a gzip bomb? a real table "
                           f"compresses less than {GZIP_RATIO}-fold)")
        yield io.BufferedReader(bounded, buffer_size=1 * MiB)


class _GzipErrors:
    """gzip's own errors as UntrustedFileError naming the file."""

    def __init__(self, stream, path):
        self.stream, self.path = stream, path

    def read(self, n: int) -> bytes:
        try:
            return self.stream.read(n)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
            raise UntrustedFileError(f"{self.path}: corrupt or truncated gzip data "
                                     f"({type(e).__name__}: {e})") from None


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # where the data starts


NPY_HEADER_LIMIT = 64 * KiB


def read_npy_header(path: str | os.PathLike) -> NpyHeader:
    """The header of the ``.npy`` file ``path`` (a regular file), checked to announce a plain
    (non-object) array whose data fills the rest of the file exactly (no truncated file, no
    trailing bytes). Nothing but the header is read; the dtype, order and shape are the
    caller's to judge."""
    size = check_regular(path).st_size
    with open_regular(path, size) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(f, max_header_size=NPY_HEADER_LIMIT)
        except (ValueError, OSError, SyntaxError, TypeError, EOFError) as e:
            raise UntrustedFileError(f"{path}: not a .npy array file ({e})") from None
        offset = f.tell()
    if dtype.hasobject:
        raise UntrustedFileError(f"{path}: holds Python objects (dtype {dtype}), which would "
                                 "need unpickling; only numeric arrays are read")
    expected = offset + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size != expected:
        raise UntrustedFileError(f"{path}: {size:,} bytes, but its header announces {dtype} "
                                 f"{tuple(shape)}, which makes {expected:,} (truncated or "
                                 "padded)")
    return NpyHeader(tuple(int(s) for s in shape), dtype, bool(fortran), int(offset))


def memory_map_npy(path: str | os.PathLike, header: NpyHeader) -> np.ndarray:
    """The ``.npy`` file ``path`` memory-mapped read-only at the checked ``header``."""
    check_regular(path)
    return np.memmap(Path(path), dtype=header.dtype, mode="r", offset=header.offset,
                     shape=header.shape, order="F" if header.fortran_order else "C")
