"""Embed every model and epoch of a zoo with one autoencoder (pickle-free output)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.embeddings import embed_zoo, save_embeddings  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
model, info, _ = load_autoencoder(snakemake.input.autoencoder)  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
z = embed_zoo(model, zoo, device, progress=True)
save_embeddings(snakemake.output[0], z, zoo.info["model_ids"],  # noqa: F821
                {"zoo": info["zoo"], "variant": info["variant"], "dataset": zoo.dataset})
log.info("embedded %d models x %d epochs into %d dimensions", *z.shape)
