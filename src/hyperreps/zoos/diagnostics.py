"""Does a zoo have structure that an autoencoder can learn? (measured, not assumed)

A hyper-representation can only reconstruct *unseen* models if the zoo's models share
structure. Four measurements say how much, before any autoencoder is trained:

- **displacement from init**: rms distance each model travelled from its initialisation to
  the window's last epoch, beside the rms spread of the initialisations themselves;
- **init-deviation correlation**: per model, the Pearson correlation of its deviation from the
  zoo mean at epoch 0 and at the window's last epoch (median over models). Near 1 the trained
  models are their random inits plus a small common push: nothing generalises;
- **accuracy spread** at the window's last epoch (test split of the model's data set);
- **the held-out PCA ceiling**: PCA fitted on the training models' checkpoints of the window
  (centred on their mean), the held-out models' checkpoints of the same window projected onto
  the first ``k`` components; R² = 1 - |w - proj(w)|² / |w - mean_train|², the same
  definition as the autoencoder's R². It is what the best *linear* autoencoder with a code of
  width ``k`` reaches on unseen models; reported against ``k`` and against the number of
  training models (subsets of the training split, at the autoencoder's own code width and at
  full rank). Reference line: a *random* k-dimensional subspace keeps k / P of any data's
  variance in expectation (P = weights per model), so only the part of the ceiling above
  k / P is structure; with k close to P every code looks good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..zoo import Zoo
from ..splits import rows_by_split

WIDTHS = (4, 8, 16, 32, 64, 128, 256, 512, 700, 1024)


@dataclass
class ZooDiagnostics:
    summary: dict  # scalars (JSON-able)
    ceiling_by_width: pd.DataFrame  # k, r2_val, r2_test, r2_train
    ceiling_by_models: pd.DataFrame  # n_train_models, k, r2_test, full_rank
    per_model: pd.DataFrame  # model_id, init_correlation, displacement_rms, test_acc


def _finite_rows(w: torch.Tensor) -> torch.Tensor:
    return w[torch.isfinite(w).all(dim=1)]


def pca_basis(train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean ``[P]``, principal directions ``[r, P]`` by decreasing variance) of ``[N, P]``."""
    x = train.double()
    mean = x.mean(0)
    _, _, vh = torch.linalg.svd(x - mean, full_matrices=False)
    return mean, vh


def pca_r2(mean: torch.Tensor, basis: torch.Tensor, held_out: torch.Tensor,
           widths) -> dict[int, float]:
    """Held-out R² of the rank-k projection for each k in ``widths`` (k is capped at the
    basis' rank; the R² baseline is the training mean).

    This is :func:`hyperreps.metrics.r_squared` of the rank-k reconstruction with the
    training mean as baseline, ``r_squared(mean + proj_k(held_out - mean), held_out, mean)``,
    computed analytically from the orthonormal basis: the residual of a rank-k projection is
    |x|² minus the first k squared coefficients, so every k costs one cumulative sum."""
    x = held_out.double() - mean
    total = float((x ** 2).sum())  # the training mean's error: the R² baseline
    coef = x @ basis.T  # [N, r]
    # residual of a rank-k projection = |x|² - sum_{j<k} coef_j² (orthonormal basis)
    explained = torch.cumsum((coef ** 2).sum(0), 0)
    out = {}
    for k in widths:
        k_eff = min(int(k), basis.shape[0])
        resid = total - (float(explained[k_eff - 1]) if k_eff > 0 else 0.0)
        out[int(k)] = 1.0 - resid / total if total > 0 else float("nan")
    return out


def init_deviation_correlation(w0: torch.Tensor, w1: torch.Tensor) -> np.ndarray:
    """Per model, corr(w0_i - mean(w0), w1_i - mean(w1)) for ``[M, P]`` pairs (finite rows)."""
    a = w0.double() - w0.double().mean(0)
    b = w1.double() - w1.double().mean(0)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    r = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)
    return r.numpy()


