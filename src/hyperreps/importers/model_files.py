"""Generated models from elsewhere, to audit (issue 32): a set of models of one registered
architecture, each as a flat weight vector, from whichever form a generator writes them in.

- a folder in our zoo format (``manifest.json``; checksums verified): every model at the last
  epoch;
- a folder of state dicts, one model per ``.safetensors`` / ``.pt`` / ``.pth`` file (our
  ``hyperreps export`` folders among them), loaded without running code and matched to the
  architecture by name or by order and shape (:mod:`.state_dicts`);
- a ``.npy`` file of flat weights ``[models, parameters]`` (float32 or float64, in our layout),
  its header checked before it is memory-mapped.

Every file is untrusted: regular files only, sizes bounded, shapes and dtypes checked; a bad one
is a :class:`~.errors.ZooImportError` naming it. Non-finite models are kept (measured as such,
never dropped) and counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..layout import ParameterLayout
from ..untrusted_files import (GiB, UntrustedFileError, check_folder, memory_map_npy,
                               read_bytes, read_npy_header)
from .errors import ZooImportError
from .state_dicts import flat_weights, load_state_dict

STATE_SUFFIXES = (".safetensors", ".pt", ".pth")
FILE_LIMIT = 1 * GiB  # bytes of one model file
MAX_MODELS = 100_000


def load_model_files(path, layout: ParameterLayout) -> tuple[torch.Tensor, list[str]]:
    """The models at ``path`` as ``[N, P]`` float32 weights of ``layout``, and a name for each
    (file name, or row / model id)."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            return _npy(path, layout)
        check_folder(path)
    except UntrustedFileError as e:
        raise ZooImportError(str(e)) from None
    if (path / "manifest.json").exists():
        from ..zoo import load_zoo

        zoo = load_zoo(path)
        if zoo.layout != layout:
            raise ZooImportError(f"{path}: a zoo of {zoo.layout.architecture}, not "
                                 f"{layout.architecture}")
        return zoo.weights[:, -1].float(), [f"model_{int(m)}" for m in zoo.info["model_ids"]]
    files = sorted(p for p in path.iterdir() if p.suffix in STATE_SUFFIXES)
    if not files:
        raise ZooImportError(f"{path}: no manifest.json (our zoo format) and no "
                             f"{' / '.join(STATE_SUFFIXES)} files (one model each)")
    if len(files) > MAX_MODELS:
        raise ZooImportError(f"{path}: {len(files)} model files, more than {MAX_MODELS}")
    rows = []
    for f in files:
        try:
            data = read_bytes(f, FILE_LIMIT, follow_links=False)
        except UntrustedFileError as e:
            raise ZooImportError(str(e)) from None
        state = load_state_dict(data, f, safetensors=f.suffix == ".safetensors")
        rows.append(flat_weights(state, layout, f, layout.architecture or "the architecture"))
    return torch.stack(rows), [f.name for f in files]


def _npy(path: Path, layout: ParameterLayout) -> tuple[torch.Tensor, list[str]]:
    header = read_npy_header(path)
    if header.dtype not in (np.dtype("<f4"), np.dtype("<f8")) or len(header.shape) != 2 \
            or header.shape[1] != layout.n_params:
        raise ZooImportError(f"{path}: {header.dtype} {header.shape}; flat weights are a "
                             f"little-endian float32 or float64 array [models, "
                             f"{layout.n_params}] ({layout.architecture})")
    if header.shape[0] == 0 or header.shape[0] > MAX_MODELS:
        raise ZooImportError(f"{path}: {header.shape[0]} models; give 1 to {MAX_MODELS}")
    weights = torch.from_numpy(np.array(memory_map_npy(path, header), dtype=np.float32))
    return weights, [f"row_{i}" for i in range(len(weights))]


def load_audited(entries: list[dict], layout: ParameterLayout) -> dict[str, torch.Tensor]:
    """``{name: weights}`` of the config's ``novelty_frontier.audit`` entries (one zoo's)."""
    return {e["name"]: load_model_files(e["path"], layout)[0] for e in entries}
