"""Train one shard of a configured zoo: config -> models -> dataset -> population -> zoo."""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from ..architecture import get_architecture
from ..config.plan import expand_models, plan_shards
from ..config.queries import zoo_architecture
from ..data import DataSettings, load_dataset
from ..zoo import Zoo, metadata_table
from .loop import ModelSpec, TrainSettings, train_population

log = logging.getLogger(__name__)


def train_zoo_shard(zoo_cfg: dict, zoo_name: str, shard_index: int, data_settings: DataSettings,
                    device: torch.device, progress: bool = True, checkpoint=None) -> Zoo:
    """Train shard ``shard_index`` of zoo ``zoo_name`` (its validated config block
    ``zoo_cfg``); with ``checkpoint`` (a file) an interrupted job resumes after its last
    finished epoch."""
    shards = plan_shards(zoo_cfg)
    if not 0 <= shard_index < len(shards):
        raise ValueError(f"zoo {zoo_name!r} has shards 0..{len(shards) - 1}, not {shard_index}")
    shard = shards[shard_index]
    models = {m["model_id"]: m for m in expand_models(zoo_cfg)}
    rows = [models[i] for i in shard.model_ids]
    data = load_dataset(zoo_cfg["dataset"], data_settings)
    layout = get_architecture(zoo_architecture(zoo_cfg)).layout
    specs = [ModelSpec(seed=r["seed"], init=r["init"], lr=float(r["lr"]),
                       weight_decay=float(r["weight_decay"]), dropout=float(r["dropout"]))
             for r in rows]
    settings = TrainSettings(activation=rows[0]["activation"], optimizer=rows[0]["optimizer"],
                             batch_size=zoo_cfg["batch_size"], epochs=zoo_cfg["epochs"],
                             data_order=zoo_cfg["data_order"], shuffle_seed=shard.index)
    log.info("zoo %s shard %s: %d models (ids %d..%d), %s, %d train images, on %s",
             zoo_name, shard.name, len(specs), shard.model_ids[0], shard.model_ids[-1],
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
    log.info("shard %d trained in %.1f s on %s", shard.index, time.perf_counter() - t0, device)
    info = dict(model_ids=list(shard.model_ids), zoo=zoo_name, shard=shard.index,
                device=str(device))
    return Zoo(res.weights.float(), meta, layout, zoo_cfg["dataset"], info)
