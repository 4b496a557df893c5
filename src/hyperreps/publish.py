"""Atomic publishing of outputs: every file and folder the pipeline writes goes through here.

A writer fills a temporary sibling with a unique name (so concurrent jobs never share one),
the data is fsynced, permissions are set from the process umask (``tempfile`` would leave
0600/0700, which group members on a shared cluster cannot read), and one ``os.replace`` puts
it in place; the parent folder is fsynced so the rename survives a crash. A failure at any
point removes the temporary and leaves what was there before untouched. A folder replacing an
older one: the old one is moved aside, the new one renamed in, and the old one deleted only
then (put back if the rename fails), so an output is never lost before its replacement is
complete. A file, FIFO, device or symbolic link where a folder is to go is never removed (an
error names it), and a folder the user named is replaced only as
:mod:`hyperreps.destinations` allows.

- :func:`atomic_path` (a file path to write to, then published), :func:`write_text`,
  :func:`write_json`, :func:`copy_file`;
- :func:`staged_dir` (a folder to fill, then published).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from .destinations import DestinationError, kind_of

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
def staged_dir(final: str | os.PathLike, *, replace: bool = True,
               discard: Callable[[Path], list[str]] | None = None) -> Iterator[Path]:
    """A fresh temporary folder beside ``final`` to fill; on leaving the block it replaces
    ``final`` (see the module docstring). On an exception it is removed.

    Whatever ``replace`` says, a non-folder or a symbolic link at ``final`` (even to a folder)
    is never removed: :class:`~hyperreps.destinations.DestinationError`, before the block
    runs and again at the rename. ``replace=True`` (the pipeline's outputs): an existing real
    folder is replaced, the old one removed by ``discard`` (default: all of it) once the new
    one is in place. ``replace=False`` (a path the user gave, see
    :func:`hyperreps.destinations.check_user_destination`): ``final`` must not exist or be an
    empty folder, and the rename refuses one that gained files meanwhile."""
    final = Path(final)
    _check_final(final, replace)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp",
                                dir=final.parent))
    try:
        yield tmp
        _finish_tree(tmp)
        _replace_dir(tmp, final, replace, discard)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _check_final(final: Path, replace: bool) -> os.stat_result | None:
    """``final``'s lstat, or None if it does not exist; refuses what may not be replaced."""
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        raise DestinationError(
            f"{final}: exists and is a {kind_of(st.st_mode)}, not a folder; a folder is never "
            "published over it (it was not written here): move it away or choose another path")
    if replace:
        return st
    with os.scandir(final) as entries:
        empty = next(entries, None) is None
    if not empty:
        raise DestinationError(
            f"{final}: is a folder that is not empty; it is not replaced (it holds files not "
            "written here): choose a new or empty folder")
    return st


def _replace_dir(tmp: Path, final: Path, replace: bool = True,
                 discard: Callable[[Path], list[str]] | None = None) -> None:
    aside = None
    if _check_final(final, replace) is not None and replace:
        aside = _temporary_name(final).with_suffix(".old")
        os.replace(final, aside)
        if os.path.islink(aside) or not aside.is_dir():  # swapped for a non-folder meanwhile
            os.replace(aside, final)
            _check_final(final, replace)
    try:
        os.replace(tmp, final)  # over an empty folder (replace=False): only if still empty
    except BaseException as e:
        if aside is not None and not os.path.lexists(final):
            os.replace(aside, final)  # put the old output back
        if not replace and isinstance(e, OSError) and e.errno in (
                errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise DestinationError(f"{final}: changed while it was written (it is no longer "
                                   "missing or an empty folder); nothing in it was replaced: "
                                   "choose a new or empty folder") from None
        raise
    _fsync_path(final.parent)
    if aside is not None:
        if discard is None:
            shutil.rmtree(aside, ignore_errors=True)
        elif left := discard(aside):
            warnings.warn(f"{aside}: kept (the replaced output held {', '.join(left[:3])}, "
                          "which were not written here)", stacklevel=2)


# what this module leaves behind when its process is killed mid-write: atomic_path's
# ".NAME.PID.HEX8.tmp", staged_dir's ".NAME.PID.RAND8.tmp" and _replace_dir's ".NAME.PID.HEX8.old"
_TEMPORARY = re.compile(r"\..+\.(?P<pid>\d+)\.[a-z0-9_]{8}\.(tmp|old)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def stale_temporaries(root: str | os.PathLike, older_than: float | None = None) -> list[Path]:
    """The temporaries under ``root`` that this module wrote in processes no longer running
    on this machine (killed mid-write): only names of this module's pattern, never followed
    links. ``older_than`` (seconds): also require that long since the last change, for runs
    whose jobs write from other machines (a cluster), where a pid says nothing. Never trusted
    as outputs; :func:`remove_stale_temporaries` removes them."""
    found, now = [], time.time()
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            m = _TEMPORARY.fullmatch(name)
            if not m or _alive(int(m["pid"])):
                continue
            path = Path(folder) / name
            if older_than is not None:
                try:
                    if now - os.lstat(path).st_mtime < older_than:
                        continue
                except FileNotFoundError:
                    continue
            found.append(path)
        dirs[:] = [d for d in dirs if not _TEMPORARY.fullmatch(d)]
    return found


def remove_stale_temporaries(root: str | os.PathLike,
                             older_than: float | None = None) -> list[Path]:
    """Remove :func:`stale_temporaries` under ``root``; returns what was removed."""
    removed = []
    for path in stale_temporaries(root, older_than):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def write_json(path: str | os.PathLike, obj) -> None:
    """``obj`` as indented JSON, published atomically."""
    write_text(path, json.dumps(obj, indent=1))
