"""Reconstructed vs original models of the test split: R², accuracy, per-layer figure."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.figures.autoencoder import plot_layer_reconstruction  # noqa: E402
from hyperreps.reconstruction import evaluate_reconstruction  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
zoo_name = snakemake.wildcards.zoo  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
autoencoders = {}
for path in snakemake.input.autoencoders:  # noqa: F821
    model, info, tensors = load_autoencoder(path)
    autoencoders[info["variant"]] = (model, info, tensors)
epoch = snakemake.params.epoch  # noqa: F821
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
ceiling = json.loads(Path(snakemake.input.diagnostics).read_text())  # noqa: F821
result = evaluate_reconstruction(zoo, split, autoencoders, data.test, epoch, device,
                                 ceiling=ceiling["ceiling_by_width"])
caption = (f"Reconstruction of zoo {zoo_name}: test-split models at epoch {epoch}, original vs "
           "decoded by each autoencoder; accuracy on the test images. R² two ways: r2_<split> "
           "in raw weight space (1 - MSE / MSE of the training mean), r2_lwln_<split> on "
           "weights scaled by their layer's training std (the reference's 1 - loss/loss_mean "
           "with the LWLN loss), both on the training window's checkpoints per split; "
           "r2_lwln_epoch and r2_epoch_<layer> (raw, per layer) on these models; pca_ceiling: the "
           "held-out R² of a PCA code of the autoencoder's width (zoo diagnostics), "
           "of_ceiling = r2_test / pca_ceiling.")
write_table(result.table, snakemake.output.table, caption=caption)  # noqa: F821
# the R² baseline of the table's r2_epoch_<layer>: the training models' mean, the same for
# every variant (all are trained on the zoo's one window of its training split)
train_mean = next(iter(autoencoders.values()))[2]["train_mean"]
plot_layer_reconstruction(result.original, result.reconstructed, result.layer_slices,
                          result.acc_original, result.acc_reconstructed, train_mean,
                          snakemake.output.figure,  # noqa: F821
                          title=f"{zoo_name}: test models at epoch {epoch}, original vs reconstructed")
log.info("\n%s", result.table.to_string())
