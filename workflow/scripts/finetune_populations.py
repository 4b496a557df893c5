"""Fine-tune every population of a source zoo on a target zoo's data with the target zoo's
hyperparameters (activation included); record accuracy per epoch and each model's novelty
(nearest source training checkpoint)."""

from pathlib import Path

import numpy as np
import torch

from hyperreps.jobs import start
from hyperreps.data import DataSettings, load_dataset
from hyperreps.generative.finetune import accuracy_table, finetune_populations, finetune_settings
from hyperreps.generative.populations import load_populations, novelty
from hyperreps.tables import write_csv
from hyperreps.zoo import load_zoo, save_zoo
from hyperreps.splits import checkpoint_sets, load_split
from hyperreps.publish import write_json

job = start(snakemake)
p = snakemake.params
populations, meta = load_populations(snakemake.input.populations)
source = load_zoo(snakemake.input.source_zoo)
source_split = load_split(snakemake.input.source_split)
anchors = checkpoint_sets(source, source_split, tuple(p.window))["train"]
target = load_zoo(snakemake.input.target_zoo)
target_split = load_split(snakemake.input.target_split)
data = load_dataset(target.dataset, DataSettings.from_config(snakemake.params.data))

stacked = torch.cat(list(populations.values()))
dist, _, agree = novelty(stacked, anchors, meta["activation"], data.test, job.device,
                         target.layout)
per_population = np.split(dist, np.cumsum([len(w) for w in populations.values()])[:-1])
job.log.info("novelty: median distance to the nearest training checkpoint %s",
             {k: float(np.nanmedian(d)) for k, d in zip(populations, per_population)})
hp = finetune_settings(target)
job.log.info("fine-tuning with the target zoo's hyperparameters %s (the source's activation: %s)",
             hp, meta["activation"])
resume = Path(p.resume)
tuned = finetune_populations(populations, hp, data, p.epochs, p.seed,
                             p.target.get("data_order", "per_model"), job.device, progress=True,
                             checkpoint=resume, layout=target.layout)
save_zoo(snakemake.output.zoo, tuned)
resume.unlink(missing_ok=True)
table = accuracy_table(tuned, target, target_split, {"nn_distance": dist, "nn_agreement": agree})
table.insert(0, "target", snakemake.wildcards.target)
table.insert(0, "source", snakemake.wildcards.source)
write_csv(table, snakemake.output.accuracy)
write_json(snakemake.output.info, {
    "source": snakemake.wildcards.source, "target": snakemake.wildcards.target,
    "source_activation": meta["activation"], "hyperparameters": hp, "epochs": p.epochs,
    "n_anchors": len(anchors)})
summary = table.groupby(["population", "epoch"])["test_acc"].mean().unstack()
job.log.info("mean test accuracy per population and epoch:\n%s", summary.round(3).to_string())
