"""Hyper-representations used outside their own zoo (2022 §4.2.3 and §4.2.4).

Table 3, unseen zoos: the autoencoder trained on zoo A samples models for zoo B, of the same
architecture but another task, "without the need to retrain a hyper-representation". B's
training-split checkpoints of the autoencoder's window are encoded by A's autoencoder, the
top 30% by test accuracy are the anchors of S_KDE30, and the decoded samples are evaluated on
B's test split as single models and as ensembles ("mean / max accuracy"). The paper reports
them as decoded; here they are then also fine-tuned with B's hyperparameters and compared with
B_T (B's own test models trained from scratch) after the same number of epochs.

Table 4, unseen architectures: the S_KDE30 samples of zoo A (vectors of the zoo CNN's 2,464
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

import logging

import numpy as np
import pandas as pd
import torch

from .architecture import ModelArchitecture, init_parameters
from .autoencoder.model import HyperAutoencoder
from .autoencoder.train import decode_latents, encode_weights
from .finetune import ensemble_accuracy, finetune_populations
from .reports import format_mean_std
from .sampling import draw_latents, top_fraction_mask
from .stats import mann_whitney
from .trainer.evaluate import class_probabilities
from .zoo import Zoo, rows_by_split

log = logging.getLogger(__name__)

GENERATED, RANDOM_INIT = "gen.", "r.i."


# --------------------------------------------------------------------------- Table 3


def samples_for_zoo(model: HyperAutoencoder, zoo: Zoo, split: dict, window: tuple[int, int],
                    n: int, seed: int, kde: dict, top_fraction: float = 0.3, device="cpu"
                    ) -> tuple[torch.Tensor, dict]:
    """S_KDE30 from ``model`` with the anchors of another zoo: ``zoo``'s training-split
    checkpoints in ``window`` (inclusive), encoded by ``model``; the top ``top_fraction`` by
    test accuracy are the KDE's anchors. Returns the decoded weights ``[n, P]`` and counts."""
    if model.layout != zoo.layout:
        raise ValueError(f"the autoencoder reads another architecture's weights "
                         f"({model.layout.n_params} parameters) than the zoo's "
                         f"{zoo.layout.architecture} ({zoo.layout.n_params})")
    m, e = rows_by_split(zoo, split, window)["train"]
    w = zoo.weights[m, e].float()
    acc = zoo.metric("test_acc")[m, e]
    ok = torch.isfinite(w).all(dim=1).numpy() & np.isfinite(acc)
    if not ok.any():
        raise ValueError(f"zoo has no finite training checkpoint in epochs {window}")
    z = encode_weights(model, w[ok], device=device).numpy()
    top = top_fraction_mask(acc[ok], top_fraction)
    latents = draw_latents("kde", z[top], n, seed, kde)
    weights = decode_latents(model, torch.from_numpy(latents), device=device)
    return weights, {"anchors": int(ok.sum()), "top_anchors": int(top.sum()),
                     "anchor_acc_top_mean": float(acc[ok][top].mean())}


def unseen_zoo_accuracy(finetuned: Zoo, target: Zoo, split: dict, test, epochs, activation: str,
                        ensemble_size: int, draws: int, seed: int, device="cpu"
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Single-model and ensemble test accuracy of the fine-tuned samples (``finetuned``, epoch 0
    = as decoded) and of B_T (``target``'s test split) after each of ``epochs`` epochs.
    Returns (models: population, epoch, model, test_acc; ensembles: population, epoch, draw,
    size, accuracy)."""
    bt = target.select(split["test"])
    models, ensembles = [], []
    for name, zoo in (("S_KDE30", finetuned), ("B_T", bt)):
        acc = zoo.metric("test_acc")
        for epoch in epochs:
            if epoch >= zoo.n_epochs:
                raise ValueError(f"{name} has epochs 0..{zoo.n_epochs - 1}, not {epoch}")
            models.append(pd.DataFrame({"population": name, "epoch": epoch,
                                        "model": np.arange(len(acc)), "test_acc": acc[:, epoch]}))
            probs = class_probabilities(zoo.weights[:, epoch], activation, test, device,
                                        zoo.layout)
            ens = ensemble_accuracy(probs, test.y, ensemble_size, draws, seed).iloc[-1]
            ensembles.append(dict(population=name, epoch=epoch, size=int(ens["size"]),
                                  accuracy_mean=float(ens["accuracy_mean"]),
                                  accuracy_max=float(ens["accuracy_max"])))
    return pd.concat(models, ignore_index=True), pd.DataFrame(ensembles)


def _mean_max(values) -> str:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return f"{100 * x.mean():.1f} / {100 * x.max():.1f}" if x.size else "n/a"


def unseen_zoo_table(models: pd.DataFrame, ensembles: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 3, one row per (training zoo, conditioning zoo, epoch): "mean / max" test
    accuracy (%) of the samples as single models and as ensembles, B_T's the same after the
    same epochs, and the Mann-Whitney U test of the single samples against B_T."""
    rows = []
    for (source, target, epoch), block in models.groupby(["source", "target", "epoch"],
                                                         sort=False):
        s = block.loc[block["population"] == "S_KDE30", "test_acc"]
        b = block.loc[block["population"] == "B_T", "test_acc"]
        ens = ensembles[(ensembles["source"] == source) & (ensembles["target"] == target)
                        & (ensembles["epoch"] == epoch)].set_index("population")

        def ensemble_cell(name):
            if name not in ens.index:
                return "n/a"
            mean, best = ens.loc[name, ["accuracy_mean", "accuracy_max"]]
            return f"{100 * mean:.1f} / {100 * best:.1f}"

        test = mann_whitney(s, b)
        rows.append({"training zoo": source, "conditioning zoo (unseen)": target, "epoch": epoch,
                     "one model": _mean_max(s), "ensemble": ensemble_cell("S_KDE30"),
                     "B_T one model": _mean_max(b), "B_T ensemble": ensemble_cell("B_T"),
                     "ensemble size": int(ens["size"].iloc[0]) if len(ens) else 0,
                     "n": int(test["n_a"]), "n_B_T": int(test["n_b"]),
                     "p (vs B_T)": test["p_value"], "CLES (vs B_T)": test["cles"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Table 4


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
    (:func:`hyperreps.finetune.finetune_settings` of the target zoo)."""
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
