"""Train one shard of a zoo (one vectorised population), the models the workflow planned for
it, and write it in the zoo format."""

from pathlib import Path

from hyperreps.data import DataSettings
from hyperreps.jobs import start
from hyperreps.zoos.shards import train_zoo_shard
from hyperreps.zoo import save_zoo

job = start(snakemake)
resume = Path(snakemake.params.resume)
zoo = train_zoo_shard(snakemake.params.rows, snakemake.params.training,
                      snakemake.params.architecture, int(snakemake.wildcards.shard),
                      snakemake.wildcards.zoo, DataSettings.from_config(snakemake.params.data),
                      job.device, checkpoint=resume)
save_zoo(snakemake.output[0], zoo)
resume.unlink(missing_ok=True)  # the shard is stored: the per-epoch training state is spent
job.log.info("wrote %s (%d models x %d epochs)", snakemake.output[0], zoo.n_models, zoo.n_epochs)
