"""2021 App. Fig. 3 rows 2-5: accuracy vs mean weight, UMAPs coloured by hyperparameters."""

from hyperreps.jobs import start
from hyperreps.zoos.diagnostics import zoo_properties
from hyperreps.figures.zoos import plot_zoo_properties
from hyperreps.zoo import load_zoo

job = start(snakemake)
name = snakemake.wildcards.zoo
zoo = load_zoo(snakemake.input[0])
props = zoo_properties(zoo)
plot_zoo_properties(props, f"zoo {name} ({zoo.dataset}): {len(props)} checkpoints (2021 App. "
                    "Fig. 3, rows 2-5)", snakemake.output[0])
job.log.info("correlation of accuracy and mean weight: %.3f",
             props[["test_acc", "mean_weight"]].corr().iloc[0, 1])
