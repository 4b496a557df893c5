# The configuration, the names of everything the DAG produces (path templates), wildcard
# constraints and the input functions. Job sizing is in resources.smk.

import os
import sys

from hyperreps.architecture import ARCHITECTURES, get_architecture
from hyperreps.representation.compression_ablation import VARIANT as ABLATION_VARIANT
from hyperreps.representation.compression_ablation import ablation_autoencoder_config, ratio_name
from hyperreps.config.checks import validate_config
from hyperreps.config.inputs import check_inputs
from hyperreps.config.files import read_config_file, run_name
from hyperreps.config.plan import expand_models, plan_shards
from hyperreps.config.queries import (
    autoencoder_config,
    comparisons,
    finetune_epochs,
    trajectory_epochs,
    transfer_pairs,
    zoo_architecture,
)
from hyperreps.config.schema import ConfigError
from hyperreps.data import dataset_info
from hyperreps.generative.mixing_populations import MIXED, SELECTED_NOISE
from hyperreps.importers.registry import resolve_import
from hyperreps.device import cuda_problem

# One folder per configuration: results/<name>/ and logs/<name>/ (name: the config's `name:`,
# else the stem of the last config file), so two configs in one checkout do not collide.
try:
    for _file in workflow.configfiles:  # Snakemake's own reading keeps the last of a duplicate
        read_config_file(_file)
    validate_config(config)
    NAME = run_name(config, workflow.configfiles)
except ConfigError as e:
    raise WorkflowError(f"invalid configuration: {e}")
RESULTS = f"results/{NAME}"
LOGS = f"logs/{NAME}"
ENV = "../envs/hyperreps.yaml"
ZOOS = config["zoos"]
TRAINED_ZOOS = [z for z, c in ZOOS.items() if "import_from" not in c]
IMPORTED_ZOOS = [z for z, c in ZOOS.items() if "import_from" in c]
SHARDS = {z: plan_shards(ZOOS[z]) for z in TRAINED_ZOOS}
MODELS = {z: expand_models(ZOOS[z]) for z in TRAINED_ZOOS}  # rows by model_id
SHARD_TRAINING = ("dataset", "batch_size", "epochs", "data_order")  # a shard job's settings
AE_CONFIG = {z: autoencoder_config(config, z) for z in ZOOS}
VARIANTS = {z: AE_CONFIG[z]["variants"] for z in ZOOS}
PAIRS = transfer_pairs(config)
SOURCES = list(dict.fromkeys(s for s, _ in PAIRS))  # the zoos that are sampled
CROSS_ZOO = config["cross_zoo_reconstruction"]  # 2022 Table 9 pairs
UNSEEN_ZOOS = config["unseen_zoos"]["pairs"]  # 2022 Table 3 (autoencoder zoo, conditioning zoo)
UNSEEN_ARCH = config["unseen_architectures"]  # 2022 Table 4
UNSEEN_ARCH_RUNS = [(p["source"], p["target"], a) for p in UNSEEN_ARCH["pairs"]
                    for a in UNSEEN_ARCH["architectures"]]
ABLATION = config["compression_ablation"]  # 2021 Table 5
ABLATION_RUNS = [dict(objective=o, ratio=ratio_name(r)) for o in ABLATION["objectives"]
                 for r in ABLATION["ratios"]] if ABLATION["zoo"] else []
F_SCORE_ZOOS = config["probes"]["class_f_scores"]
PROBE_TRANSFER = {e["autoencoder"]: e["zoos"] for e in config["probe_transfer"]}  # 2021 D.3
# trained zoos written as Small CNN Zoo archives, which imported zoos may read (issue 23)
SCZ_ARCHIVES = {a["zoo"]: a for a in config["small_cnn_zoo_archive"]}
EXPORT = config["export"]  # models out as plain PyTorch state dicts
AUDITED = config["novelty_frontier"]["audit"]  # other generators' models on a frontier
# the weight-space populations that need the aligned training models (rule weight_alignment)
MIXING_POPULATIONS = [p for p in config["generative"]["populations"]
                      if p in (*MIXED, SELECTED_NOISE)] if config["generative"]["enabled"] else []
# every job that computes with torch gets the config's device (hyperreps.jobs.start)
DEVICE = config["device"]
CUDA_PROBLEM = cuda_problem(DEVICE)  # a cluster's GPU nodes may see one: onstart decides
if CUDA_PROBLEM:
    print(f"warning: {CUDA_PROBLEM}", file=sys.stderr)
# every multi-threaded job (training, embedding, probes, sampling, fine-tuning) gets the
# config's thread count as params.threads and computes with it whatever Snakemake grants
# (hyperreps.jobs.start): a float sum's last bits depend on the threads that add it, so
# --cores and --max-threads decide only how many jobs run side by side. Its `threads:` is the
# same number, so that a scheduler plans with the cores the job uses; other rules: 1 thread.
THREADS = config["threads"]
DATA = config["data"]


