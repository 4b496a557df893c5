"""Atomic publishing of outputs: every file and folder the pipeline writes goes through here.

A writer fills a temporary sibling with a unique name (so concurrent jobs never share one),
the data is fsynced, permissions are set from the process umask (``tempfile`` would leave
0600/0700, which group members on a shared cluster cannot read), and one ``os.replace`` puts
it in place; the parent folder is fsynced so the rename survives a crash. A failure at any
point removes the temporary and leaves what was there before untouched. A folder replacing an
older one: the old one is moved aside, the new one renamed in, and the old one deleted only
then (put back if the rename fails), so an output is never lost before its replacement is
complete.

- :func:`atomic_path` (a file path to write to, then published), :func:`write_text`,
  :func:`write_json`, :func:`copy_file`;
- :func:`staged_dir` (a folder to fill, then published).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

_UMASK: int | None = None


def umask() -> int:
    """The process umask (read once: reading it means setting it)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


def _file_mode() -> int:
    return 0o666 & ~umask()


def _dir_mode() -> int:
    return 0o777 & ~umask()


def _fsync_path(path: Path) -> None:
    """fsync a file or folder (folders: where the platform allows it)."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _finish_tree(root: Path) -> None:
    """Set umask permissions on ``root`` and everything in it, and fsync every file."""
    paths = [root, *root.rglob("*")] if root.is_dir() else [root]
    for p in paths:
        if p.is_symlink():
            continue
        os.chmod(p, _dir_mode() if p.is_dir() else _file_mode())
        if p.is_file():
            _fsync_path(p)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """A unique temporary path beside ``final`` to write one file to; on leaving the block it
    is fsynced, given umask permissions and renamed to ``final``. On an exception it is
    removed and ``final`` is left as it was."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(final)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: the writer produced no file for {final}")
        _finish_tree(tmp)
        os.replace(tmp, final)
        _fsync_path(final.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(final: str | os.PathLike, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text)


def copy_file(source: str | os.PathLike, final: str | os.PathLike, opener=open) -> None:
    """Copy ``source`` (read with ``opener``, e.g. ``gzip.open``) to ``final`` atomically;
    several processes may copy the same file at once."""
    with atomic_path(final) as tmp, opener(source, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)


@contextlib.contextmanager
def staged_dir(final: str | os.PathLike) -> Iterator[Path]:
    """A fresh temporary folder beside ``final`` to fill; on leaving the block it replaces
    ``final`` (see the module docstring). On an exception it is removed."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        _finish_tree(tmp)
        _replace_dir(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _replace_dir(tmp: Path, final: Path) -> None:
    aside = None
    if final.exists() or final.is_symlink():
        if final.is_dir() and not final.is_symlink():
            aside = _temporary_name(final).with_suffix(".old")
            os.replace(final, aside)
        else:
            final.unlink()
    try:
        os.replace(tmp, final)
    except BaseException:
        if aside is not None and not final.exists():
            os.replace(aside, final)  # put the old output back
        raise
    _fsync_path(final.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def write_json(path: str | os.PathLike, obj) -> None:
    """``obj`` as indented JSON, published atomically."""
    write_text(path, json.dumps(obj, indent=1))
