"""Where a path the user names may be written (issue 30): a writer that takes its destination
from the user (``hyperreps export ZOO OUT``; a config path the pipeline fills in) never
removes or overwrites what it did not write.

:func:`check_user_destination` is the one rule, checked before any work (it only reads): the
destination must be a path that does not exist yet, or an empty folder. It is refused, with a
one-line :class:`DestinationError` that names the path, the rule broken and how to proceed,
when it

- is a file, a symbolic link (even to a folder), a FIFO, a socket or a device;
- is a folder holding anything (a previous output of the same writer is replaced only when
  the writer's ``recognise`` says it is one, every file in it one the writer writes, *and* the
  caller asks for it with ``replace=True``, e.g. ``--replace``);
- is one of ``sources``, lies inside one, or holds one (resolved paths, and the folders'
  device and inode, are compared, so a symlink or ``..`` does not hide it; a destination that
  does not exist yet is resolved through its existing parents);
- lies below a file.

Rule outputs are Snakemake's (it deletes and creates them itself) and do not come through
here. This module imports nothing heavy, so a command refuses in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

EXPORT_FORMAT = "hyperreps-model"
EXPORT_INDEX = "index.json"
EXPORT_FILE = re.compile(r"model_\d{4,}\.(safetensors|json)")
_INDEX_MAX_BYTES = 64 << 20


class DestinationError(ValueError):
    """A destination a writer refuses: the message names it, the rule broken and the remedy."""


def _show(path) -> str:
    """A path for a one-line message (control characters escaped)."""
    text = os.fspath(path)
    return text if text.isprintable() else repr(text)


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, in words."""
    for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "folder"),
                       (stat.S_ISREG, "file"), (stat.S_ISFIFO, "FIFO (named pipe)"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _lstat(path: Path, writer: str):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # below a file: the parents say which
        return None
    except OSError as e:
        raise DestinationError(f"{_show(path)}: cannot be checked as a destination for {writer} "
                               f"({e.strerror or e}); choose another path") from None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _identity(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _existing_chain(path: Path) -> list[Path]:
    """``path`` (resolved) and its ancestors that exist."""
    return [p for p in (path, *path.parents) if os.path.lexists(p)]


def _check_sources(out: Path, sources: Iterable, writer: str, source_name: str) -> None:
    real_out = Path(os.path.realpath(out))
    out_chain = _existing_chain(real_out)
    out_ids = {_identity(p): p for p in out_chain}
    out_ids.pop(None, None)
    for source in sources:
        real_src = Path(os.path.realpath(source))
        shown = repr(os.fspath(source)) + ("" if Path(source) == real_src
                                           else f" ({_show(real_src)})")
        src_id = _identity(real_src)
        if real_out == real_src or (src_id is not None and src_id == _identity(real_out)):
            rule = f"is the source {source_name} {shown} itself"
        elif _inside(real_out, real_src) or (src_id is not None and src_id in out_ids):
            rule = f"lies inside the source {source_name} {shown}"
        elif _inside(real_src, real_out) or (
                os.path.isdir(real_out) and _identity(real_out) in
                {_identity(p) for p in _existing_chain(real_src)}):
            rule = f"holds the source {source_name} {shown}"
        else:
            continue
        raise DestinationError(
            f"{_show(out)}: {rule}; {writer} never writes over, into or around what it reads: "
            f"choose a new folder outside the {source_name}")


def check_user_destination(out, *, sources: Iterable = (), replace: bool = False,
                           recognise: Callable[[Path], bool] | None = None,
                           writer: str = "this writer", source_name: str = "input",
                           replace_flag: str = "--replace") -> bool:
    """Refuse ``out`` unless a folder may be published there without removing anything the
    writer did not write (see the module docstring); raises :class:`DestinationError`.

    Returns True when ``out`` holds a previous output that ``recognise`` accepts and
    ``replace`` allows replacing (the caller then replaces it), False when ``out`` does not
    exist or is an empty folder."""
    out = Path(out)
    _check_sources(out, sources, writer, source_name)
    st = _lstat(out, writer)
    if st is None:
        for parent in out.absolute().parents:  # the nearest existing parent must be a folder
            pst = _lstat(parent, writer)
            if pst is None:
                continue
            if not os.path.isdir(parent):
                raise DestinationError(
                    f"{_show(out)}: lies below {_show(parent)}, which is a "
                    f"{kind_of(pst.st_mode)}, not a folder; {writer} does not replace it: "
                    "choose a path in a folder")
            break
        return False
    if not stat.S_ISDIR(st.st_mode):
        kind = kind_of(st.st_mode)
        extra = ""
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(out)
            extra = (f" (to {_show(target)}); {writer} neither follows nor replaces a link: "
                     "give a new folder path, or the link's target itself")
        else:
            extra = (f", not a folder; {writer} writes a folder and never replaces a {kind}: "
                     "choose a path that does not exist yet, or an empty folder")
        raise DestinationError(f"{_show(out)}: exists and is a {kind}{extra}")
    try:
        names = sorted(os.listdir(out))
    except OSError as e:
        raise DestinationError(f"{_show(out)}: the folder cannot be listed ({e.strerror or e}); "
                               f"{writer} writes only into a new or empty folder: choose "
                               "another") from None
    if not names:
        return False
    previous = recognise is not None and recognise(out)
    if previous and replace:
        return True
    if previous:
        raise DestinationError(
            f"{_show(out)}: holds a previous output of {writer} ({len(names)} files), "
            f"replaced only when asked: pass {replace_flag} to replace it, or choose another "
            "folder")
    shown = ", ".join(repr(n) for n in names[:3]) + (f" and {len(names) - 3} more"
                                                      if len(names) > 3 else "")
    hint = (f" ({replace_flag} replaces only a previous output of {writer}, which this is "
            "not)" if replace else "")
    raise DestinationError(
        f"{_show(out)}: is a folder that is not empty (it holds {shown}); {writer} never "
        f"writes into or replaces a folder holding files it did not write{hint}: choose a new "
        "or empty folder, or move those files away yourself")


def is_previous_export(folder) -> bool:
    """Whether ``folder`` is recognisably a previous ``hyperreps export``: an ``index.json``
    of format ``hyperreps-model``, and nothing but regular files export writes
    (``index.json``, ``model_NNNN.safetensors``, ``model_NNNN.json``)."""
    folder = Path(folder)
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False) or not (
                        entry.name == EXPORT_INDEX or EXPORT_FILE.fullmatch(entry.name)):
                    return False
        index = folder / EXPORT_INDEX
        st = os.lstat(index)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _INDEX_MAX_BYTES:
            return False
        with open(index, "rb") as f:
            data = json.loads(f.read(_INDEX_MAX_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == EXPORT_FORMAT


def discard_previous_export(folder) -> list[str]:
    """Delete the files a previous export wrote from ``folder`` (one moved aside by
    :func:`hyperreps.publish.staged_dir`), then the folder if it is empty. Returns the names
    left in it (anything export did not write is never deleted)."""
    folder = Path(folder)
    left = []
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and (
                entry.name == EXPORT_INDEX or EXPORT_FILE.fullmatch(entry.name)):
            os.unlink(entry.path)
        else:
            left.append(entry.name)
    if not left:
        os.rmdir(folder)
    return sorted(left)
