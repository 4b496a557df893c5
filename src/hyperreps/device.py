"""Pick the compute device: CUDA when present (config ``device: auto``), CPU otherwise."""

from __future__ import annotations

import os

import torch


def resolve_device(setting: str = "auto") -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config 'device: cuda' but no CUDA device is visible")
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def set_cpu_threads(threads: int | None) -> None:
    """Use the job's cores: Snakemake exports OMP_NUM_THREADS = the rule's threads."""
    n = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or os.cpu_count() or 1
    torch.set_num_threads(max(1, int(n)))
