"""What a valid config may ask of the planner and of a machine, checked before any job: how
many models and shard jobs a zoo plans (counted, never enumerated), that every seed fits
NumPy's and torch's range, that each trained zoo has models in every part of its split, and
that no job's own sizing (:mod:`hyperreps.resources`) exceeds the largest machine. Each
failure is a :class:`~hyperreps.config.schema.ConfigError` naming the key to change."""

from __future__ import annotations

import math

from ..architecture import get_architecture
from ..resources import autoencoder_device_mb, autoencoder_memory_mb, ae_tokens, population_job
from ..splits import split_counts
from .plan import SHARED_IN_SHARD, hyperparameter_grid
from .queries import autoencoder_config, transfer_pairs, zoo_architecture
from .schema import ConfigError

# A dry run plans every model of a zoo and every shard job; these bounds keep it to seconds
# (measured: 1,668 shard jobs of 60 models, 100k models, plan in 20 s on 2 cores, against
# 18 s for the demo's 30 jobs).
MAX_MODELS_PER_ZOO = 100_000
MAX_SHARD_JOBS = 10_000
MAX_SEED = 2**32 - 1  # numpy.random.seed's and the legacy generators' upper bound
# The largest machine a job may ask for: 4 TiB of host memory (the largest common cluster
# nodes) and 192 GiB of memory on one GPU (the largest single GPU sold, B200).
MAX_HOST_MB = 4 * 2**20
MAX_GPU_MB = 192 * 2**10


def model_count(zoo_cfg: dict) -> int:
    """The number of models a trained zoo's grid x seeds plans, without listing them."""
    n = zoo_cfg.get("seeds", {}).get("count", 1000)
    for values in hyperparameter_grid(zoo_cfg).values():
        n *= len(values)
    return n


def shard_count(zoo_cfg: dict) -> int:
    """The shard jobs :func:`hyperreps.config.plan.plan_shards` makes, counted: the models
    split into groups that share the settings of one vectorised computation, each group
    chunked by ``shard_size``."""
    grid = hyperparameter_grid(zoo_cfg)
    groups = math.prod(len(grid[k]) for k in SHARED_IN_SHARD)
    per_group = model_count(zoo_cfg) // groups
    return groups * math.ceil(per_group / zoo_cfg.get("shard_size", 100))


def check_limits(config: dict) -> None:
    """Every bound of this module, on a config the schema accepted."""
    trained = {n: z for n, z in config["zoos"].items() if "import_from" not in z}
    shards = 0
    for name, zoo in trained.items():
        models = model_count(zoo)
        if models > MAX_MODELS_PER_ZOO:
            raise ConfigError(
                f"config key 'zoos.{name}.seeds.count': the zoo plans {models:,} models (grid x "
                f"seeds), more than the {MAX_MODELS_PER_ZOO:,} a run plans; train it as "
                "several zoos")
        seeds = zoo["seeds"]
        if not seeds["random"] and seeds["first"] + seeds["count"] - 1 > MAX_SEED:
            raise ConfigError(f"config key 'zoos.{name}.seeds.first': seeds run to "
                              f"{seeds['first'] + seeds['count'] - 1}, beyond {MAX_SEED}")
        shards += shard_count(zoo)
        if shards > MAX_SHARD_JOBS:
            raise ConfigError(
                f"config key 'zoos.{name}.shard_size': the config plans more than "
                f"{MAX_SHARD_JOBS:,} shard jobs in all; raise shard_size")
        if autoencoder_config(config, name)["enabled"]:
            _check_split(config, name, models)
    _check_job_sizes(config, trained)


def _check_split(config: dict, name: str, models: int) -> None:
    """A trained zoo with an autoencoder must leave at least two models to train it on and
    one in each of val (probes choose their penalty there, the autoencoder its epoch) and test
    (every table reports it); the split rounds as :func:`hyperreps.splits.split_counts`."""
    s = config["split"]
    counts = split_counts(models, (s["train"], s["val"], s["test"]))
    if counts["train"] < 2 or counts["val"] < 1 or counts["test"] < 1:
        raise ConfigError(
            f"config key 'split': zoo {name!r} has {models} model(s), split "
            f"{counts['train']}/{counts['val']}/{counts['test']} (train/val/test); every "
            "part needs a model and train two (more seeds in "
            f"'zoos.{name}.seeds.count', or other fractions)")


def _too_big(key: str, what: str, mb: float, limit: float, where: str) -> ConfigError:
    return ConfigError(f"config key {key!r}: {what} would need {mb / 2**10:,.0f} GiB of "
                       f"{where}, more than the largest machine has ({limit / 2**10:,.0f} GiB)")


def _check_job_sizes(config: dict, trained: dict) -> None:
    """Shard, fine-tuning and autoencoder jobs sized as rules/resources.smk sizes them."""
    device = "cpu" if config["device"] == "cpu" else "gpu"
    for name, zoo in trained.items():
        mb = population_job(zoo_architecture(zoo), zoo["dataset"],
                            min(zoo["shard_size"], model_count(zoo)), zoo["epochs"], device)[1]
        if mb > MAX_HOST_MB:
            raise _too_big(f"zoos.{name}.shard_size", "a shard job", mb, MAX_HOST_MB, "memory")
    gen = config["generative"]
    for source, target in transfer_pairs(config):
        n = gen["n_models"] * (len(gen["populations"]) + 1)
        zoo = config["zoos"][target]
        mb = population_job(zoo_architecture(zoo), zoo["dataset"], n, 1, device)[1]
        if mb > MAX_HOST_MB:
            raise _too_big("generative.n_models", f"fine-tuning {source} on {target}", mb,
                           MAX_HOST_MB, "memory")
    for name, zoo in config["zoos"].items():
        ae = autoencoder_config(config, name)
        if not ae["enabled"]:
            continue
        key = f"zoos.{name}.autoencoder" if "autoencoder" in zoo else "autoencoder"
        layout = get_architecture(zoo_architecture(zoo)).layout
        arch, batch = ae["architecture"], ae["training"]["batch_size"]
        models = model_count(zoo) if name in trained else 1000
        window = ae["window"]["last"] - ae["window"]["first"] + 1
        host = autoencoder_memory_mb(arch, layout.n_params, ae_tokens(layout), batch,
                                     models * window, device)
        if host > MAX_HOST_MB:
            raise _too_big(f"{key}.architecture", "the autoencoder job (d_model, d_ff, "
                           "n_layers, latent_dim and training.batch_size set it)", host,
                           MAX_HOST_MB, "memory")
        gpu = autoencoder_device_mb(arch, layout.n_params, ae_tokens(layout), batch)
        if device == "gpu" and gpu > MAX_GPU_MB:
            raise _too_big(f"{key}.architecture", "the autoencoder on a GPU (d_model, d_ff, "
                           "n_layers, latent_dim and training.batch_size set it)", gpu,
                           MAX_GPU_MB, "GPU memory")

