"""The one loader of an untrusted PyTorch checkpoint, for every format that holds state dicts
(Ray Tune zoos, folders of checkpoints): nothing is executed, every tensor is matched to the
architecture's parameters and checked.

``.pt`` / ``.pth`` bytes are read with ``torch.load(weights_only=True)``, which refuses any
pickle that would build objects other than tensors and plain containers; ``.safetensors``
holds tensors only. A state dict may sit under a ``state_dict`` key. Its tensors are matched to
the layout's by name where all names are the layout's, else by order (the caller orders them),
and each must have the parameter's shape and a floating dtype."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors

from ..layout import ParameterLayout
from .errors import ZooImportError


def load_state_dict(data: bytes, path: Path, safetensors: bool = False) -> dict:
    """The named tensors in ``data`` (the bytes of ``path``), loaded without running code."""
    try:
        if safetensors:
            state = load_safetensors(data)
        else:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # refused pickles, broken and truncated files alike: nothing runs
        first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise ZooImportError(f"{path}: refused or unreadable ({first}); only plain tensors are "
                             "loaded, nothing is executed") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise ZooImportError(f"{path}: not a state dict of named tensors")
    return state


def flat_weights(state: dict, layout: ParameterLayout, path, what: str = "the architecture",
                 kind: str = "") -> torch.Tensor:
    """A state dict as the layout's flat float32 vector: by name if the names are the layout's,
    else by the dict's order; every tensor's shape checked. ``kind`` (e.g. ``weight/bias``):
    the state's tensors are only ever matched by order (their names are another scheme's), so
    a wrong count is told without listing names."""
    names = [t.name for t in layout.tensors]
    if set(state) == set(names) and not kind:
        ordered = [(n, state[n]) for n in names]
    elif kind:
        if len(state) != len(names):
            raise ZooImportError(f"{path}: {len(state)} {kind} tensors, {what} has {len(names)}")
        ordered = list(state.items())
    else:
        extra = sorted(set(state) - set(names))
        missing = sorted(set(names) - set(state))
        if len(state) != len(names):
            raise ZooImportError(
                f"{path}: {len(state)} tensors, {what} has {len(names)}"
                + (f"; extra {extra[:5]}" if extra else "")
                + (f"; missing {missing[:5]}" if missing else ""))
        ordered = list(state.items())  # matched by order, checked by shape below
    parts = []
    for t, (name, value) in zip(layout.tensors, ordered):
        if tuple(value.shape) != tuple(t.shape):
            raise ZooImportError(f"{path}: tensor {name!r} has shape {tuple(value.shape)}, "
                                 f"{what}'s {t.name} {tuple(t.shape)}")
        if not value.is_floating_point():
            raise ZooImportError(f"{path}: tensor {name!r} is {value.dtype}, not floating")
        parts.append(value.detach().reshape(-1).to(torch.float32))
    return torch.cat(parts)
