"""Fine-tune populations on a target zoo's data with the population trainer (no second
training loop), and evaluate ensembles (2022 §4.2, Fig. 5).

Every population of a (source, target) pair trains in one vectorised computation from its
weights: accuracy at epoch 0 is the population as sampled, then one row per epoch. All
training hyperparameters are the target zoo's, activation included (2022 §4.1 "Fine-tuning
uses the hyperparameters of the target domain"; the reference ``finetune_single`` loads the
whole target config with ``model_config="target"``): CIFAR-10 (gelu) -> STL-10 (tanh) models
are fine-tuned and evaluated with tanh. B_T, trained from scratch on the target, is the
target zoo's test split over its own epochs.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ..architecture import zoo_cnn_layout
from ..config.plan import HYPERPARAMETERS
from ..layout import ParameterLayout
from ..trainer.loop import train_population
from ..trainer.specs import ModelSpec, TrainSettings
from ..zoo import Zoo, metadata_table, single_setting

FINETUNE_SETTINGS = (*HYPERPARAMETERS, "batch_size")

log = logging.getLogger(__name__)


def finetune_settings(target: Zoo) -> dict:
    """The target zoo's training hyperparameters (activation, init, optimizer, lr,
    weight_decay, dropout, batch_size), read from its models' metadata (trained or imported);
    ValueError where its models differ in one of them."""
    hp = {k: single_setting(target, k) for k in FINETUNE_SETTINGS}
    hp["batch_size"] = int(hp["batch_size"])
    for k in ("lr", "weight_decay", "dropout"):
        hp[k] = float(hp[k])
    return hp


def finetune_populations(populations: dict[str, torch.Tensor], hp: dict, data, epochs: int,
                         seed: int, data_order: str = "per_model", device="cpu",
                         progress: bool = False, checkpoint=None,
                         layout: ParameterLayout | None = None) -> Zoo:
    """All populations stacked into one population run with the hyperparameters ``hp``
    (:func:`finetune_settings` of the target zoo); returns a zoo whose metadata has a
    ``population`` column and ``model_id`` numbering the stacked models."""
    names = [n for n, w in populations.items() for _ in range(len(w))]
    weights = torch.cat([w.float() for w in populations.values()])
    specs = [ModelSpec(seed=seed + i, init=hp["init"], lr=hp["lr"],
                       weight_decay=hp["weight_decay"], dropout=hp["dropout"])
             for i in range(len(weights))]
    activation = hp["activation"]
    settings = TrainSettings(activation=activation, optimizer=hp["optimizer"],
                             batch_size=hp["batch_size"], epochs=epochs,
                             data_order=data_order, shuffle_seed=seed)
    finite = torch.isfinite(weights).all(dim=1)
    init = torch.where(finite[:, None], weights, torch.zeros_like(weights))
    layout = layout or zoo_cnn_layout(data.channels)
    log.info("fine-tuning %d models (%s) for %d epochs: %s", len(weights),
             ", ".join(f"{k} {len(v)}" for k, v in populations.items()), epochs, settings)
    res = train_population(specs, settings, data.train, data.evals(), layout, device=device,
                           init_weights=init, progress=progress, checkpoint=checkpoint)
    diverged = res.diverged_epoch.copy()
    w = res.weights.float()
    for i in torch.nonzero(~finite).flatten().tolist():  # decoded to non-finite: diverged at 0
        diverged[i] = 0
        w[i] = float("nan")
        for v in res.metrics.values():
            v[i] = np.nan
    rows = [dict(model_id=i, seed=s.seed, population=n, activation=activation, init="sampled",
                 optimizer=hp["optimizer"], lr=s.lr, weight_decay=s.weight_decay,
                 dropout=s.dropout, batch_size=hp["batch_size"])
            for i, (n, s) in enumerate(zip(names, specs))]
    meta = metadata_table(rows, res.metrics, diverged)
    return Zoo(w, meta, layout, data.name,
               {"model_ids": list(range(len(rows)))})


def accuracy_table(finetuned: Zoo, target_zoo: Zoo, target_split: dict,
                   novelty: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table: population, model, epoch, test_acc, diverged, nn_distance, nn_agreement
    for the fine-tuned populations and B_T (the target zoo's test split)."""
    meta = finetuned.metadata
    table = pd.DataFrame({
        "population": meta["population"], "model": meta["model_id"], "epoch": meta["epoch"],
        "test_acc": meta["test_acc"], "diverged": meta["diverged"].astype(bool)})
    for col, values in novelty.items():
        table[col] = np.asarray(values)[table["model"].to_numpy()]
    bt = target_zoo.select(target_split["test"])
    acc = bt.metric("test_acc")
    ids = bt.info["model_ids"]
    models = bt.models().set_index("model_id")
    bt_rows = pd.DataFrame({
        "population": "B_T", "model": np.repeat(np.arange(len(ids)), acc.shape[1]),
        "epoch": np.tile(bt.epochs, len(ids)), "test_acc": acc.flatten(),
        "diverged": np.repeat(models.loc[ids, "diverged"].astype(bool).to_numpy(),
                              acc.shape[1])})
    return pd.concat([table, bt_rows], ignore_index=True)


