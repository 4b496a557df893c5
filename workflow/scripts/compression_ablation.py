"""2021 Table 5: the compression-ratio ablation's autoencoders judged by reconstruction and
linear probes."""


from hyperreps.jobs import start
from hyperreps.representation.compression_ablation import ablation_row, ablation_table
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.data import DataSettings, load_dataset
from hyperreps.representation.embeddings import checkpoint_f_scores, embed_zoo, probe_inputs
from hyperreps.representation.probes import probe_summary, run_probes
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
p = snakemake.params
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
data = load_dataset(zoo.dataset, DataSettings.from_config(snakemake.params.data))
window = tuple(p.window)
f_scores = checkpoint_f_scores(zoo, data.test, window, job.device)
codes, models = {}, {}
for run, path in zip(p.runs, snakemake.input.autoencoders):
    model, info, _ = load_autoencoder(path)
    name = f"{run['objective']} c={run['ratio']}"
    codes[name] = embed_zoo(model, zoo, job.device)
    models[name] = (run, model.arch.latent_dim, info["metrics"]["r2"]["test"]["overall"])
# one set of probe inputs: W and s(W) (the papers' baselines) and every code, same targets
features, props, categorical = probe_inputs(zoo, split, codes, window, f_scores)
summary = probe_summary(run_probes(features, props, categorical), "test")
rows = [ablation_row(fs, float("nan"), features[fs]["train"].shape[1], float("nan"), summary, fs)
        for fs in ("W", "s(W)")]
for name, (run, latent_dim, rec) in models.items():
    rows.append(ablation_row(run["objective"], run["ratio"], latent_dim, rec, summary, name))
    job.log.info("%s (latent %d): %s", name, latent_dim,
                 {k: round(v, 1) if isinstance(v, float) else v for k, v in rows[-1].items()})
table = ablation_table(rows)
write_table(table, snakemake.output.table, floatfmt=".1f",
            caption=f"2021 Table 5 on zoo {snakemake.wildcards.zoo}: compression ratio c = "
            f"{zoo.layout.n_params} / latent_dim; REC = reconstruction R² of the test split, the "
            "other columns test R² of linear probes (epoch, accuracy, generalisation gap, "
            f"per-class F-scores) on checkpoints of epochs {window[0]}-{window[1]}, all in %. "
            "E_c: contrastive loss only (no decoder training, REC undefined); ED: reconstruction "
            "only; E_cD: both. W and s(W): the probes on raw weights and weight statistics.")
job.log.info("\n%s", table.round(1).to_string())
