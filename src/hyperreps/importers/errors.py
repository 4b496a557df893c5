"""The one error of every zoo import: a file of the zoo being imported is missing, unsafe or
malformed, whatever its format. The message names the file (made printable: a file name or
value from an untrusted zoo must not drive the user's terminal)."""

from __future__ import annotations

import re

_TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences and control characters."""
    return _TERMINAL_CODES.sub("?", str(text))


class ZooImportError(ValueError):
    """A file of the zoo being imported is missing, unsafe or malformed; the message names it."""

    def __init__(self, message: str):
        super().__init__(printable(message))
