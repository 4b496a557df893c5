"""Write a sampled population (as sampled: every model the novelty frontier measures, so that
``hyperreps audit`` of the folder gives the population's row of the frontier table) as plain
PyTorch state dicts, its test accuracy measured on the source zoo's data
(hyperreps.zoos.export)."""

from hyperreps.jobs import start
from hyperreps.data import DataSettings, load_dataset
from hyperreps.zoos.export import export_zoo, with_test_metrics
from hyperreps.generative.populations import load_populations, population_zoo
from hyperreps.zoo import load_zoo

job = start(snakemake)
wc = snakemake.wildcards
source = load_zoo(snakemake.input.zoo)
weights, info = load_populations(snakemake.input.populations, which="all")
pop = population_zoo(weights[wc.population], wc.population, source.layout, source.dataset,
                     info["activation"])
data = load_dataset(source.dataset, DataSettings.from_config(snakemake.params.data))
pop = with_test_metrics(pop, data, job.device)
n = export_zoo(pop, snakemake.output[0], source=f"population {wc.population} of zoo {wc.zoo}")
job.log.info("exported %d models of %s (mean test accuracy %.3f)", n, wc.population,
             float(pop.metadata["test_acc"].mean()))
