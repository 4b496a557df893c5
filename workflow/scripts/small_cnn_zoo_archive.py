"""Write a trained zoo as a Small CNN Zoo archive (weights.npy, metrics.csv.gz, layout.csv:
Unterthiner et al.'s format, bias first and TensorFlow kernel order) at the configured steps."""

from hyperreps.jobs import start
from hyperreps.publish import staged_dir
from hyperreps.importers.small_cnn_zoo_archive import write_small_cnn_zoo, zoo_rows
from hyperreps.zoo import load_zoo

job = start(snakemake)
zoo = load_zoo(snakemake.input[0])
weights, metrics = zoo_rows(zoo, snakemake.params.steps)
with staged_dir(snakemake.output[0]) as tmp:
    write_small_cnn_zoo(tmp, weights, metrics, zoo.layout)
job.log.info("wrote %d runs x %d steps (%d rows) of %s as a Small CNN Zoo archive",
             zoo.n_models, len(weights) // zoo.n_models, len(weights), zoo.layout.architecture)
