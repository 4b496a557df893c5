"""2021 App. Fig. 3 rows 2-5: accuracy vs mean weight, UMAPs coloured by hyperparameters."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.diagnostics import zoo_properties  # noqa: E402
from hyperreps.figures.zoo import plot_zoo_properties  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
name = snakemake.wildcards.zoo  # noqa: F821
zoo = load_zoo(snakemake.input[0])  # noqa: F821
props = zoo_properties(zoo)
plot_zoo_properties(props, f"zoo {name} ({zoo.dataset}): {len(props)} checkpoints (2021 App. "
                    "Fig. 3, rows 2-5)", snakemake.output[0])  # noqa: F821
log.info("correlation of accuracy and mean weight: %.3f",
         props[["test_acc", "mean_weight"]].corr().iloc[0, 1])
