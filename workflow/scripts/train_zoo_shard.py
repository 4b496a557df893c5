"""Train one shard of a zoo (one vectorised population) and write it in the zoo format."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.trainer.zoo_shard import train_zoo_shard  # noqa: E402
from hyperreps.zoo import save_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
resume = Path(snakemake.params.resume)  # noqa: F821
zoo = train_zoo_shard(snakemake.config, snakemake.wildcards.zoo,  # noqa: F821
                      int(snakemake.wildcards.shard), device, checkpoint=resume)  # noqa: F821
save_zoo(snakemake.output[0], zoo)  # noqa: F821
resume.unlink(missing_ok=True)  # the shard is stored: the per-epoch training state is spent
log.info("wrote %s (%d models x %d epochs)", snakemake.output[0], zoo.n_models, zoo.n_epochs)  # noqa: F821
