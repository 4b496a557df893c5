"""Merge the shards of a zoo into one zoo (checksums of every shard verified)."""

from hyperreps.jobs import start
from hyperreps.zoo import load_zoo, merge_zoos, save_zoo

job = start(snakemake)
shards = [load_zoo(p) for p in snakemake.input]
zoo = merge_zoos(shards)
save_zoo(snakemake.output[0], zoo)
n_div = int(zoo.models()["diverged"].astype(bool).sum())
job.log.info("merged %d shards: %d models x %d epochs, %d diverged", len(shards), zoo.n_models,
             zoo.n_epochs, n_div)
