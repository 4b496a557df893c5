# What each job asks of the machine: GPUs, wall time, memory.
#
# GPU_RULES is the one list of the rules whose jobs compute on a GPU when there is one; each of
# them declares `gpu=GPU`, and profiles/slurm sends exactly these to the GPU partition
# (tests/test_rules.py checks both). Times and memory come from measured rates
# (hyperreps.resources) and the job's size.

from hyperreps.resources import (
    ae_tokens,
    autoencoder_memory_mb,
    autoencoder_minutes,
    population_job,
)

GPU_RULES = [
    "train_zoo_shard",
    "permutation_equivalence",
    "train_autoencoder",
    "embed_zoo",
    "compression_ablation_autoencoder",
    "sample_populations",
    "novelty_frontier",
    "finetune_populations",
    "reconstructed_finetuning",
    "unseen_zoos",
    "unseen_architectures",
]
# a GPU unless the config pins the CPU; uncapped locally unless --resources gpu=N
GPU = 0 if config["device"] == "cpu" else 1
JOB_DEVICE = "cpu" if config["device"] == "cpu" else "gpu"  # jobs sized for


def _population_job(zoo, n_models, epochs):
    """(minutes, MB) of training ``n_models`` of zoo ``zoo``'s architecture for ``epochs`` on
    its data: zoo shards and fine-tuning jobs (hyperreps.resources, from measured rates)."""
    cfg = ZOOS[zoo]
    return population_job(zoo_architecture(cfg), cfg["dataset"], n_models, epochs, JOB_DEVICE)


def _shard_job(wildcards):
    n_models = len(SHARDS[wildcards.zoo][int(wildcards.shard)].model_ids)
    return _population_job(wildcards.zoo, n_models, ZOOS[wildcards.zoo]["epochs"])


def shard_runtime(wildcards):
    return _shard_job(wildcards)[0]


def shard_mem_mb(wildcards):
    return _shard_job(wildcards)[1]


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
