"""Train one shard of a zoo: the models Snakemake planned for it -> dataset -> population ->
zoo. The plan (which models, with which seeds and hyperparameters, share a shard) is made once,
by the workflow (:func:`hyperreps.config.plan.plan_shards` in ``rules/common.smk``), and reaches
the job as its ``params``; the job does not plan again."""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from ..architecture import get_architecture
from ..config.plan import SHARED_IN_SHARD
from ..data import DataSettings, load_dataset
from ..trainer.loop import train_population
from ..trainer.specs import ModelSpec, TrainSettings
from ..zoo import Zoo, metadata_table

log = logging.getLogger(__name__)


def train_zoo_shard(rows: list[dict], training: dict, architecture: str, shard_index: int,
                    zoo_name: str, data_settings: DataSettings, device: torch.device,
                    progress: bool = True, checkpoint=None) -> Zoo:
    """Train the models ``rows`` (one dict per model: ``model_id``, ``seed`` and the
    hyperparameters, as :func:`hyperreps.config.plan.expand_models` gives them) of shard
    ``shard_index`` of zoo ``zoo_name`` as one population of the registered ``architecture``;
    ``training``: the zoo's ``dataset``, ``batch_size``, ``epochs`` and ``data_order``. With
    ``checkpoint`` (a file) an interrupted job resumes after its last finished epoch."""
    if not rows:
        raise ValueError(f"zoo {zoo_name!r} shard {shard_index}: no models")
    for key in SHARED_IN_SHARD:  # the plan groups models by them
        values = {r[key] for r in rows}
        if len(values) > 1:
            raise ValueError(f"zoo {zoo_name!r} shard {shard_index}: models differ in {key} "
                             f"({sorted(values)}), which a shard shares")
    ids = [int(r["model_id"]) for r in rows]
    data = load_dataset(training["dataset"], data_settings)
    layout = get_architecture(architecture).layout
    specs = [ModelSpec(seed=r["seed"], init=r["init"], lr=float(r["lr"]),
                       weight_decay=float(r["weight_decay"]), dropout=float(r["dropout"]))
             for r in rows]
    settings = TrainSettings(activation=rows[0]["activation"], optimizer=rows[0]["optimizer"],
                             batch_size=training["batch_size"], epochs=training["epochs"],
                             data_order=training["data_order"], shuffle_seed=shard_index)
    log.info("zoo %s shard %04d: %d models (ids %d..%d), %s, %d train images, on %s",
             zoo_name, shard_index, len(specs), ids[0], ids[-1],
             settings, len(data.train), device)
    t0 = time.perf_counter()

    def report(epoch, metrics):
        acc = metrics["test_acc"][:, epoch]  # NaN for diverged models
        log.info("epoch %d/%d: test acc median %.3f (min %.3f, max %.3f), %.0f s", epoch,
                 settings.epochs, np.nanmedian(acc), np.nanmin(acc), np.nanmax(acc),
                 time.perf_counter() - t0)

    res = train_population(specs, settings, data.train, data.evals(), layout, device=device,
                           progress=progress, on_epoch=report, checkpoint=checkpoint)
    for r, d in zip(rows, res.diverged_epoch):
        if d >= 0:
            log.warning("model %d (seed %d) diverged in epoch %d", r["model_id"], r["seed"], d)
    meta = metadata_table(rows, res.metrics, res.diverged_epoch)
    # the time goes to the log (and the job's benchmark file), not into the zoo: two runs of
    # the same config write the same bytes
    log.info("shard %d trained in %.1f s on %s", shard_index, time.perf_counter() - t0, device)
    info = dict(model_ids=ids, zoo=zoo_name, shard=shard_index, device=str(device))
    return Zoo(res.weights.float(), meta, layout, training["dataset"], info)
