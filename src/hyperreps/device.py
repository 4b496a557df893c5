"""Pick the compute device: CUDA when present (config ``device: auto``), CPU otherwise."""

from __future__ import annotations

import os

import torch
from threadpoolctl import threadpool_limits  # a scikit-learn dependency


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


# What Snakemake exports as the job's granted threads (snakemake/shell.py): the thread pools of
# OpenMP, OpenBLAS, MKL, Accelerate and numexpr read them when their library loads. And numba's
# (UMAP's, imported late): its OpenMP layer starts with NUMBA_NUM_THREADS (else all the
# machine's cores) and sets the OpenMP thread count torch shares, for the rest of the job.
THREAD_ENV = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")


def set_cpu_threads(threads: int) -> None:
    """Compute with ``threads`` threads in every pool a job uses: torch's intra-op pool
    (OpenMP, MKL, oneDNN), and the BLAS of numpy, scipy and scikit-learn, those loaded already
    (threadpoolctl) and those loaded later (the environment, which child processes inherit).

    A parallel float sum adds in an order that depends on the thread count, so the count is a
    setting of the computation (config ``threads``), not the cores Snakemake grants the job:
    Snakemake exports its grant as OMP_NUM_THREADS & co., which this overrides. (torch's
    inter-op pool only runs independent ops side by side, each with the intra-op threads:
    it changes no result and is left as it is.)"""
    n = int(threads)
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}")
    for key in THREAD_ENV:
        os.environ[key] = str(n)
    torch.set_num_threads(n)
    threadpool_limits(limits=n)  # not a context: the limit holds for the job's lifetime


# glibc returns buffers above 32 MB to the kernel on every free; a population's activations
# (e.g. 23 MB for conv1 at 128 models x batch 10) are then page-faulted in anew on every step.
# Raising both thresholds keeps them in the heap: about 1.4x faster CPU training, at the cost
# of a higher retained RSS. glibc reads these at process start only, so the Snakefile exports
# them for every job and the benchmark re-executes itself with them.
CPU_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "4000000000", "MALLOC_TRIM_THRESHOLD_": "4000000000"}


def malloc_env_missing() -> bool:
    return any(os.environ.get(k) != v for k, v in CPU_MALLOC_ENV.items())
