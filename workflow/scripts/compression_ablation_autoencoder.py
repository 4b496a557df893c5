"""2021 Table 5: train one autoencoder of the compression-ratio ablation (an objective at a
compression ratio) on a zoo and save it."""

from hyperreps.autoencoder.io import save_autoencoder
from hyperreps.autoencoder.train import train_zoo_autoencoder
from hyperreps.jobs import start
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
trained, extra = train_zoo_autoencoder(load_zoo(snakemake.input.zoo),
                                       load_split(snakemake.input.split),
                                       snakemake.params.autoencoder, snakemake.params.variant,
                                       snakemake.wildcards.zoo, job.device)
save_autoencoder(snakemake.output[0], trained, extra)
