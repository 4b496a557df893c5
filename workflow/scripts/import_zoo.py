"""Import a zoo from the reference Ray Tune layout (untrusted files: no unpickling)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.data import dataset_info  # noqa: E402
from hyperreps.importers import import_raytune_zoo  # noqa: E402
from hyperreps.zoo import save_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
cfg = snakemake.params.zoo  # noqa: F821
zoo = import_raytune_zoo(cfg["import_from"], cfg["dataset"], dataset_info(cfg["dataset"]).channels)
save_zoo(snakemake.output[0], zoo)  # noqa: F821
log.info("imported %d models x %d epochs from %s", zoo.n_models, zoo.n_epochs, cfg["import_from"])
