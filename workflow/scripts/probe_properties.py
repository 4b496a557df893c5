"""Linear probes of model properties from embeddings, raw weights W and statistics s(W)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.embeddings import checkpoint_f_scores, load_embeddings, probe_inputs  # noqa: E402
from hyperreps.probes import probe_summary, probe_table, run_probes  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
zoo_name = snakemake.wildcards.zoo  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
embeddings = {}
for path in snakemake.input.embeddings:  # noqa: F821
    e = load_embeddings(path, zoo)
    embeddings[e.metadata["variant"]] = e.z
first, last = snakemake.params.window  # noqa: F821
f_scores = None
if snakemake.params.class_f_scores:  # noqa: F821
    set_cpu_threads(snakemake.threads)  # noqa: F821
    data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
    f_scores = checkpoint_f_scores(zoo, data.test, (first, last),
                                   resolve_device(snakemake.config["device"]))  # noqa: F821
features, properties, categorical = probe_inputs(zoo, split, embeddings, (first, last),
                                                 f_scores)
results = run_probes(features, properties, categorical)
skipped = ", ".join(results.skipped) or "none"
summary = probe_summary(results, "test").reset_index()
write_table(summary, snakemake.output.summary,  # noqa: F821
            caption=f"Property probes on zoo {zoo_name}, test split (epochs {first}-{last} of "
                    f"the test models, the autoencoder's window): R² in % (accuracy in % for categorical properties) and Kendall's "
                    f"τ, from raw weights W, weight statistics s(W) and each hyper-representation. "
                    f"Constant properties skipped: {skipped}.")
write_table(probe_table(results), snakemake.output.full)  # noqa: F821
log.info("\n%s", summary.to_string())