# --------------------------------------------------------------------------- path templates
# A template's wildcards are filled by the rule that uses it; .format(zoo=...) gives one path.

ZOO = f"{RESULTS}/zoos/{{zoo}}/zoo"
SCZ_ARCHIVE = f"{RESULTS}/small_cnn_zoo/{{zoo}}"
EXPORTED_ZOO = f"{RESULTS}/export/zoos/{{zoo}}"
EXPORTED_POPULATION = f"{RESULTS}/export/populations/{{zoo}}/{{population}}"
# archive folders this run writes: an import reading one waits for it (and the check before
# any job does not ask for it to exist yet)
PRODUCED_IMPORTS = {os.path.normpath(SCZ_ARCHIVE.format(zoo=z)) for z in SCZ_ARCHIVES}
SHARD = f"{RESULTS}/zoos/{{zoo}}/shards/{{shard}}"
SPLIT = f"{RESULTS}/zoos/{{zoo}}/split.json"
DIAGNOSTICS = f"{RESULTS}/zoos/{{zoo}}/diagnostics.json"
AE_MODEL = f"{RESULTS}/autoencoders/{{zoo}}/{{variant}}/model"
EMBEDDINGS = f"{RESULTS}/autoencoders/{{zoo}}/{{variant}}/embeddings.safetensors"
ABLATION_MODEL = f"{RESULTS}/autoencoders/{{zoo}}/ablation/{{objective}}_c{{ratio}}/model"
POPULATIONS = f"{RESULTS}/populations/{{zoo}}"
ALIGNED = f"{RESULTS}/weight_alignment/{{zoo}}"  # aligned training models (issue 32)
FINETUNE = f"{RESULTS}/finetune/{{source}}/{{target}}"
FINETUNED_ZOO = f"{FINETUNE}/zoo"
FINETUNE_ACCURACY = f"{FINETUNE}/accuracy.csv"
FINETUNE_INFO = f"{FINETUNE}/info.json"
ENSEMBLES = f"{RESULTS}/finetune/{{zoo}}/{{zoo}}/ensembles.csv"
NOVELTY_FRONTIER = f"{RESULTS}/novelty_frontier/{{zoo}}"
UNSEEN_ZOO_RUN = f"{RESULTS}/unseen_zoos/{{source}}/{{target}}"
UNSEEN_ARCH_RUN = f"{RESULTS}/unseen_architectures/{{source}}/{{target}}/{{architecture}}.csv"


# The Snakemake report (snakemake --report): one category per stage, one caption file per
# experiment in report/, labels "zoo" and "output" on every entry.
CATEGORIES = {"zoo": "1. Model zoos", "autoencoder": "2. Hyper-representations",
              "generative": "3. Generative models"}


def _reported(path, stage, caption, zoo, output):
    if stage is None:
        return path
    return report(path, caption=f"../report/{caption}.rst", category=CATEGORIES[stage],
                  labels={"zoo": zoo, "output": output})


def table(name, stage=None, caption=None, zoo="all", output="table"):
    """A table in its three formats, results/<name>/tables/<name>.{md,csv,tex}; with a stage,
    its CSV goes into the report under that stage, with report/<caption>.rst."""
    md, csv, tex = (f"{RESULTS}/tables/{name}{ext}" for ext in (".md", ".csv", ".tex"))
    return [md, _reported(csv, stage, caption, zoo, output), tex]


def figure(name, stage=None, caption=None, zoo="all", output="figure"):
    """results/<name>/figures/<name>.png, in the report under ``stage`` if given."""
    return _reported(f"{RESULTS}/figures/{name}.png", stage, caption, zoo, output)


def logfile(name):
    return f"{LOGS}/{name}.log"


def benchfile(name):
    return f"{RESULTS}/benchmarks/{name}.tsv"


def zoo_of(name):
    """The zoo folder and split file of zoo ``name`` (a name or a wildcard such as
    "{target}")."""
    return dict(zoo=ZOO.format(zoo=name), split=SPLIT.format(zoo=name))


NOTHING = "(?!x)x"  # a regex matching no name


def import_input(wildcards):
    """The archive an imported zoo reads, where this run writes it; nothing otherwise."""
    path = os.path.normpath(resolve_import(ZOOS[wildcards.zoo]).path)
    return [path] if path in PRODUCED_IMPORTS else []


def names_regex(names):
    return "|".join(names) if names else NOTHING


