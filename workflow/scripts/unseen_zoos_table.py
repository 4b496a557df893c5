"""2022 Table 3 (unseen zoos) from the per-pair results of the unseen_zoos rule."""

from pathlib import Path

import pandas as pd

from hyperreps.jobs import start
from hyperreps.tables import write_table
from hyperreps.generative.unseen_zoos import unseen_zoo_table

job = start(snakemake)
out = snakemake.output
models = pd.concat([pd.read_csv(Path(d) / "models.csv") for d in snakemake.input])
ens = pd.concat([pd.read_csv(Path(d) / "ensembles.csv") for d in snakemake.input])
table = unseen_zoo_table(models, ens)
write_table(table, out.table, floatfmt=".3g",
            caption="2022 Table 3: test accuracy (%) of models sampled (S_KDE30) from the "
            "hyper-representation of the training zoo with anchors from the unseen "
            "conditioning zoo, mean / max over the models (one model) and over random "
            "ensembles; epoch 0 = as decoded (the paper's table), later epochs fine-tuned "
            "with the conditioning zoo's hyperparameters, beside B_T after as many epochs; "
            "Mann-Whitney U of the single models against B_T.")
job.log.info("\n%s", table.to_string())
