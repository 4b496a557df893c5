"""Box plot of a zoo's test accuracy per epoch."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.figures.zoo import plot_zoo_accuracy  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
zoo = load_zoo(snakemake.input[0])  # noqa: F821
plot_zoo_accuracy(zoo, snakemake.output[0], snakemake.wildcards.zoo)  # noqa: F821
log.info("wrote %s", snakemake.output[0])  # noqa: F821
