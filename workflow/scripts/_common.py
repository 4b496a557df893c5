"""Shared start-up of the Snakemake scripts: log to the rule's log file."""

import logging
import sys


def setup_logging(snakemake):
    log_path = snakemake.log[0]
    sys.stderr = open(log_path, "a", buffering=1)  # tqdm and warnings land in the log too
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    return logging.getLogger(snakemake.rule)


def warn_loudly(log, message: str) -> None:
    """A warning in the job's log and on the terminal that runs the workflow."""
    log.warning(message)
    print(f"WARNING: {message}", file=sys.__stderr__, flush=True)