def zoo_diagnostics(zoo: Zoo, split: dict, window: tuple[int, int], code_width: int,
                 widths=WIDTHS, n_models_steps: int = 6, seed: int = 0) -> ZooDiagnostics:
    """Every measurement of the module docstring for the zoo's autoencoder window
    ``[first, last]``; ``code_width`` is the autoencoder's effective bottleneck width."""
    first, last = window
    try:
        zoo.positions_between(first, last)
    except ValueError as e:
        raise ValueError(f"epoch window [{first}, {last}]: {e}") from None
    rows = rows_by_split(zoo, split, window)
    sets = {k: _finite_rows(zoo.weights[m, e]) for k, (m, e) in rows.items()}
    if len(sets["train"]) < 2:
        raise ValueError("the training split has fewer than 2 finite checkpoints in the window")

    # displacement and init-deviation correlation over all usable models
    usable = [m for s in ("train", "val", "test") for m in split[s]]
    sub = zoo.select(usable)
    end = zoo.position(last)  # index of the window's last checkpoint on the epoch axis
    w0, w1 = sub.weights[:, 0], sub.weights[:, end]
    ok = torch.isfinite(w0).all(1) & torch.isfinite(w1).all(1)
    w0, w1 = w0[ok].double(), w1[ok].double()
    ids = np.asarray(sub.model_ids)[ok.numpy()]
    P = w0.shape[1]
    displacement = ((w1 - w0).norm(dim=1) / P ** 0.5).numpy()
    init_spread = float(((w0 - w0.mean(0)) ** 2).mean().sqrt())
    final_spread = float(((w1 - w1.mean(0)) ** 2).mean().sqrt())
    corr = init_deviation_correlation(w0, w1)
    acc = sub.metric("test_acc")[ok.numpy(), end]

    # PCA ceiling against width (held-out val and test; train for reference)
    mean, basis = pca_basis(sets["train"])
    widths = sorted(set(int(k) for k in widths) | {int(code_width)})
    by_width = {"k": widths}
    for name in ("train", "val", "test"):
        if len(sets[name]):
            r2 = pca_r2(mean, basis, sets[name], widths)
            by_width[f"r2_{name}"] = [r2[k] for k in widths]
    by_width = pd.DataFrame(by_width)
    by_width["random_subspace"] = np.minimum(by_width["k"] / P, 1.0)

    # PCA ceiling against the number of training models (random subsets, one seed)
    held = sets["test"] if len(sets["test"]) else sets["val"]  # the held-out checkpoints
    train_models = np.array(split["train"])
    rng = np.random.default_rng(seed)
    order = rng.permutation(train_models)
    n_all = len(train_models)
    steps = np.unique(np.clip(np.geomspace(min(4, n_all), n_all, n_models_steps).round()
                              .astype(int), 2, n_all))
    rows_m = []
    for n in steps:
        part = {"train": sorted(int(m) for m in order[:n]), "val": [], "test": []}
        m_idx, e_idx = rows_by_split(zoo, part, window)["train"]
        tr = _finite_rows(zoo.weights[m_idx, e_idx])
        if len(tr) < 2 or not len(held):
            continue
        mu, b = pca_basis(tr)
        r2 = pca_r2(mu, b, held, [code_width, b.shape[0]])
        rows_m.append(dict(n_train_models=int(n), k=int(code_width), r2_test=r2[int(code_width)]))
        rows_m.append(dict(n_train_models=int(n), k=int(b.shape[0]), r2_test=r2[b.shape[0]],
                           full_rank=True))
    by_models = pd.DataFrame(rows_m)
    by_models = by_models.reindex(columns=["n_train_models", "k", "r2_test", "full_rank"])
    by_models["full_rank"] = by_models["full_rank"].fillna(False).astype(bool)

    held_name = "r2_test" if "r2_test" in by_width else "r2_val"
    if held_name not in by_width:  # no held-out model at all: no ceiling to report
        by_width[held_name] = np.nan
    at_code = float(by_width.loc[by_width["k"] == code_width, held_name].iloc[0])
    full = (pca_r2(mean, basis, held, [basis.shape[0]])[basis.shape[0]] if len(held)
            else float("nan"))
    summary = dict(
        n_models=int(ok.sum()), n_params=int(P), window=[int(first), int(last)],
        n_checkpoints={k: int(len(v)) for k, v in sets.items()},
        displacement_rms_median=float(np.median(displacement)),
        init_spread_rms=init_spread, final_spread_rms=final_spread,
        init_correlation_median=float(np.median(corr)),
        init_correlation_q25=float(np.quantile(corr, 0.25)),
        init_correlation_q75=float(np.quantile(corr, 0.75)),
        test_acc_median=float(np.nanmedian(acc)), test_acc_min=float(np.nanmin(acc)),
        test_acc_max=float(np.nanmax(acc)),
        test_acc_iqr=float(np.nanquantile(acc, 0.75) - np.nanquantile(acc, 0.25)),
        code_width=int(code_width), pca_ceiling_at_code_width=at_code,
        pca_ceiling_full_rank=float(full), full_rank=int(basis.shape[0]),
        random_subspace_at_code_width=float(min(code_width / P, 1.0)),
        pca_ceiling_split=held_name.removeprefix("r2_"),
    )
    per_model = pd.DataFrame(dict(model_id=ids, init_correlation=corr,
                                  displacement_rms=displacement, test_acc=acc))
    return ZooDiagnostics(summary, by_width, by_models, per_model)


