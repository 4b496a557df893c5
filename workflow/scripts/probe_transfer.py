"""2021 App. D.3: probes fitted on one zoo, evaluated in and out of distribution."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.embeddings import embed_zoo, load_embeddings, probe_inputs  # noqa: E402
from hyperreps.figures.autoencoder import plot_probe_transfer  # noqa: E402
from hyperreps.probes import TRANSFER_PROPERTIES, probe_transfer  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
inp, p, source = snakemake.input, snakemake.params, snakemake.wildcards.zoo  # noqa: F821
window = tuple(p.window)
model, info, _ = load_autoencoder(inp.autoencoder)
variant = info["variant"]


def inputs(zoo_path, split_path, embeddings=None):
    """Probe features and targets of a zoo; its embeddings read from ``embeddings`` (the
    source's, embedded by the workflow already) or computed with the source's autoencoder."""
    zoo = load_zoo(zoo_path)
    split = json.loads(Path(split_path).read_text())
    z = load_embeddings(embeddings, zoo).z if embeddings else embed_zoo(model, zoo, device)
    return probe_inputs(zoo, split, {variant: z}, window)


features, props, _ = inputs(inp.zoo, inp.split, inp.embeddings)
for name, zoo_path, split_path in zip(p.targets, inp.target_zoos, inp.target_splits):
    f, t, _ = inputs(zoo_path, split_path)
    for fs in features:
        features[fs][name] = f[fs]["test"]
    for prop in TRANSFER_PROPERTIES:
        props[prop][name] = t[prop]["test"]
table, predictions = probe_transfer(features, props)
write_table(table, snakemake.output.table, floatfmt=".4g",  # noqa: F821
            caption=f"2021 App. D.3 (Figs. 7-10): ridge probes fitted on zoo {source}'s train "
            f"split (epochs {window[0]}-{window[1]}), evaluated on its test split "
            "(evaluated_on = test) and on the test splits of other zoos (out of distribution), "
            f"from raw weights W, statistics s(W) and the {variant} embedding of {source}'s "
            "autoencoder; R² and Kendall's τ.")
plot_probe_transfer(predictions, table, source, snakemake.output.figure)  # noqa: F821
log.info("\n%s", table.to_string())