def ensemble_accuracy(probs: torch.Tensor, labels: torch.Tensor, max_size: int, draws: int,
                      seed: int) -> pd.DataFrame:
    """Ensembles of 1..max_size members drawn without replacement (``draws`` random draws
    per size); prediction = argmax of the members' mean softmax. Non-finite members are
    left out. Returns size, accuracy_mean, accuracy_std, accuracy_max (over the draws)."""
    ok = torch.isfinite(probs).flatten(1).all(dim=1)
    probs = probs[ok]
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(1, min(max_size, len(probs)) + 1):
        accs = []
        for _ in range(draws):
            members = rng.choice(len(probs), size=k, replace=False)
            pred = probs[members].mean(0).argmax(-1)
            accs.append(float((pred == labels).double().mean()))
        rows.append(dict(size=k, accuracy_mean=np.mean(accs), accuracy_std=np.std(accs),
                         accuracy_max=np.max(accs)))
    return pd.DataFrame(rows)


def reconstructed_finetuning(original: torch.Tensor, reconstructed: torch.Tensor, hp: dict,
                              data, epochs: int, seed: int, layout: ParameterLayout,
                              device="cpu") -> tuple[pd.DataFrame, pd.DataFrame]:
    """2022 §4.2.2 Fig. 6: fine-tune test models (``original`` ``[N, P]``) and their
    reconstructions side by side with the target's hyperparameters and the same seed per
    pair (model i of both gets seed ``seed + i``: the same data order). Returns
    the long accuracy table (population, pair, epoch, test_acc) and per pair and epoch the
    distance between the two (Euclidean, and the cosine similarity of their weight vectors
    and of their displacements from the start)."""
    n = len(original)
    runs = {name: finetune_populations({name: weights}, hp, data, epochs, seed, device=device,
                                       layout=layout)  # the same seeds per pair in both
            for name, weights in (("w", original), ("w_hat", reconstructed))}
    acc = pd.concat([pd.DataFrame({"population": name, "pair": r.metadata["model_id"],
                                   "epoch": r.metadata["epoch"],
                                   "test_acc": r.metadata["test_acc"]})
                     for name, r in runs.items()], ignore_index=True)
    w, w_hat = runs["w"].weights.double(), runs["w_hat"].weights.double()
    dist = (w - w_hat).norm(dim=-1)
    cos = torch.nn.functional.cosine_similarity(w, w_hat, dim=-1)
    dw, dw_hat = w - w[:, :1], w_hat - w_hat[:, :1]
    cos_step = torch.nn.functional.cosine_similarity(dw, dw_hat, dim=-1)
    rows = [dict(pair=i, epoch=e, distance=float(dist[i, e]), cosine=float(cos[i, e]),
                 displacement_cosine=float(cos_step[i, e]) if e > 0 else np.nan)
            for i in range(n) for e in range(w.shape[1])]
    return acc, pd.DataFrame(rows)
