"""The start of every Snakemake job of the workflow (``workflow/scripts/*.py``).

A script begins with ``job = start(snakemake)``: its standard error and ``logging`` go to the
rule's log file (tqdm bars and warnings included), torch and BLAS compute with the config's
``threads`` (passed as ``params.threads``) whatever cores Snakemake grants the job, so that a
table does not depend on ``--cores`` or ``--max-threads``, and ``job.device`` is the device the
config's ``device`` (passed as ``params.device``) resolves to.
Everything else a job needs arrives through the rule's ``params:``, so that
``--rerun-triggers params`` sees every config edit that changes a job.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import torch

from .device import resolve_device, set_cpu_threads


@dataclass
class Job:
    log: logging.Logger
    device: torch.device

    def warn(self, message: str) -> None:
        """A warning in the job's log and on the terminal that runs the workflow."""
        self.log.warning(message)
        print(f"WARNING: {message}", file=sys.__stderr__, flush=True)


def start(snakemake) -> Job:
    """Log to the rule's log file, compute with the config's threads, resolve the rule's
    device."""
    sys.stderr = open(snakemake.log[0], "a", buffering=1)  # open for the job's lifetime
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    threads = job_threads(snakemake)
    set_cpu_threads(threads)
    device = resolve_device(getattr(snakemake.params, "device", "cpu"))
    log = logging.getLogger(snakemake.rule)
    log.info("computing with %d thread(s); Snakemake granted %d", threads, snakemake.threads)
    return Job(log, device)


def job_threads(snakemake) -> int:
    """The threads a job computes with: ``params.threads`` (the config's ``threads``, on every
    rule that computes with torch); else the rule's own ``threads:``, which rules without the
    param leave at 1, a grant no ``--cores`` or ``--max-threads`` can change."""
    threads = getattr(snakemake.params, "threads", None)
    return int(threads) if threads is not None else int(snakemake.threads)
