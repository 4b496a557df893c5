from pathlib import Path

from hyperreps.ablation import VARIANT as ABLATION_VARIANT
from hyperreps.ablation import ablation_autoencoder_config, ratio_name
from hyperreps.architecture import ARCHITECTURES, get_architecture
from hyperreps.config.checks import check_inputs, validate_config
from hyperreps.config.plan import plan_shards
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
from hyperreps.resources import (
    ae_tokens,
    autoencoder_memory_mb,
    autoencoder_minutes,
    population_memory_mb,
    population_training_minutes,
)

try:
    validate_config(config)
except ConfigError as e:
    raise WorkflowError(f"invalid configuration: {e}")

# One folder per configuration: results/<name>/ and logs/<name>/ (name: the config's `name:`,
# else the stem of the last config file), so two configs in one checkout do not collide.
NAME = config["name"] or (Path(workflow.configfiles[-1]).stem if workflow.configfiles
                          else "config")
RESULTS = f"results/{NAME}"
LOGS = f"logs/{NAME}"
ZOOS = config["zoos"]
TRAINED_ZOOS = [z for z, c in ZOOS.items() if "import_from" not in c]
IMPORTED_ZOOS = [z for z, c in ZOOS.items() if "import_from" in c]
SHARDS = {z: plan_shards(ZOOS[z]) for z in TRAINED_ZOOS}
AE_CONFIG = {z: autoencoder_config(config, z) for z in ZOOS}
VARIANTS = {z: AE_CONFIG[z]["variants"] for z in ZOOS}
PAIRS = transfer_pairs(config)
SOURCES = list(dict.fromkeys(s for s, _ in PAIRS))  # the zoos that are sampled
CROSS_ZOO = config["cross_zoo_reconstruction"]  # Table 9 pairs
UNSEEN_ZOOS = config["unseen_zoos"]["pairs"]  # Table 3 (autoencoder zoo, conditioning zoo)
UNSEEN_ARCH = config["unseen_architectures"]  # Table 4
UNSEEN_ARCH_RUNS = [(p["source"], p["target"], a) for p in UNSEEN_ARCH["pairs"]
                    for a in UNSEEN_ARCH["architectures"]]
ABLATION = config["compression_ablation"]  # 2021 Table 5
ABLATION_RUNS = [dict(objective=o, ratio=ratio_name(r)) for o in ABLATION["objectives"]
                 for r in ABLATION["ratios"]] if ABLATION["zoo"] else []
F_SCORE_ZOOS = config["probes"]["class_f_scores"]
PROBE_TRANSFER = {e["autoencoder"]: e["zoos"] for e in config["probe_transfer"]}  # 2021 D.3
NOTHING = "(?!x)x"  # a regex matching no name
JOB_DEVICE = "cpu" if config["device"] == "cpu" else "gpu"  # jobs sized for (resources)


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


def shard_dirs(wildcards):
    return [f"{RESULTS}/zoos/{wildcards.zoo}/shards/{s.name}" for s in SHARDS[wildcards.zoo]]


def _shard(wildcards):
    """The zoo's config, its dataset's registry entry and the shard's number of models."""
    cfg = ZOOS[wildcards.zoo]
    n_models = len(SHARDS[wildcards.zoo][int(wildcards.shard)].model_ids)
    return cfg, dataset_info(cfg["dataset"]), n_models


def _population_job(zoo, n_models, epochs):
    """(minutes, MB) of training ``n_models`` of zoo ``zoo``'s architecture for ``epochs`` on
    its data: zoo shards and fine-tuning jobs (hyperreps.resources, from measured rates)."""
    cfg = ZOOS[zoo]
    info = dataset_info(cfg["dataset"])
    minutes = population_training_minutes(n_models, epochs, info.train_size,
                                          info.val_size + info.test_size,
                                          zoo_architecture(cfg), JOB_DEVICE)
    mem = population_memory_mb(n_models, epochs, zoo_layout(zoo).n_params,
                               info.train_size + info.val_size + info.test_size,
                               info.channels * info.image_size**2)
    return minutes, mem


def shard_runtime(wildcards):
    cfg, _, n_models = _shard(wildcards)
    return _population_job(wildcards.zoo, n_models, cfg["epochs"])[0]


def shard_mem_mb(wildcards):
    cfg, _, n_models = _shard(wildcards)
    return _population_job(wildcards.zoo, n_models, cfg["epochs"])[1]


def _finetune_job(wildcards):
    """Every population of a source is fine-tuned together: the sampled ones and B_T."""
    gen = config["generative"]
    n_models = gen["n_models"] * (len(gen["populations"]) + 1)
    epochs = finetune_epochs(config, wildcards.source, wildcards.target)
    return _population_job(wildcards.target, n_models, epochs)


def finetune_runtime(wildcards):
    return _finetune_job(wildcards)[0]


