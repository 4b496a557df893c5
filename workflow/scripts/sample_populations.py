"""Draw every population of a source zoo (samplers and baselines), each stored as a zoo."""

import json

import torch

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoders
from hyperreps.representation.embeddings import load_embeddings_by_variant
from hyperreps.data import DataSettings, load_dataset
from hyperreps.generative.mixing_populations import mixing_context
from hyperreps.generative.populations import (POPULATIONS_INFO, anchor_set, generate_populations,
                                              population_zoo)
from hyperreps.generative.weight_alignment import load_aligned
from hyperreps.tables import write_csv
from hyperreps.publish import staged_dir
from hyperreps.zoo import load_zoo, save_zoo, single_setting
from hyperreps.splits import load_split

job = start(snakemake)
gen = snakemake.params.generative
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
models = {v: m for v, (m, _, _) in load_autoencoders(snakemake.input.autoencoders).items()}
embeddings = load_embeddings_by_variant(snakemake.input.embeddings, zoo)
anchors = anchor_set(zoo, split, tuple(snakemake.params.window), embeddings,
                     gen["top_fraction"])
job.log.info("%d anchors (%d in the top %.0f%%)", len(anchors.acc), int(anchors.top.sum()),
             100 * gen["top_fraction"])
activation = single_setting(zoo, "activation")
mixing = None
if snakemake.input.aligned:  # the weight-space populations (issue 32)
    data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
    aligned = load_aligned(snakemake.input.aligned[0], zoo.layout.n_params).models
    mixing = mixing_context(aligned, anchors.weights, anchors.top, zoo.layout, activation,
                            data.train, data.val, snakemake.params.sigmas, gen["mixing"],
                            job.device)
gan_losses = {}
# one draw serves both: the first n_models are fine-tuned, all are measured by the frontier
n_draw = max(gen["n_models"], snakemake.params.frontier_models)
pops = generate_populations(anchors, models, dict(gen, n_models=n_draw), gen["seed"],
                            job.device, gan_losses, mixing)
with staged_dir(snakemake.output[0]) as tmp:
    for name, losses in gan_losses.items():
        write_csv(losses, tmp / f"gan_losses_{name}.csv")
        last = losses.iloc[-1]
        job.log.info("%s GAN after %d epochs: d_loss %.3f, g_loss %.3f, D(real) %.2f, "
                     "D(fake) %.2f", name, len(losses), last.d_loss, last.g_loss, last.d_real,
                     last.d_fake)
    for name, w in pops.items():
        save_zoo(tmp / name, population_zoo(w, name, zoo.layout, zoo.dataset, activation))
        job.log.info("%s: %d models, %d finite", name, len(w), int(torch.isfinite(w).all(1).sum()))
    (tmp / POPULATIONS_INFO).write_text(json.dumps(
        {"populations": list(pops), "activation": activation, "gan_losses": sorted(gan_losses),
         "n_finetune": gen["n_models"], "n_drawn": n_draw,
         "source": snakemake.wildcards.zoo,
         "anchors": len(anchors.acc), "top_anchors": int(anchors.top.sum())}, indent=1))
