"""Hyper-sphere geometry of the embeddings, all vs top-30% (2022 Figs. 11-13)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

import numpy as np  # noqa: E402

from hyperreps.embeddings import load_embeddings  # noqa: E402
from hyperreps.figures.autoencoder import plot_embedding_geometry  # noqa: E402
from hyperreps.zoo import load_zoo, rows_by_split  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
window = tuple(snakemake.params.window)  # noqa: F821
m, e = rows_by_split(zoo, split, window)["train"]
acc = zoo.metric("test_acc")[m, e]
top = acc >= np.nanquantile(acc, 0.7)
embeddings = {}
for path in snakemake.input.embeddings:  # noqa: F821
    emb = load_embeddings(path, zoo)
    embeddings[emb.metadata["variant"]] = emb.z.numpy()[m, e]
plot_embedding_geometry(embeddings, top, snakemake.output[0],  # noqa: F821
                        title=f"{snakemake.wildcards.zoo}: train checkpoints of epochs "  # noqa: F821
                              f"{window[0]}-{window[1]}, all vs top 30% by test accuracy")
log.info("%d checkpoints, %d in the top 30%%", len(acc), int(top.sum()))
