"""Permutation equivalence on real data (2021 App. A, App. Fig. 1): table and figure."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.architecture import get_architecture  # noqa: E402
from hyperreps.config.plan import expand_models  # noqa: E402
from hyperreps.config.queries import zoo_architecture  # noqa: E402
from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.equivalence import equivalence_settings, permutation_equivalence  # noqa: E402
from hyperreps.figures.zoo import plot_permutation_equivalence  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
cfg, epochs, name = snakemake.params.zoo, snakemake.params.epochs, snakemake.wildcards.zoo  # noqa: F821
model = expand_models(cfg)[0]
spec, settings = equivalence_settings(model, epochs)
data = load_dataset(cfg["dataset"], DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
table = permutation_equivalence(spec, settings, data, seed=model["seed"], device=device,
                                layout=get_architecture(zoo_architecture(cfg)).layout)
write_table(table, snakemake.output.table, floatfmt=".4g",  # noqa: F821
            caption=f"Permutation equivalence on zoo {name} (2021 App. A): model A (seed "
            f"{model['seed']}, {settings.activation}, {spec.init}, {settings.optimizer} lr "
            f"{spec.lr}), Ap = A permuted at every epoch, B trained from Ap's epoch 0; "
            "max_abs_diff = max |B - P(A)| over the weights, rel_diff = that / max |A|.")
title = (f"{name}: lr {spec.lr}, {spec.init} init, {settings.optimizer}, "
         f"batch {settings.batch_size}")
plot_permutation_equivalence(table, title, snakemake.output.figure)  # noqa: F821
last = table.iloc[-1]
log.info("forward: max |acc(Ap) - acc(A)| = %.3g; backward: max |B - P(A)| after epoch 1 %.3g, "
         "after epoch %d %.3g (relative %.3g)",
         float((table.test_acc_Ap - table.test_acc_A).abs().max()),
         float(table.max_abs_diff.iloc[min(1, len(table) - 1)]), int(last.epoch),
         float(last.max_abs_diff), float(last.rel_diff))