def finetune_mem_mb(wildcards):
    return _finetune_job(wildcards)[1]


def zoo_layout(zoo):
    return get_architecture(zoo_architecture(ZOOS[zoo])).layout


def ae_dirs(wildcards):
    return [f"{RESULTS}/autoencoders/{wildcards.zoo}/{v}/model" for v in VARIANTS[wildcards.zoo]]


def ae_embeddings(wildcards):
    return [f"{RESULTS}/autoencoders/{wildcards.zoo}/{v}/embeddings.safetensors"
            for v in VARIANTS[wildcards.zoo]]


def lwln_variant(zoo):
    """The autoencoder variant with layer-wise loss normalisation (the first variant if the
    zoo has none): the one Tables 3 and 9, Fig. 6 and the probe transfer use."""
    variants = VARIANTS[zoo]
    return "lwln" if "lwln" in variants else variants[0]


def lwln_autoencoder(zoo):
    return f"{RESULTS}/autoencoders/{zoo}/{lwln_variant(zoo)}/model"


def ae_window(zoo):
    """The autoencoder's epoch window of a zoo, [first, last]."""
    return [AE_CONFIG[zoo]["window"]["first"], AE_CONFIG[zoo]["window"]["last"]]


def diagnostics_window(zoo):
    """The epoch window the zoo diagnostics measure: the autoencoder's; None (the zoo's last
    five epochs, known once it exists) where the zoo has no autoencoder."""
    return ae_window(zoo) if AE_CONFIG[zoo]["enabled"] else None


def ae_config(wildcards):
    """The autoencoder block a training job uses: the zoo's, or, for a job of the compression
    ablation (wildcards objective and ratio), its variant of it."""
    ae = AE_CONFIG[wildcards.zoo]
    if hasattr(wildcards, "objective"):
        return ablation_autoencoder_config(ae, wildcards.objective, float(wildcards.ratio),
                                           zoo_layout(wildcards.zoo).n_params)
    return ae


def _ae_job(wildcards):
    """(autoencoder block, models in the zoo, epochs in its window, architecture, parameters
    and tokens of the zoo's models): what sizes an autoencoder training job."""
    ae = ae_config(wildcards)
    models = ZOOS[wildcards.zoo].get("seeds", {}).get("count", 1000)  # a lower bound for grids
    window = ae["window"]["last"] - ae["window"]["first"] + 1
    layout = zoo_layout(wildcards.zoo)
    return ae, models, window, (ae["architecture"], layout.n_params, ae_tokens(layout))


def autoencoder_runtime(wildcards):
    """Minutes for the checkpoint-passes of one training (train split x window x epochs),
    from the measured autoencoder training rate (hyperreps.resources)."""
    ae, models, window, size = _ae_job(wildcards)
    work = models * 0.7 * window * ae["training"]["epochs"]
    return autoencoder_minutes(work, *size, JOB_DEVICE)


def autoencoder_mem_mb(wildcards):
    ae, models, window, size = _ae_job(wildcards)
    return autoencoder_memory_mb(*size, ae["training"]["batch_size"], models * window,
                                 JOB_DEVICE)


def all_targets():
    out = []
    for z in ZOOS:
        out += [f"{RESULTS}/zoos/{z}/split.json", f"{RESULTS}/figures/zoo_{z}_accuracy.png",
                f"{RESULTS}/tables/zoo_diagnostics_{z}.md"]
        if z in TRAINED_ZOOS:
            out.append(f"{RESULTS}/figures/permutation_equivalence_{z}.png")
        if AE_CONFIG[z]["enabled"]:
            out += [f"{RESULTS}/figures/zoo_{z}_properties.png"]  # 2021 App. Fig. 3
            out += [f"{RESULTS}/tables/reconstruction_{z}.md", f"{RESULTS}/tables/probes_{z}.md",
                    f"{RESULTS}/figures/embeddings_{z}_geometry.png",
                    f"{RESULTS}/figures/robustness_smoothness_{z}.png"]
    if CROSS_ZOO:
        out.append(f"{RESULTS}/tables/table9_cross_zoo_reconstruction.md")
    if PAIRS:
        out += [f"{RESULTS}/tables/table1_in_dataset.md", f"{RESULTS}/figures/generative"]
    out += [f"{RESULTS}/figures/fig6_reconstructed_vs_original_{z}.png"
            for z in config["generative"]["in_dataset"]]
    out += [f"{RESULTS}/figures/probe_transfer_{z}.png" for z in PROBE_TRANSFER]
    if ABLATION_RUNS:
        out.append(f"{RESULTS}/tables/table5_compression_ablation_{ABLATION['zoo']}.md")
    if UNSEEN_ZOOS:
        out.append(f"{RESULTS}/tables/table3_unseen_zoos.md")
    if UNSEEN_ARCH_RUNS:
        out.append(f"{RESULTS}/tables/table4_unseen_architectures.md")
    return out
