"""2022 Fig. 6: fine-tune test models and their reconstructions side by side."""


from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.autoencoder.train import decode_latents, encode_weights
from hyperreps.data import DataSettings, load_dataset
from hyperreps.figures.generative import plot_reconstructed_finetuning
from hyperreps.generative.finetune import finetune_settings, reconstructed_finetuning
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
p, name = snakemake.params, snakemake.wildcards.zoo
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
model, info, _ = load_autoencoder(snakemake.input.autoencoder)
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
w = zoo.select(split["test"]).finite_at(p.epoch)[0].float()
w_hat = decode_latents(model, encode_weights(model, w, device=job.device), device=job.device)
hp = finetune_settings(zoo)
acc, dist = reconstructed_finetuning(w, w_hat, hp, data, p.epochs, p.seed, zoo.layout, job.device)
acc.insert(0, "zoo", name)
summary = (acc.groupby(["population", "epoch"])["test_acc"]
           .agg(["mean", "std", "median", "count"]).reset_index())
d = dist.groupby("epoch")[["distance", "cosine", "displacement_cosine"]].median().reset_index()
table = summary.pivot(index="epoch", columns="population", values=["mean", "median"])
table.columns = [f"acc_{stat}_{pop}" for stat, pop in table.columns]
table = table.reset_index().merge(d.rename(columns=lambda c: c if c == "epoch" else
                                           f"median_{c}"), on="epoch")
write_table(table, snakemake.output.table, floatfmt=".4g",
            caption=f"2022 Fig. 6 on zoo {name}: its {len(w)} test models at epoch {p.epoch} (w) "
            f"and their reconstructions by the {info['variant']} autoencoder (w_hat), each "
            f"fine-tuned {p.epochs} epochs with the zoo's hyperparameters, the same seed per "
            "pair; test accuracy per epoch and the median distance, cosine similarity and "
            "cosine of the displacements from the start between each pair.")
plot_reconstructed_finetuning(acc, dist, f"{name}: original vs reconstructed under fine-tuning "
                              "(2022 Fig. 6)", snakemake.output.figure)
job.log.info("\n%s", table.round(4).to_string())
