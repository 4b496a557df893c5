"""Permutation equivalence on real data (2021 App. A, App. Fig. 1): table and figure."""

from hyperreps.jobs import start
from hyperreps.architecture import get_architecture
from hyperreps.config.plan import expand_models
from hyperreps.config.queries import zoo_architecture
from hyperreps.data import DataSettings, load_dataset
from hyperreps.zoos.permutation_equivalence import equivalence_settings, permutation_equivalence
from hyperreps.figures.zoos import plot_permutation_equivalence
from hyperreps.tables import write_table

job = start(snakemake)
cfg, epochs, name = snakemake.params.zoo, snakemake.params.epochs, snakemake.wildcards.zoo
model = expand_models(cfg)[0]
spec, settings = equivalence_settings(model, epochs)
data = load_dataset(cfg["dataset"], DataSettings.from_config(snakemake.params.data))
table = permutation_equivalence(spec, settings, data, seed=model["seed"], device=job.device,
                                layout=get_architecture(zoo_architecture(cfg)).layout)
write_table(table, snakemake.output.table, floatfmt=".4g",
            caption=f"Permutation equivalence on zoo {name} (2021 App. A): model A (seed "
            f"{model['seed']}, {settings.activation}, {spec.init}, {settings.optimizer} lr "
            f"{spec.lr}), Ap = A permuted at every epoch, B trained from Ap's epoch 0; "
            "max_abs_diff = max |B - P(A)| over the weights, rel_diff = that / max |A|.")
title = (f"{name}: lr {spec.lr}, {spec.init} init, {settings.optimizer}, "
         f"batch {settings.batch_size}")
plot_permutation_equivalence(table, title, snakemake.output.figure)
last = table.iloc[-1]
job.log.info("forward: max |acc(Ap) - acc(A)| = %.3g; backward: max |B - P(A)| after epoch 1 %.3g, "
             "after epoch %d %.3g (relative %.3g)",
             float((table.test_acc_Ap - table.test_acc_A).abs().max()),
             float(table.max_abs_diff.iloc[min(1, len(table) - 1)]), int(last.epoch),
             float(last.max_abs_diff), float(last.rel_diff))
