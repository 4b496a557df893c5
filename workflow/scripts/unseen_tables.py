"""2022 Tables 3 and 4 from their per-pair results (the rule's name says which)."""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.figures.generative import plot_unseen_architectures  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.unseen import unseen_architecture_table, unseen_zoo_table  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
out = snakemake.output  # noqa: F821
if snakemake.rule == "table3_unseen_zoos":  # noqa: F821
    models = pd.concat([pd.read_csv(Path(d) / "models.csv") for d in snakemake.input])  # noqa: F821
    ens = pd.concat([pd.read_csv(Path(d) / "ensembles.csv") for d in snakemake.input])  # noqa: F821
    table = unseen_zoo_table(models, ens)
    write_table(table, out.table, floatfmt=".3g",
                caption="2022 Table 3: test accuracy (%) of models sampled (S_KDE30) from the "
                "hyper-representation of the training zoo with anchors from the unseen "
                "conditioning zoo, mean / max over the models (one model) and over random "
                "ensembles; epoch 0 = as decoded (the paper's table), later epochs fine-tuned "
                "with the conditioning zoo's hyperparameters, beside B_T after as many epochs; "
                "Mann-Whitney U of the single models against B_T.")
else:
    acc = pd.concat([pd.read_csv(f) for f in snakemake.input])  # noqa: F821
    epochs = snakemake.params.epochs  # noqa: F821
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
    log.info("\n%s", stats.to_string())
log.info("\n%s", table.to_string())
