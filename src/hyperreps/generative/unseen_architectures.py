"""2022 Table 4, unseen architectures (§4.2.4): sampled weights initialise other architectures.

The S_KDE30 samples of zoo A (vectors of the zoo CNN's 2,464
parameters) initialise other architectures: "making sure that the new architecture still has
the same number of parameters or by initializing randomly the extra parameters introduced".
:func:`transplant` puts the vector at the start of the target's flat layout (main-path layers
first: for ``cnn3_resskip`` these are exactly the zoo CNN's five layers, its 1x1 branches keep
their Kaiming-uniform initialisation) and the rest keeps the target's initialisation; for an
equal-sized architecture (``cnn4``, ``cnn4_idskip``) the vector is re-distributed over its
layers in flat order. Both the generated ("gen.") and the randomly initialised ("r.i.")
population then train with the target zoo's hyperparameters, in one vectorised run.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import torch

from ..architecture import ModelArchitecture, init_parameters
from .finetune import finetune_populations
from .tables import format_mean_std
from ..stats import mann_whitney
from ..zoo import Zoo


GENERATED, RANDOM_INIT = "gen.", "r.i."


def transplant(weights: torch.Tensor, target: ModelArchitecture, scheme: str,
               seeds) -> torch.Tensor:
    """Generated flat vectors ``[n, P]`` as initial weights of ``target`` (``P' >= P``
    parameters): entries ``0..P-1`` of its flat layout take the vector, the rest keep the
    target's initialisation (``scheme``, a layer's own init override, one seed per model)."""
    n, p = weights.shape
    if target.n_params < p:
        raise ValueError(f"{target.name} has {target.n_params} parameters, fewer than the "
                         f"{p} generated")
    if len(seeds) != n:
        raise ValueError(f"{n} models but {len(seeds)} seeds")
    out = torch.stack([init_parameters(target.layout, scheme, s) for s in seeds])
    out[:, :p] = weights.float()
    return out


def unseen_architecture_run(generated: torch.Tensor, target: ModelArchitecture, hp: dict,
                            data, epochs: int, seed: int, device="cpu",
                            progress: bool = False) -> Zoo:
    """``generated`` transplanted onto ``target`` (gen.) and as many models of ``target``
    initialised with the target zoo's scheme (r.i.; model i gets seed ``seed + i`` in both,
    so their non-generated parameters start equal), trained ``epochs`` epochs with ``hp``
    (:func:`hyperreps.generative.finetune.finetune_settings` of the target zoo)."""
    n = len(generated)
    seeds = [seed + i for i in range(n)]
    gen = transplant(generated, target, hp["init"], seeds)
    scratch = torch.stack([init_parameters(target.layout, hp["init"], s) for s in seeds])
    return finetune_populations({GENERATED: gen, RANDOM_INIT: scratch}, hp, data, epochs, seed,
                                device=device, progress=progress, layout=target.layout)


def unseen_architecture_accuracy(run: Zoo) -> pd.DataFrame:
    """Long table: population, model, epoch, test_acc, diverged."""
    meta = run.metadata
    return pd.DataFrame({"population": meta["population"], "model": meta["model_id"],
                         "epoch": meta["epoch"], "test_acc": meta["test_acc"],
                         "diverged": meta["diverged"].astype(bool)})


def unseen_architecture_table(acc: pd.DataFrame, epochs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paper Table 4: per (source, target, architecture) and initialisation, test accuracy
    "mean ± std" (%) after each of ``epochs`` epochs, the best per epoch in bold; and the
    statistics: per epoch the medians, Mann-Whitney U p-value and CLES of gen. vs r.i."""
    rows, stats = [], []
    keys = ["source", "target", "architecture"]
    for (source, target, arch), block in acc.groupby(keys, sort=False):
        means = {}
        for name in (RANDOM_INIT, GENERATED):
            pop = block[block["population"] == name]
            row = {"source": source, "target": target, "architecture": arch,
                   "initialization": name, "n": int(pop["model"].nunique()),
                   "diverged": int(pop.groupby("model")["diverged"].any().sum())}
            for e in epochs:
                v = pop.loc[pop["epoch"] == e, "test_acc"]
                row[f"epoch {e}"] = format_mean_std(v)
                means[name, e] = float(np.nanmean(v)) if np.isfinite(v).any() else -1.0
            rows.append(row)
        for e in epochs:
            best = max((RANDOM_INIT, GENERATED), key=lambda n: means[n, e])
            for row in rows[-2:]:
                if row["initialization"] == best and means[best, e] >= 0:
                    row[f"epoch {e}"] = f"**{row[f'epoch {e}']}**"
            g = block.loc[(block["population"] == GENERATED) & (block["epoch"] == e), "test_acc"]
            r = block.loc[(block["population"] == RANDOM_INIT) & (block["epoch"] == e),
                          "test_acc"]
            test = mann_whitney(g, r)
            stats.append({"source": source, "target": target, "architecture": arch, "epoch": e,
                          "median gen.": float(np.nanmedian(g)) if np.isfinite(g).any() else np.nan,
                          "median r.i.": float(np.nanmedian(r)) if np.isfinite(r).any() else np.nan,
                          "p": test["p_value"], "CLES (gen. > r.i.)": test["cles"],
                          "n gen.": test["n_a"], "n r.i.": test["n_b"]})
    return pd.DataFrame(rows), pd.DataFrame(stats)