def summary_table(diag: ZooDiagnostics) -> pd.DataFrame:
    """The scalars as a two-column table (quantity, value) for the report."""
    s = diag.summary
    rows = [
        ("models (finite at the window's last epoch)", s["n_models"]),
        ("weights per model", s["n_params"]),
        ("autoencoder window (epochs)", f"{s['window'][0]}-{s['window'][1]}"),
        ("training / val / test checkpoints", "{train} / {val} / {test}".format(
            **s["n_checkpoints"])),
        ("rms displacement init -> last epoch (median)", s["displacement_rms_median"]),
        ("rms spread of the inits / of the last epoch", f"{s['init_spread_rms']:.4g} / "
                                                        f"{s['final_spread_rms']:.4g}"),
        ("init-deviation correlation, median [q25, q75]",
         f"{s['init_correlation_median']:.3f} [{s['init_correlation_q25']:.3f}, "
         f"{s['init_correlation_q75']:.3f}]"),
        ("test accuracy median (min-max, IQR)",
         f"{s['test_acc_median']:.3f} ({s['test_acc_min']:.3f}-{s['test_acc_max']:.3f}, "
         f"{s['test_acc_iqr']:.3f})"),
        (f"PCA ceiling ({s['pca_ceiling_split']} R²) at the code width {s['code_width']}",
         s["pca_ceiling_at_code_width"]),
        (f"PCA ceiling ({s['pca_ceiling_split']} R²) at full rank ({s['full_rank']})",
         s["pca_ceiling_full_rank"]),
        (f"a random {s['code_width']}-dim subspace (k / P, no structure)",
         s["random_subspace_at_code_width"]),
    ]
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return pd.DataFrame([(q, fmt(v)) for q, v in rows], columns=["quantity", "value"])


def zoo_properties(zoo: Zoo, max_points: int = 5000, seed: int = 0) -> pd.DataFrame:
    """2021 App. Fig. 3 rows 2-5: per checkpoint (at most ``max_points`` finite ones, a seeded
    random subset), its test accuracy, the mean of its weights, its epoch and hyperparameters,
    and a 2-D UMAP of the weights (15 neighbours, min_dist 0.1, seeded)."""
    import umap  # imported here: importing umap compiles numba code

    n, e, p = zoo.weights.shape
    flat = zoo.weights.reshape(n * e, p)
    ok = np.flatnonzero(torch.isfinite(flat).all(dim=1).numpy())
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(ok, size=min(max_points, len(ok)), replace=False))
    w = flat[pick].double().numpy()
    models = zoo.models()
    table = pd.DataFrame({"model": pick // e, "epoch": zoo.epochs[pick % e],
                          "test_acc": zoo.metric("test_acc").reshape(-1)[pick],
                          "mean_weight": w.mean(axis=1)})
    for col in ("activation", "init", "lr"):
        if col in models:
            table[col] = models[col].to_numpy()[table["model"]]
    reducer = umap.UMAP(n_neighbors=min(15, len(w) - 1), min_dist=0.1, n_components=2,
                        random_state=seed)
    xy = reducer.fit_transform(w)
    table["umap_1"], table["umap_2"] = xy[:, 0], xy[:, 1]
    return table
