"""Draw every population of a source zoo (samplers and baselines), each stored as a zoo."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

import torch  # noqa: E402

from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.embeddings import load_embeddings  # noqa: E402
from hyperreps.populations import anchor_set, generate_populations, population_zoo  # noqa: E402
from hyperreps.tables import write_csv  # noqa: E402
from hyperreps.publish import staged_dir  # noqa: E402
from hyperreps.zoo import load_zoo, save_zoo, single_setting  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
gen = snakemake.params.generative  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
models, embeddings = {}, {}
for path in snakemake.input.autoencoders:  # noqa: F821
    model, info, _ = load_autoencoder(path)
    models[info["variant"]] = model
for path in snakemake.input.embeddings:  # noqa: F821
    e = load_embeddings(path, zoo)
    embeddings[e.metadata["variant"]] = e.z
anchors = anchor_set(zoo, split, tuple(snakemake.params.window), embeddings,  # noqa: F821
                     gen["top_fraction"])
log.info("%d anchors (%d in the top %.0f%%)", len(anchors.acc), int(anchors.top.sum()),
         100 * gen["top_fraction"])
activation = single_setting(zoo, "activation")
gan_losses = {}
pops = generate_populations(anchors, models, gen, gen["seed"], device, gan_losses)
with staged_dir(snakemake.output[0]) as tmp:  # noqa: F821
    for name, losses in gan_losses.items():
        write_csv(losses, tmp / f"gan_losses_{name}.csv")
        last = losses.iloc[-1]
        log.info("%s GAN after %d epochs: d_loss %.3f, g_loss %.3f, D(real) %.2f, "
                 "D(fake) %.2f", name, len(losses), last.d_loss, last.g_loss, last.d_real,
                 last.d_fake)
    for name, w in pops.items():
        save_zoo(tmp / name, population_zoo(w, name, zoo.layout, zoo.dataset, activation))
        log.info("%s: %d models, %d finite", name, len(w), int(torch.isfinite(w).all(1).sum()))
    (tmp / "populations.json").write_text(json.dumps(
        {"populations": list(pops), "activation": activation, "gan_losses": sorted(gan_losses),
         "source": snakemake.wildcards.zoo,  # noqa: F821
         "anchors": len(anchors.acc), "top_anchors": int(anchors.top.sum())}, indent=1))
