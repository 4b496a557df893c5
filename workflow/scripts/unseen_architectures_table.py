"""2022 Table 4 (unseen architectures) and its figure from the per-run results of the
unseen_architectures rule."""

import pandas as pd

from hyperreps.figures.generative import plot_unseen_architectures
from hyperreps.jobs import start
from hyperreps.tables import write_table
from hyperreps.generative.unseen_architectures import unseen_architecture_table

job = start(snakemake)
out = snakemake.output
acc = pd.concat([pd.read_csv(f) for f in snakemake.input])
epochs = snakemake.params.epochs
table, stats = unseen_architecture_table(acc, epochs)
write_table(table, out.table,
            caption="2022 Table 4: test accuracy (%, mean ± std) on the target of "
            "populations with generated weights (gen.: the source zoo's S_KDE30 samples) "
            "against random initialisation (r.i.), best per epoch in bold; extra parameters "
            "(cnn3_resskip's 1x1 branches) are randomly initialised in both.")
write_table(stats, out.stats, floatfmt=".4g",
            caption="2022 Table 4, statistics: medians, Mann-Whitney U p-value and CLES "
            "(probability that a gen. model beats an r.i. model) per epoch.")
plot_unseen_architectures(acc, out.figure)
job.log.info("\n%s", stats.to_string())
job.log.info("\n%s", table.to_string())
