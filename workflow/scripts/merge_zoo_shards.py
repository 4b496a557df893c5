"""Merge the shards of a zoo into one zoo (checksums of every shard verified)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.zoo import load_zoo, merge_zoos, save_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
shards = [load_zoo(p) for p in snakemake.input]  # noqa: F821
zoo = merge_zoos(shards)
save_zoo(snakemake.output[0], zoo)  # noqa: F821
n_div = int(zoo.models()["diverged"].astype(bool).sum())
log.info("merged %d shards: %d models x %d epochs, %d diverged", len(shards), zoo.n_models,
         zoo.n_epochs, n_div)
