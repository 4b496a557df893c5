"""2022 Table 4, one architecture: S_KDE30 samples of the source zoo transplanted onto it and
trained on the target zoo's data beside random initialisation."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.architecture import get_architecture  # noqa: E402
from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.finetune import finetune_settings  # noqa: E402
from hyperreps.tables import write_csv  # noqa: E402
from hyperreps.unseen import unseen_architecture_accuracy, unseen_architecture_run  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
wc = snakemake.wildcards  # noqa: F821
target = load_zoo(snakemake.input.target_zoo)  # noqa: F821
samples = load_zoo(Path(snakemake.input.populations) / "S_KDE30")  # noqa: F821
data = load_dataset(target.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
arch = get_architecture(wc.architecture)
hp = finetune_settings(target)
epochs = max(snakemake.params.epochs)  # noqa: F821
log.info("%d S_KDE30 samples of %s (%d parameters) onto %s (%d) on %s's data, %d epochs: %s",
         samples.n_models, wc.source, samples.layout.n_params, arch.name, arch.n_params,
         wc.target, epochs, hp)
run = unseen_architecture_run(samples.weights[:, 0], arch, hp, data, epochs,
                              snakemake.config["generative"]["seed"], device, progress=True)  # noqa: F821
acc = unseen_architecture_accuracy(run)
for col, value in (("architecture", arch.name), ("target", wc.target), ("source", wc.source)):
    acc.insert(0, col, value)
write_csv(acc, snakemake.output[0])  # noqa: F821
log.info("\n%s", acc.groupby(["population", "epoch"])["test_acc"].agg(["mean", "std"]))
