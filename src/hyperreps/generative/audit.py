"""Audit any generator's models on a zoo's novelty frontier (issue 32): "are my generated models
new?", answered with the pipeline's own measures against the zoo's own noise curves and
independently trained models.

The frontier a pipeline run wrote (``novelty_frontier/<zoo>/``: every measured model, the noise
curves' members, ``settings.json``) gives the curves and the zoo's independent models as they
were measured; the audited models are measured against the same references (the zoo's training
checkpoints of the window, their reconstructions, their error masks on the test split) and
placed with :func:`~hyperreps.generative.novelty_curves.frontier_table`, whose bootstrap seeds
depend on a population's name only: a population of the run audited again from its exported
files gets its row of the run's table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from ..untrusted_files import read_text
from .novelty_curves import CURVES, ZOO_MODELS, curve_points, frontier_table
from .novelty_frontier import (SETTINGS_FILE, FrontierResult, frontier_references,
                               measure_models)

MODELS_FILE = "models.csv"


def read_frontier(folder) -> tuple[pd.DataFrame, dict]:
    """A run's ``novelty_frontier/<zoo>/`` folder: its measured models and its settings."""
    folder = Path(folder)
    settings = json.loads(read_text(folder / SETTINGS_FILE, 1 << 20))
    models = pd.read_csv(folder / MODELS_FILE, float_precision="round_trip")  # bit for bit
    missing = {"population", "test_acc", "max_error_iou", "l2_checkpoint"} - set(models)
    if missing:
        raise ValueError(f"{folder / MODELS_FILE}: columns {sorted(missing)} missing")
    return models, settings


def audit_models(populations: dict[str, torch.Tensor], frontier: pd.DataFrame, settings: dict,
                 zoo, split: dict, autoencoder, embeddings: torch.Tensor, data, device="cpu"
                 ) -> FrontierResult:
    """Every group of ``populations`` (name -> weights ``[N, P]`` of the zoo's architecture)
    measured on the zoo's test split ``data`` and placed on the run's ``frontier`` (its
    ``models.csv``) made with ``settings``: the table has a row per audited group and curve,
    and the zoo's own models' rows as the run had them."""
    window = tuple(settings["window"])
    refs = frontier_references(zoo, split, window, autoencoder, embeddings, data,
                               settings["activation"], device)
    frames, masks = [], {}
    for name, weights in populations.items():
        if weights.shape[1:] != (zoo.layout.n_params,):
            raise ValueError(f"{name}: weights {tuple(weights.shape)}, the zoo's models have "
                             f"{zoo.layout.n_params} parameters ({zoo.layout.architecture})")
        df, masks[name] = measure_models(name, weights.float(), refs)
        frames.append(df)
    zoo_rows = frontier[frontier["population"].isin(ZOO_MODELS)]
    members = frontier[frontier["population"].isin(list(CURVES))]
    members = members.assign(curve=members["population"])
    measured = pd.concat(frames + [zoo_rows], ignore_index=True)
    table = frontier_table(measured, members, settings["bootstrap"], settings["seed"])
    return FrontierResult(pd.concat([measured, members.drop(columns="curve")],
                                    ignore_index=True),
                          curve_points(members), table, masks, settings)
