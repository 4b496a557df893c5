"""Box plot of a zoo's test accuracy per epoch."""

from hyperreps.jobs import start
from hyperreps.figures.zoos import plot_zoo_accuracy
from hyperreps.zoo import load_zoo

job = start(snakemake)
zoo = load_zoo(snakemake.input[0])
plot_zoo_accuracy(zoo, snakemake.output[0], snakemake.wildcards.zoo)
job.log.info("wrote %s", snakemake.output[0])
