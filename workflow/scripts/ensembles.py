"""Ensembles of 1..K models of a population (mean of softmax outputs), 2022 Fig. 5."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

import pandas as pd  # noqa: E402

from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.finetune import ensemble_accuracy  # noqa: E402
from hyperreps.tables import write_csv  # noqa: E402
from hyperreps.trainer.evaluate import class_probabilities  # noqa: E402
from hyperreps.zoo import load_zoo, single_setting  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
ens = snakemake.params.ensembles  # noqa: F821
tuned = load_zoo(snakemake.input.finetuned)  # noqa: F821
target = load_zoo(snakemake.input.target_zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.target_split).read_text())  # noqa: F821
data = load_dataset(target.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
info = json.loads(Path(snakemake.input.info).read_text())  # noqa: F821
activation = info["hyperparameters"]["activation"]  # the target's, as fine-tuned
pops = tuned.models().groupby("population").groups
bt = target.select(split["test"])
last = tuned.n_epochs - 1
rows = []
for name in ens["populations"]:
    for epoch in sorted({0, last}):
        if name == "B_T":
            if epoch >= bt.n_epochs:
                continue
            w, act = bt.weights[:, epoch], single_setting(bt, "activation")
        elif name in pops:
            w, act = tuned.weights[list(pops[name]), epoch], activation
        else:  # the config check refuses this before any job
            raise ValueError(f"ensembles.populations: {name} was not sampled")
        probs = class_probabilities(w, act, data.test, device, bt.layout)
        curve = ensemble_accuracy(probs, data.test.y, ens["max_size"], ens["draws"], seed=epoch)
        curve.insert(0, "epoch", epoch)
        curve.insert(0, "population", name)
        rows.append(curve)
table = pd.concat(rows, ignore_index=True)
table.insert(0, "source", snakemake.wildcards.zoo)  # noqa: F821
write_csv(table, snakemake.output[0])  # noqa: F821
log.info("\n%s", table.to_string())
