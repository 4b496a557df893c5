"""Reconstructed vs original models of the test split: R², accuracy, per-layer figure."""

import json
from pathlib import Path

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoders
from hyperreps.data import DataSettings, load_dataset
from hyperreps.figures.reconstruction import plot_layer_reconstruction
from hyperreps.representation.reconstruction import evaluate_reconstruction
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
zoo_name = snakemake.wildcards.zoo
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
autoencoders = load_autoencoders(snakemake.input.autoencoders)
epoch = snakemake.params.epoch
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
ceiling = json.loads(Path(snakemake.input.diagnostics).read_text())
result = evaluate_reconstruction(zoo, split, autoencoders, data.test, epoch, job.device,
                                 ceiling=ceiling["ceiling_by_width"])
caption = (f"Reconstruction of zoo {zoo_name}: test-split models at epoch {epoch}, original vs "
           "decoded by each autoencoder; accuracy on the test images. R² two ways: r2_<split> "
           "in raw weight space (1 - MSE / MSE of the training mean), r2_lwln_<split> on "
           "weights scaled by their layer's training std (the reference's 1 - loss/loss_mean "
           "with the LWLN loss), both on the training window's checkpoints per split; "
           "r2_lwln_epoch and r2_epoch_<layer> (raw, per layer) on these models; pca_ceiling: the "
           "held-out R² of a PCA code of the autoencoder's width (zoo diagnostics), "
           "of_ceiling = r2_test / pca_ceiling.")
write_table(result.table, snakemake.output.table, caption=caption)
# the R² baseline of the table's r2_epoch_<layer>: the training models' mean, the same for
# every variant (all are trained on the zoo's one window of its training split)
train_mean = next(iter(autoencoders.values()))[2]["train_mean"]
plot_layer_reconstruction(result.original, result.reconstructed, result.layer_slices,
                          result.acc_original, result.acc_reconstructed, train_mean,
                          snakemake.output.figure,
                          title=f"{zoo_name}: test models at epoch {epoch}, "
                                "original vs reconstructed")
job.log.info("\n%s", result.table.to_string())