wildcard_constraints:
    zoo=names_regex(list(ZOOS)),
    shard=r"\d{4}",
    variant="lwln|baseline",
    source=names_regex(list(ZOOS)),
    target=names_regex(list(ZOOS)),
    architecture=names_regex(list(ARCHITECTURES)),
    objective="E_c|ED|E_cD",
    ratio=r"\d+(\.\d+)?",


# --------------------------------------------------------------------------- input functions


def shard_rows(wildcards):
    """The models of one shard, as planned: model_id, seed and hyperparameters."""
    ids = SHARDS[wildcards.zoo][int(wildcards.shard)].model_ids
    return [MODELS[wildcards.zoo][i] for i in ids]


def shard_dirs(wildcards):
    return [SHARD.format(zoo=wildcards.zoo, shard=s.name) for s in SHARDS[wildcards.zoo]]


def ae_dirs(wildcards):
    return [AE_MODEL.format(zoo=wildcards.zoo, variant=v) for v in VARIANTS[wildcards.zoo]]


def ae_embeddings(wildcards):
    return [EMBEDDINGS.format(zoo=wildcards.zoo, variant=v) for v in VARIANTS[wildcards.zoo]]


def lwln_variant(zoo):
    """The autoencoder variant with layer-wise loss normalisation (the first variant if the
    zoo has none): the one Tables 3 and 9, Fig. 6 and the probe transfer use."""
    variants = VARIANTS[zoo]
    return "lwln" if "lwln" in variants else variants[0]


def lwln_autoencoder(zoo):
    return AE_MODEL.format(zoo=zoo, variant=lwln_variant(zoo))


def ae_window(zoo):
    """The autoencoder's epoch window of a zoo, [first, last]."""
    return [AE_CONFIG[zoo]["window"]["first"], AE_CONFIG[zoo]["window"]["last"]]


def diagnostics_window(zoo):
    """The epoch window the zoo diagnostics measure: the autoencoder's; None (the zoo's last
    five epochs, known once it exists) where the zoo has no autoencoder."""
    return ae_window(zoo) if AE_CONFIG[zoo]["enabled"] else None


def zoo_layout(zoo):
    return get_architecture(zoo_architecture(ZOOS[zoo])).layout


def ae_config(wildcards):
    """The autoencoder block a training job uses: the zoo's, or, for a job of the compression
    ablation (wildcards objective and ratio), its variant of it."""
    ae = AE_CONFIG[wildcards.zoo]
    if hasattr(wildcards, "objective"):
        return ablation_autoencoder_config(ae, wildcards.objective, float(wildcards.ratio),
                                           zoo_layout(wildcards.zoo).n_params)
    return ae


def n_classes(zoos):
    """Classes of each zoo's dataset (where figures draw chance)."""
    return {z: dataset_info(ZOOS[z]["dataset"]).n_classes for z in zoos}


def all_targets():
    out = []
    for z in ZOOS:
        out += [SPLIT.format(zoo=z), figure(f"2021_appfig3_zoo_accuracy_{z}"),
                *table(f"zoo_diagnostics_{z}")]
        if z in TRAINED_ZOOS:
            out.append(figure(f"2021_appfig1_permutation_equivalence_{z}"))
        if AE_CONFIG[z]["enabled"]:
            out += [figure(f"2021_appfig3_zoo_properties_{z}"), *table(f"reconstruction_{z}"),
                    *table(f"2021_table6_probes_{z}"),
                    figure(f"2022_fig11_embedding_geometry_{z}"),
                    figure(f"2022_fig3_robustness_{z}")]
    if CROSS_ZOO:
        out += table("2022_table9_cross_zoo_reconstruction")
    if PAIRS:
        out += [*table("2022_table1_in_dataset"), f"{RESULTS}/figures/generative"]
    out += [figure(f"2022_fig6_reconstructed_finetuning_{z}")
            for z in config["generative"]["in_dataset"]]
    if config["novelty_frontier"]["enabled"]:
        out += [figure(f"2025_fig6a_novelty_frontier_{z}") for z in SOURCES]
    if MIXING_POPULATIONS:
        out += [t for z in SOURCES for t in table(f"weight_alignment_{z}")]
        out += [t for z in SOURCES for t in table(f"generalisation_{z}")]
    out += [figure(f"2021_appd3_probe_transfer_{z}") for z in PROBE_TRANSFER]
    if ABLATION_RUNS:
        out += table(f"2021_table5_compression_ablation_{ABLATION['zoo']}")
    if UNSEEN_ZOOS:
        out += table("2022_table3_unseen_zoos")
    if UNSEEN_ARCH_RUNS:
        out += table("2022_table4_unseen_architectures")
    out += [EXPORTED_ZOO.format(zoo=z) for z in EXPORT["zoos"]]
    out += [EXPORTED_POPULATION.format(zoo=p["zoo"], population=p["population"])
            for p in EXPORT["populations"]]
    return out
