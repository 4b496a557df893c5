"""Linear probes of model properties from embeddings, raw weights W and statistics s(W)."""


from hyperreps.jobs import start
from hyperreps.data import DataSettings, load_dataset
from hyperreps.representation.embeddings import (checkpoint_f_scores, load_embeddings_by_variant,
                                                 probe_inputs)
from hyperreps.representation.probes import probe_summary, probe_table, run_probes
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
zoo_name = snakemake.wildcards.zoo
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
embeddings = load_embeddings_by_variant(snakemake.input.embeddings, zoo)
first, last = snakemake.params.window
f_scores = None
if snakemake.params.class_f_scores:
    data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
    f_scores = checkpoint_f_scores(zoo, data.test, (first, last), job.device)
features, properties, categorical = probe_inputs(zoo, split, embeddings, (first, last),
                                                 f_scores)
results = run_probes(features, properties, categorical)
skipped = ", ".join(results.skipped) or "none"
summary = probe_summary(results, "test").reset_index()
write_table(summary, snakemake.output.summary,
            caption=f"Property probes on zoo {zoo_name}, test split (epochs {first}-{last} of "
                    "the test models, the autoencoder's window): R² in % (accuracy in % for "
                    "categorical properties) and Kendall's τ, from raw weights W, weight "
                    "statistics s(W) and each hyper-representation. "
                    f"Constant properties skipped: {skipped}.")
write_table(probe_table(results), snakemake.output.full)
job.log.info("\n%s", summary.to_string())
