"""Pick the compute device: CUDA when present (config ``device: auto``), CPU otherwise."""

from __future__ import annotations

import os

import torch


def resolve_device(setting: "str | torch.device" = "auto") -> torch.device:
    if isinstance(setting, torch.device):
        return setting
    problem = cuda_problem(setting)
    if problem:
        raise RuntimeError(problem)
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def cuda_problem(setting: str) -> str | None:
    """What is wrong with ``device: cuda`` here (no GPU visible to this process), else None."""
    if setting != "cuda" or torch.cuda.is_available():
        return None
    return ("config 'device: cuda' but no CUDA device is visible here (CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}): run on a machine with a GPU, "
            "submit with a cluster profile whose jobs get one, or set device: auto (CUDA when "
            "present, else CPU) or device: cpu")


def set_cpu_threads(threads: int | None) -> None:
    """Use the job's cores: Snakemake exports OMP_NUM_THREADS = the rule's threads."""
    n = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or os.cpu_count() or 1
    torch.set_num_threads(max(1, int(n)))


# glibc returns buffers above 32 MB to the kernel on every free; a population's activations
# (e.g. 23 MB for conv1 at 128 models x batch 10) are then page-faulted in anew on every step.
# Raising both thresholds keeps them in the heap: about 1.4x faster CPU training, at the cost
# of a higher retained RSS. glibc reads these at process start only, so the Snakefile exports
# them for every job and the benchmark re-executes itself with them.
CPU_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4000000000", "MALLOC_TRIM_THRESHOLD_": "4000000000"}


def malloc_env_missing() -> bool:
    return any(os.environ.get(k) != v for k, v in CPU_MALLOC_ENV.items())
