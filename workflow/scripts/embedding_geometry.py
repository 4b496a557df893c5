"""Hyper-sphere geometry of the embeddings, all vs top-30% (2022 Figs. 11-13)."""


import numpy as np

from hyperreps.jobs import start
from hyperreps.representation.embeddings import load_embeddings
from hyperreps.figures.representation import plot_embedding_geometry
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split, rows_by_split

job = start(snakemake)
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
window = tuple(snakemake.params.window)
m, e = rows_by_split(zoo, split, window)["train"]
acc = zoo.metric("test_acc")[m, e]
top = acc >= np.nanquantile(acc, 0.7)
embeddings = {}
for path in snakemake.input.embeddings:
    emb = load_embeddings(path, zoo)
    embeddings[emb.metadata["variant"]] = emb.z.numpy()[m, e]
plot_embedding_geometry(embeddings, top, snakemake.output[0],
                        title=f"{snakemake.wildcards.zoo}: train checkpoints of epochs "
                              f"{window[0]}-{window[1]}, all vs top 30% by test accuracy")
job.log.info("%d checkpoints, %d in the top 30%%", len(acc), int(top.sum()))
