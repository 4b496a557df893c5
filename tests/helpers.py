"""Small zoos for the tests."""

import numpy as np
import torch

from hyperreps.architecture import ParameterLayout
from hyperreps.metrics import METRICS
from hyperreps.zoo import Zoo, metadata_table


def make_zoo(n_models=6, n_epochs=3, channels=1, diverged=(), first_id=0, seed=0,
             activation="tanh"):
    layout = ParameterLayout.for_channels(channels)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n_models, n_epochs, layout.n_params, generator=g)
    metrics = {k: np.random.default_rng(seed).uniform(0, 1, (n_models, n_epochs))
               for k in METRICS}
    div = np.full(n_models, -1)
    for i in diverged:
        div[i] = 1
        w[i, 1:] = float("nan")
        for v in metrics.values():
            v[i, 1:] = np.nan
    ids = list(range(first_id, first_id + n_models))
    rows = [dict(model_id=m, seed=m + 1, activation=activation, init="uniform", optimizer="adam",
                 lr=3e-4, weight_decay=0.0, dropout=0.0, batch_size=10) for m in ids]
    return Zoo(w, metadata_table(rows, metrics, div), layout, "digits", {"model_ids": ids})
