"""Fine-tune every population of a source zoo on a target zoo's data with the target zoo's
hyperparameters (activation included); record accuracy per epoch and each model's novelty
(nearest source training checkpoint)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.finetune import accuracy_table, finetune_populations, finetune_settings  # noqa: E402
from hyperreps.populations import novelty  # noqa: E402
from hyperreps.tables import write_csv  # noqa: E402
from hyperreps.zoo import checkpoint_sets, load_zoo, save_zoo, write_json_atomic  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
p = snakemake.params  # noqa: F821
pop_dir = Path(snakemake.input.populations)  # noqa: F821
meta = json.loads((pop_dir / "populations.json").read_text())
populations = {name: load_zoo(pop_dir / name).weights[:, 0] for name in meta["populations"]}
source = load_zoo(snakemake.input.source_zoo)  # noqa: F821
source_split = json.loads(Path(snakemake.input.source_split).read_text())  # noqa: F821
anchors = checkpoint_sets(source, source_split, tuple(p.window))["train"]
target = load_zoo(snakemake.input.target_zoo)  # noqa: F821
target_split = json.loads(Path(snakemake.input.target_split).read_text())  # noqa: F821
data = load_dataset(target.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821

stacked = torch.cat(list(populations.values()))
dist, _, agree = novelty(stacked, anchors, meta["activation"], data.test, device,
                         target.layout)
log.info("novelty: median distance to the nearest training checkpoint %s",
         {k: float(np.nanmedian(d)) for k, d in zip(
             populations, np.split(dist, np.cumsum([len(w) for w in populations.values()])[:-1]))})
hp = finetune_settings(target)
log.info("fine-tuning with the target zoo's hyperparameters %s (the source's activation: %s)",
         hp, meta["activation"])
resume = Path(p.resume)
tuned = finetune_populations(populations, hp, data, p.epochs, p.seed,
                             p.target.get("data_order", "per_model"), device, progress=True,
                             checkpoint=resume, layout=target.layout)
save_zoo(snakemake.output.zoo, tuned)  # noqa: F821
resume.unlink(missing_ok=True)
table = accuracy_table(tuned, target, target_split, {"nn_distance": dist, "nn_agreement": agree})
table.insert(0, "target", snakemake.wildcards.target)  # noqa: F821
table.insert(0, "source", snakemake.wildcards.source)  # noqa: F821
write_csv(table, snakemake.output.accuracy)  # noqa: F821
write_json_atomic(snakemake.output.info, {  # noqa: F821
    "source": snakemake.wildcards.source, "target": snakemake.wildcards.target,  # noqa: F821
    "source_activation": meta["activation"], "hyperparameters": hp, "epochs": p.epochs,
    "n_anchors": len(anchors)})
summary = table.groupby(["population", "epoch"])["test_acc"].mean().unstack()
log.info("mean test accuracy per population and epoch:\n%s", summary.round(3).to_string())
