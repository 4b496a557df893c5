"""The permutation-equivalence check of 2021 App. A (App. Fig. 1), run on real data.

2021 App. A: "we randomly initialize model A and train it for 10 epochs. We pick one random
permutation, and permute all epochs of model A. For the permuted version Ap we compute the test
accuracy for all epochs. [...] To test the backwards pass, we create model B as a copy of Ap at
initialization, and train for 10 epochs. Again, train and test epochs of A and B lie on top of
each other."

Here A is the first model of a zoo's configuration (its seed, initialisation and
hyperparameters), trained with the population trainer; the permutation is one uniform random
permutation of every hidden layer (:mod:`hyperreps.augment`). B is trained from Ap's epoch 0
with A's data order, so it should stay P(A) at every epoch: the forward pass (Ap's accuracy
equals A's) and the backward pass (B's weights equal the permuted A's, up to float rounding)
are both measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..architecture import zoo_cnn_layout
from ..augment import permutation_index, random_permutations
from ..layout import ParameterLayout
from ..trainer.evaluate import evaluate_weights
from ..trainer.loop import train_population
from ..trainer.specs import ModelSpec, TrainSettings


def permutation_equivalence(spec: ModelSpec, settings: TrainSettings, data, seed: int = 0,
                            device="cpu", dtype: torch.dtype = torch.float32,
                            layout: ParameterLayout | None = None) -> pd.DataFrame:
    """Train A, permute it, train B from Ap's start; per epoch: the test accuracy of A, Ap and
    B, the train accuracy of A and B, and ``max_abs_diff`` = max |B - P(A)| over the weights
    (``rel_diff``: divided by max |A|)."""
    layout = layout or zoo_cnn_layout(data.channels)
    evals = {"test": data.test}
    a = train_population([spec], settings, data.train, evals, layout, device=device,
                         dtype=dtype)
    perms = random_permutations(layout, 1, torch.Generator().manual_seed(seed))
    index = permutation_index(layout, perms)[0]
    a_w = a.weights[0]
    ap_w = a_w[:, index]
    b = train_population([spec], settings, data.train, evals, layout, device=device,
                         dtype=dtype, init_weights=ap_w[:1])
    b_w = b.weights[0]
    _, acc_ap = evaluate_weights(ap_w.float(), settings.activation, data.test, device,
                                 layout=layout)
    diff = (b_w - ap_w).abs().amax(dim=1).double().numpy()
    scale = a_w.abs().amax(dim=1).double().numpy()
    return pd.DataFrame({
        "epoch": np.arange(len(a_w)),
        "test_acc_A": a.metrics["test_acc"][0], "test_acc_Ap": acc_ap,
        "test_acc_B": b.metrics["test_acc"][0],
        "train_acc_A": a.metrics["train_acc"][0], "train_acc_B": b.metrics["train_acc"][0],
        "max_abs_diff": diff, "rel_diff": diff / scale,
        "permuted_fraction": float((index != torch.arange(len(index))).double().mean()),
    })


def equivalence_settings(model: dict, epochs: int) -> tuple[ModelSpec, TrainSettings]:
    """The ModelSpec and TrainSettings of one model row of
    :func:`hyperreps.config.plan.expand_models` trained for ``epochs`` epochs (no dropout: its
    masks are drawn per unit position, so a permuted model would see other masks)."""
    spec = ModelSpec(seed=model["seed"], init=model["init"], lr=float(model["lr"]),
                     weight_decay=float(model["weight_decay"]), dropout=0.0)
    settings = TrainSettings(activation=model["activation"], optimizer=model["optimizer"],
                             batch_size=int(model["batch_size"]), epochs=epochs,
                             shuffle_seed=model["seed"])
    return spec, settings
