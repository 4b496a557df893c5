"""2022 Fig. 6: fine-tune test models and their reconstructions side by side."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.autoencoder.train import decode_latents, encode_weights  # noqa: E402
from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.figures.generative import plot_reconstructed_finetuning  # noqa: E402
from hyperreps.finetune import finetune_settings, reconstructed_vs_original  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
p, name = snakemake.params, snakemake.wildcards.zoo  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
model, info, _ = load_autoencoder(snakemake.input.autoencoder)  # noqa: F821
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
w = zoo.select(split["test"]).finite_at(p.epoch)[0].float()
w_hat = decode_latents(model, encode_weights(model, w, device=device), device=device)
hp = finetune_settings(zoo)
acc, dist = reconstructed_vs_original(w, w_hat, hp, data, p.epochs, p.seed, zoo.layout, device)
acc.insert(0, "zoo", name)
summary = (acc.groupby(["population", "epoch"])["test_acc"]
           .agg(["mean", "std", "median", "count"]).reset_index())
d = dist.groupby("epoch")[["distance", "cosine", "displacement_cosine"]].median().reset_index()
table = summary.pivot(index="epoch", columns="population", values=["mean", "median"])
table.columns = [f"acc_{stat}_{pop}" for stat, pop in table.columns]
table = table.reset_index().merge(d.rename(columns=lambda c: c if c == "epoch" else
                                           f"median_{c}"), on="epoch")
write_table(table, snakemake.output.table, floatfmt=".4g",  # noqa: F821
            caption=f"2022 Fig. 6 on zoo {name}: its {len(w)} test models at epoch {p.epoch} (w) "
            f"and their reconstructions by the {info['variant']} autoencoder (w_hat), each "
            f"fine-tuned {p.epochs} epochs with the zoo's hyperparameters, the same seed per "
            "pair; test accuracy per epoch and the median distance, cosine similarity and "
            "cosine of the displacements from the start between each pair.")
plot_reconstructed_finetuning(acc, dist, f"{name}: original vs reconstructed under fine-tuning "
                              "(2022 Fig. 6)", snakemake.output.figure)  # noqa: F821
log.info("\n%s", table.round(4).to_string())
