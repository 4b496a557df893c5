"""2022 Table 3, unseen zoos (§4.2.3): a hyper-representation used outside its own zoo.

The autoencoder trained on zoo A samples models for zoo B, of the same
architecture but another task, "without the need to retrain a hyper-representation". B's
training-split checkpoints of the autoencoder's window are encoded by A's autoencoder, the
top 30% by test accuracy are the anchors of S_KDE30, and the decoded samples are evaluated on
B's test split as single models and as ensembles ("mean / max accuracy"). The paper reports
them as decoded; here they are then also fine-tuned with B's hyperparameters and compared with
B_T (B's own test models trained from scratch) after the same number of epochs.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import torch

from ..autoencoder.model import HyperAutoencoder
from ..autoencoder.train import decode_latents, encode_weights
from .finetune import ensemble_accuracy
from ..sampling.samplers import draw_latents, top_fraction_mask
from ..stats import mann_whitney
from ..trainer.evaluate import class_probabilities
from ..zoo import Zoo
from ..splits import rows_by_split


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
            try:
                at = zoo.position(epoch)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
            models.append(pd.DataFrame({"population": name, "epoch": epoch,
                                        "model": np.arange(len(acc)), "test_acc": acc[:, at]}))
            probs = class_probabilities(zoo.weights[:, at], activation, test, device,
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
