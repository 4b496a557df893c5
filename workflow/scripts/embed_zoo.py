"""Embed every model and epoch of a zoo with one autoencoder (pickle-free output)."""

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.representation.embeddings import embed_zoo, save_embeddings
from hyperreps.zoo import load_zoo

job = start(snakemake)
model, info, _ = load_autoencoder(snakemake.input.autoencoder)
zoo = load_zoo(snakemake.input.zoo)
z = embed_zoo(model, zoo, job.device, progress=True)
save_embeddings(snakemake.output[0], z, zoo.info["model_ids"],
                {"zoo": info["zoo"], "variant": info["variant"], "dataset": zoo.dataset})
job.log.info("embedded %d models x %d epochs into %d dimensions", *z.shape)
