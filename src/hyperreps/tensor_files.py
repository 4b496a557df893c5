"""Safetensors files whose bytes depend only on what they hold.

``safetensors`` keeps a file's ``__metadata__`` in a Rust HashMap, so its keys are written in
an order that changes from process to process: two runs that compute the same tensors wrote
embeddings, exported models and resume states that differed in bytes (issue 25; found by a
kill-and-resume run against a run from scratch, whose tensors were equal). :func:`save_tensors`
writes the header with every key sorted instead; the file is an ordinary safetensors file
(any reader gets the same tensors and metadata).
"""

from __future__ import annotations

import json
import os
import struct

import torch
from safetensors.torch import save


def tensor_file_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
                      ) -> bytes:
    """The safetensors serialisation of ``tensors`` with a canonical header: keys sorted,
    compact JSON, padded with spaces to 8 bytes as the format requires."""
    raw = save(tensors, metadata=metadata)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + raw[8 + n:]


def save_tensors(tensors: dict[str, torch.Tensor], path: str | os.PathLike,
                 metadata: dict[str, str] | None = None) -> None:
    """Write :func:`tensor_file_bytes` to ``path`` (callers publish atomically)."""
    with open(path, "wb") as f:
        f.write(tensor_file_bytes(tensors, metadata))
