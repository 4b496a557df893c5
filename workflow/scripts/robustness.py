"""Robustness and smoothness of a zoo's hyper-representations (2022 §4.2.1, Fig. 3)."""


import pandas as pd

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.data import DataSettings, load_dataset
from hyperreps.figures.reconstruction import plot_robustness_smoothness
from hyperreps.representation.robustness import (interpolation_smoothness, noise_robustness,
                                                 smoothness_summary)
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
p, name = snakemake.params, snakemake.wildcards.zoo
cfg = snakemake.params.robustness
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
noise, smooth = [], []
for path in snakemake.input.autoencoders:
    model, info, tensors = load_autoencoder(path)
    variant = info["variant"]
    n = noise_robustness(model, tensors["train_mean"], zoo, split, data.test, p.epoch,
                         cfg["noise_levels"], cfg["seed"], job.device)
    n.insert(0, "variant", variant)
    noise.append(n)
    curves = interpolation_smoothness(model, zoo, split, data.test, tuple(p.trajectory),
                                      p.epoch, cfg["n_pairs"], cfg["steps"], cfg["seed"],
                                      job.device)
    s = smoothness_summary(curves)
    s.insert(0, "variant", variant)
    smooth.append(s)
    job.log.info("%s: decoded accuracy without noise %.3f, at relative noise %s: %.3f; smoothness "
                 "mean max dip %s", variant, n.acc_mean.iloc[0], n.relative_noise.iloc[-1],
                 n.acc_mean.iloc[-1], s.groupby("scheme").mean_max_dip.first().round(4).to_dict())
noise, smooth = pd.concat(noise, ignore_index=True), pd.concat(smooth, ignore_index=True)
write_table(noise, snakemake.output.robustness, floatfmt=".4g",
            caption=f"Robustness of zoo {name}'s hyper-representations (2022 Fig. 3 a/c): test "
            f"models at epoch {p.epoch}, Gaussian noise of std relative_noise x rms(z) added "
            "to their embeddings, decoded; accuracy of the decoded models and R² of their "
            "weights against the originals (raw weight space).")
write_table(smooth, snakemake.output.smoothness, floatfmt=".4g",
            caption=f"Smoothness of zoo {name}'s hyper-representations (2022 Fig. 3 b/d): "
            f"accuracy of models decoded along linear interpolations, 'trajectory' from each "
            f"test model's embedding at epoch {p.trajectory[0]} to epoch {p.trajectory[1]}, "
            f"'between' random pairs of test models at epoch {p.epoch}; mean_max_dip: the "
            "mean over pairs of the largest drop below the straight line between the pair's "
            "end points.")
plot_robustness_smoothness(noise, smooth, f"{name}: robustness and smoothness (2022 Fig. 3)",
                           snakemake.output.figure)
