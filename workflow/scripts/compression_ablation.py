"""2021 Table 5: the compression-ratio ablation's autoencoders judged by reconstruction and
linear probes."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.ablation import ablation_row, ablation_table  # noqa: E402
from hyperreps.autoencoder.io import load_autoencoder  # noqa: E402
from hyperreps.data import DataSettings, load_dataset  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.embeddings import checkpoint_f_scores, embed_zoo, probe_inputs  # noqa: E402
from hyperreps.probes import probe_summary, run_probes  # noqa: E402
from hyperreps.tables import write_table  # noqa: E402
from hyperreps.zoo import load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
p = snakemake.params  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.config["data"]))  # noqa: F821
window = tuple(p.window)
f_scores = checkpoint_f_scores(zoo, data.test, window, device)
codes, models = {}, {}
for run, path in zip(p.runs, snakemake.input.autoencoders):  # noqa: F821
    model, info, _ = load_autoencoder(path)
    name = f"{run['objective']} c={run['ratio']}"
    codes[name] = embed_zoo(model, zoo, device)
    models[name] = (run, model.arch.latent_dim, info["metrics"]["r2"]["test"]["overall"])
# one set of probe inputs: W and s(W) (the papers' baselines) and every code, same targets
features, props, categorical = probe_inputs(zoo, split, codes, window, f_scores)
summary = probe_summary(run_probes(features, props, categorical), "test")
rows = [ablation_row(fs, float("nan"), features[fs]["train"].shape[1], float("nan"), summary, fs)
        for fs in ("W", "s(W)")]
for name, (run, latent_dim, rec) in models.items():
    rows.append(ablation_row(run["objective"], run["ratio"], latent_dim, rec, summary, name))
    log.info("%s (latent %d): %s", name, latent_dim,
             {k: round(v, 1) if isinstance(v, float) else v for k, v in rows[-1].items()})
table = ablation_table(rows)
write_table(table, snakemake.output.table, floatfmt=".1f",  # noqa: F821
            caption=f"2021 Table 5 on zoo {snakemake.wildcards.zoo}: compression ratio c = "  # noqa: F821
            f"{zoo.layout.n_params} / latent_dim; REC = reconstruction R² of the test split, the "
            "other columns test R² of linear probes (epoch, accuracy, generalisation gap, "
            f"per-class F-scores) on checkpoints of epochs {window[0]}-{window[1]}, all in %. "
            "E_c: contrastive loss only (no decoder training, REC undefined); ED: reconstruction "
            "only; E_cD: both. W and s(W): the probes on raw weights and weight statistics.")
log.info("\n%s", table.round(1).to_string())
