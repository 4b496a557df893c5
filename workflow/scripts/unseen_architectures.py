"""2022 Table 4, one architecture: S_KDE30 samples of the source zoo transplanted onto it and
trained on the target zoo's data beside random initialisation."""

from hyperreps.jobs import start
from hyperreps.architecture import get_architecture
from hyperreps.data import DataSettings, load_dataset
from hyperreps.generative.finetune import finetune_settings
from hyperreps.generative.populations import load_populations
from hyperreps.tables import write_csv
from hyperreps.generative.unseen_architectures import (unseen_architecture_accuracy,
                                                       unseen_architecture_run)
from hyperreps.zoo import load_zoo

job = start(snakemake)
wc = snakemake.wildcards
target = load_zoo(snakemake.input.target_zoo)
samples = load_populations(snakemake.input.populations)[0]["S_KDE30"]
data = load_dataset(target.dataset, DataSettings.from_config(snakemake.params.data))
arch = get_architecture(wc.architecture)
hp = finetune_settings(target)
epochs = max(snakemake.params.epochs)
job.log.info("%d S_KDE30 samples of %s (%d parameters) onto %s (%d) on %s's data, %d epochs: %s",
             len(samples), wc.source, samples.shape[1], arch.name, arch.n_params,
             wc.target, epochs, hp)
run = unseen_architecture_run(samples, arch, hp, data, epochs,
                              snakemake.params.seed, job.device, progress=True)
acc = unseen_architecture_accuracy(run)
for col, value in (("architecture", arch.name), ("target", wc.target), ("source", wc.source)):
    acc.insert(0, col, value)
write_csv(acc, snakemake.output[0])
job.log.info("\n%s", acc.groupby(["population", "epoch"])["test_acc"].agg(["mean", "std"]))
