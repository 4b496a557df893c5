"""2021 App. D.3: probes fitted on one zoo, evaluated in and out of distribution."""


from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.representation.embeddings import embed_zoo, load_embeddings, probe_inputs
from hyperreps.figures.representation import plot_probe_transfer
from hyperreps.representation.probes import TRANSFER_PROPERTIES, probe_transfer
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
inp, p, source = snakemake.input, snakemake.params, snakemake.wildcards.zoo
window = tuple(p.window)
model, info, _ = load_autoencoder(inp.autoencoder)
variant = info["variant"]


def inputs(zoo_path, split_path, embeddings=None):
    """Probe features and targets of a zoo; its embeddings read from ``embeddings`` (the
    source's, embedded by the workflow already) or computed with the source's autoencoder."""
    zoo = load_zoo(zoo_path)
    split = load_split(split_path)
    z = load_embeddings(embeddings, zoo).z if embeddings else embed_zoo(model, zoo, job.device)
    return probe_inputs(zoo, split, {variant: z}, window)


features, props, _ = inputs(inp.zoo, inp.split, inp.embeddings)
for name, zoo_path, split_path in zip(p.targets, inp.target_zoos, inp.target_splits):
    f, t, _ = inputs(zoo_path, split_path)
    for fs in features:
        features[fs][name] = f[fs]["test"]
    for prop in TRANSFER_PROPERTIES:
        props[prop][name] = t[prop]["test"]
table, predictions = probe_transfer(features, props)
write_table(table, snakemake.output.table, floatfmt=".4g",
            caption=f"2021 App. D.3 (Figs. 7-10): ridge probes fitted on zoo {source}'s train "
            f"split (epochs {window[0]}-{window[1]}), evaluated on its test split "
            "(evaluated_on = test) and on the test splits of other zoos (out of distribution), "
            f"from raw weights W, statistics s(W) and the {variant} embedding of {source}'s "
            "autoencoder; R² and Kendall's τ.")
plot_probe_transfer(predictions, table, source, snakemake.output.figure)
job.log.info("\n%s", table.to_string())
