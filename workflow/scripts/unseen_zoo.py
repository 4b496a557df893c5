"""2022 Table 3, one pair: sample for an unseen zoo with another zoo's autoencoder, evaluate
as decoded and fine-tuned, beside B_T."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.finetune import finetune_populations, finetune_settings  # noqa: E402
from hyperreps.publish import staged_dir  # noqa: E402
from hyperreps.tables import write_csv  # noqa: E402
from hyperreps.unseen import samples_for_zoo, unseen_zoo_accuracy  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
p, wc = snakemake.params, snakemake.wildcards  # noqa: F821
gen, unseen = snakemake.config["generative"], snakemake.config["unseen_zoos"]  # noqa: F821
model, info, _ = load_autoencoder(snakemake.input.autoencoder)  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
weights, counts = samples_for_zoo(model, zoo, split, tuple(p.window), gen["n_models"],
                                  gen["seed"], gen["kde"], gen["top_fraction"], device)
log.info("%s autoencoder on zoo %s: %s", wc.source, wc.target, counts)
hp = finetune_settings(zoo)
epochs = sorted(unseen["epochs"])
tuned = finetune_populations({"S_KDE30": weights}, hp, data, max(epochs), gen["seed"],
                             device=device, layout=zoo.layout)
models, ensembles = unseen_zoo_accuracy(tuned, zoo, split, data.test, epochs, hp["activation"],
                                        unseen["ensemble_size"], gen["ensembles"]["draws"],
                                        gen["seed"], device)
for t in (models, ensembles):
    t.insert(0, "target", wc.target)
    t.insert(0, "source", wc.source)
with staged_dir(snakemake.output[0]) as tmp:  # noqa: F821
    write_csv(models, tmp / "models.csv")
    write_csv(ensembles, tmp / "ensembles.csv")
    (tmp / "info.json").write_text(json.dumps(dict(counts, source=wc.source, target=wc.target,
                                                   window=list(p.window)), indent=1))
log.info("\n%s", models.groupby(["population", "epoch"])["test_acc"].agg(["mean", "max"]))
log.info("\n%s", ensembles.to_string())
