"""Ensembles of 1..K models of a population (mean of softmax outputs), 2022 Fig. 5."""

import json
from pathlib import Path

import pandas as pd

from hyperreps.jobs import start
from hyperreps.data import DataSettings, load_dataset
from hyperreps.generative.finetune import ensemble_accuracy
from hyperreps.tables import write_csv
from hyperreps.trainer.evaluate import class_probabilities
from hyperreps.zoo import load_zoo, single_setting
from hyperreps.splits import load_split

job = start(snakemake)
ens = snakemake.params.ensembles
tuned = load_zoo(snakemake.input.finetuned)
target = load_zoo(snakemake.input.target_zoo)
split = load_split(snakemake.input.target_split)
data = load_dataset(target.dataset, DataSettings.from_config(snakemake.params.data))
info = json.loads(Path(snakemake.input.info).read_text())
activation = info["hyperparameters"]["activation"]  # the target's, as fine-tuned
pops = tuned.models().groupby("population").groups
bt = target.select(split["test"])
last = tuned.n_epochs - 1
rows = []
for name in ens["populations"]:
    for epoch in sorted({0, last}):
        if name == "B_T":
            if epoch not in bt.epochs:
                continue
            w, act = bt.weights[:, bt.position(epoch)], single_setting(bt, "activation")
        elif name in pops:
            w, act = tuned.weights[list(pops[name]), epoch], activation
        else:  # the config check refuses this before any job
            raise ValueError(f"ensembles.populations: {name} was not sampled")
        probs = class_probabilities(w, act, data.test, job.device, bt.layout)
        curve = ensemble_accuracy(probs, data.test.y, ens["max_size"], ens["draws"], seed=epoch)
        curve.insert(0, "epoch", epoch)
        curve.insert(0, "population", name)
        rows.append(curve)
table = pd.concat(rows, ignore_index=True)
table.insert(0, "source", snakemake.wildcards.zoo)
write_csv(table, snakemake.output[0])
job.log.info("\n%s", table.to_string())
