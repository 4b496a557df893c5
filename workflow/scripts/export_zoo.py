"""Write a zoo's models at its last epoch as plain PyTorch state dicts (hyperreps.zoos.export)."""

from hyperreps.jobs import start
from hyperreps.zoos.export import export_zoo
from hyperreps.zoo import load_zoo

job = start(snakemake)
zoo = load_zoo(snakemake.input[0])
n = export_zoo(zoo, snakemake.output[0], source=f"zoo {snakemake.wildcards.zoo}")
job.log.info("exported %d of %d models of zoo %s at epoch %d", n, zoo.n_models,
             snakemake.wildcards.zoo, int(zoo.epochs[-1]))
