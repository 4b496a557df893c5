"""2022 Table 3, one pair: sample for an unseen zoo with another zoo's autoencoder, evaluate
as decoded and fine-tuned, beside B_T."""

import json

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.data import DataSettings, load_dataset
from hyperreps.generative.finetune import finetune_populations, finetune_settings
from hyperreps.publish import staged_dir
from hyperreps.tables import write_csv
from hyperreps.generative.unseen_zoos import samples_for_zoo, unseen_zoo_accuracy
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
p, wc = snakemake.params, snakemake.wildcards
gen, unseen = p.generative, p.unseen_zoos
model, info, _ = load_autoencoder(snakemake.input.autoencoder)
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
weights, counts = samples_for_zoo(model, zoo, split, tuple(p.window), gen["n_models"],
                                  gen["seed"], gen["kde"], gen["top_fraction"], job.device)
job.log.info("%s autoencoder on zoo %s: %s", wc.source, wc.target, counts)
hp = finetune_settings(zoo)
epochs = sorted(unseen["epochs"])
tuned = finetune_populations({"S_KDE30": weights}, hp, data, max(epochs), gen["seed"],
                             device=job.device, layout=zoo.layout)
models, ensembles = unseen_zoo_accuracy(tuned, zoo, split, data.test, epochs, hp["activation"],
                                        unseen["ensemble_size"], gen["ensembles"]["draws"],
                                        gen["seed"], job.device)
for t in (models, ensembles):
    t.insert(0, "target", wc.target)
    t.insert(0, "source", wc.source)
with staged_dir(snakemake.output[0]) as tmp:
    write_csv(models, tmp / "models.csv")
    write_csv(ensembles, tmp / "ensembles.csv")
    (tmp / "info.json").write_text(json.dumps(dict(counts, source=wc.source, target=wc.target,
                                                   window=list(p.window)), indent=1))
job.log.info("\n%s", models.groupby(["population", "epoch"])["test_acc"].agg(["mean", "max"]))
job.log.info("\n%s", ensembles.to_string())
