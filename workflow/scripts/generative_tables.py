"""The paper's tables (1, 2, 10-13) and figures (4, 5, 7, 14-21) from every fine-tuning run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

import pandas as pd  # noqa: E402

from hyperreps.figures import (plot_accuracy_over_epochs, plot_ensembles,  # noqa: E402
                               plot_sampler_comparison)
from hyperreps.reports import (in_dataset_table, median_ci_table, mwu_table,  # noqa: E402
                               population_summary, transfer_table)
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.zoo import publish_dir, staging_dir  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
out = snakemake.output  # noqa: F821
epochs = list(snakemake.params.epochs)  # noqa: F821
last = snakemake.params.finetune_epochs  # noqa: F821
acc = pd.concat([pd.read_csv(p) for p in snakemake.input.accuracy], ignore_index=True)  # noqa: F821
ens = [pd.read_csv(p) for p in snakemake.input.ensembles]  # noqa: F821
novelty = ("nn_distance: mean Euclidean distance of a population's models (as sampled) to the "
           "nearest training checkpoint of the source zoo; nn_agreement: mean % of test images "
           "on which a model predicts as that checkpoint does.")
write_table(in_dataset_table(acc, epochs=(0, 1, last), bt_epochs=(last, 2 * last)),
            out.in_dataset, caption="Table 1: in-dataset, test accuracy in % (mean ± std) of "
            "each population as sampled (epoch 0) and fine-tuned; B_T trained from scratch. "
            + novelty)
write_table(transfer_table(acc, epochs=sorted({0, 1, 5, last})), out.transfer,
            caption="Table 2 / 000 Table 5: transfer, source zoo -> target data, test accuracy "
            "in % (mean ± std). " + novelty)
write_table(median_ci_table(acc, epochs), out.median_ci,
            caption="Tables 10/12: median test accuracy with bootstrapped 95% CI.")
write_table(mwu_table(acc, epochs, novelty_baselines=("N_noise", "N_avg")), out.mwu,
            caption="Tables 11/13: Mann-Whitney U p-value and CLES of each population vs B_T "
            "and B_F, and of each sampled population vs the novelty baselines N_noise and "
            "N_avg (CLES > 0.5: the population tends to be more accurate; compare their "
            "nn_distance in Table 1 for the novelty each buys).")
write_table(population_summary(acc), out.summary)

figures = staging_dir(Path(out.figures))
for (source, target), _ in acc.groupby(["source", "target"], sort=False):
    stem = f"{source}_to_{target}"
    for epoch in sorted({0, last}):
        plot_sampler_comparison(acc, source, target, epoch,
                                figures / f"sampler_comparison_{stem}_epoch{epoch}.png")
    plot_accuracy_over_epochs(acc, source, target, figures / f"accuracy_over_epochs_{stem}.png")
for table in ens:
    source = table["source"].iloc[0]
    plot_ensembles(table, source, figures / f"ensembles_{source}.png")
publish_dir(figures, Path(out.figures))
log.info("%d rows from %d runs; figures in %s", len(acc), len(snakemake.input.accuracy),  # noqa: F821
         out.figures)
