"""Research script (issue 32): generators that mix independent solutions, placed on a finished
run's novelty frontier at equal accuracy (ΔIoU, gap closed), without touching its outputs.

    .venv/bin/python experiments/mixing_generators.py results/demo digits --window 5 10

Candidates (weight space; the autoencoder only provides the frontier's reconstructed curve):
- ``pca_gauss_<s>``: a Gaussian on the PCA coefficients of the training models' window-end
  checkpoints aligned by weight matching (DeepWeightFlow's recipe without the flow), its
  spread scaled by s;
- ``mix<k>_<t>``: k aligned parents mixed with Dirichlet(t) weights, each unit's weight rows
  rescaled to the parents' mixed norm (a norm repair; REPAIR's per-unit statistics
  approximated by weight norms);
- ``raw_mix2``: two parents mixed without alignment (the control);
- ``<gen>_qd``: a pool 5x the size drawn from ``<gen>``, the n with the highest validation
  accuracy x (1 - validation max error-IoU) kept among those above the training models'
  validation accuracy floor; ``noise_qd`` is noise on the top-30% checkpoints (the curve's
  construction, sigmas of the curve drawn uniformly) under the same selection. Selection uses
  the validation split only; the frontier measures the test split.
Prints the frontier table on the raw noise curve (docs/experiments.md, issue 32).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.config.schema import load_schema
from hyperreps.data import load_dataset
from hyperreps.generative.novelty_frontier import novelty_frontier
from hyperreps.generative.novelty_measures import audit_measures, error_masks
from hyperreps.representation.embeddings import load_embeddings
from hyperreps.sampling.samplers import top_fraction_mask
from hyperreps.splits import load_split, rows_by_split
from hyperreps.weight_matching import align_to_mean, mean_pairwise_l2
from hyperreps.zoo import load_zoo, single_setting


def unit_norm_repair(mixed: torch.Tensor, parents: torch.Tensor, weights: torch.Tensor,
                     layout) -> torch.Tensor:
    """Each unit's outgoing weight row of ``mixed`` rescaled to the ``weights``-mix of its
    parents' row norms (bias scaled alike)."""
    out = layout.unflatten(mixed.clone())
    par = layout.unflatten(parents)
    for layer in layout.layers:
        w = f"{layer.name}.weight"
        n = layer.out_features
        target = (par[w].reshape(len(parents), n, -1).norm(dim=2) * weights[:, None]).sum(0)
        now = out[w].reshape(n, -1).norm(dim=1).clamp_min(1e-12)
        scale = target / now
        out[w] = out[w] * scale.view(n, *([1] * (out[w].dim() - 1)))
        if f"{layer.name}.bias" in out:
            out[f"{layer.name}.bias"] = out[f"{layer.name}.bias"] * scale
    return layout.flatten(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results", type=Path)
    ap.add_argument("zoo")
    ap.add_argument("--window", type=int, nargs=2, required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    zoo = load_zoo(a.results / "zoos" / a.zoo / "zoo")
    split = load_split(a.results / "zoos" / a.zoo / "split.json")
    model, _, _ = load_autoencoder(a.results / "autoencoders" / a.zoo / "lwln" / "model")
    emb = load_embeddings(a.results / "autoencoders" / a.zoo / "lwln" / "embeddings.safetensors",
                          zoo).z
    data = load_dataset(zoo.dataset)
    act = single_setting(zoo, "activation")
    layout = zoo.layout
    window = tuple(a.window)
    end = rows_by_split(zoo, split, (window[1], window[1]))["train"]
    parents = zoo.weights[end[0], end[1]].float()
    parents = parents[torch.isfinite(parents).all(1)]
    t0 = time.time()
    aligned, mean = align_to_mean(parents, layout, rounds=3, seed=a.seed)
    print(f"{len(parents)} training models at epoch {window[1]}: mean pairwise L2 "
          f"{mean_pairwise_l2(parents):.2f} raw, {mean_pairwise_l2(aligned):.2f} aligned "
          f"({time.time() - t0:.0f} s)", file=sys.stderr)
    rng = np.random.default_rng(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    n = a.n

    # PCA of the aligned models
    centred = (aligned - mean).double()
    u, s, vt = torch.linalg.svd(centred, full_matrices=False)
    std = s / np.sqrt(len(aligned) - 1)

    def pca_gauss(scale, count):
        coef = torch.randn(count, len(std), generator=gen, dtype=torch.float64) * std * scale
        return (mean.double() + coef @ vt).float()

    def mix(k, t, count, models, repair=True):
        out = []
        for _ in range(count):
            idx = rng.choice(len(models), size=k, replace=False)
            wts = torch.from_numpy(rng.dirichlet(np.full(k, t))).float()
            m = (wts[:, None] * models[idx]).sum(0)
            out.append(unit_norm_repair(m, models[idx], wts, layout) if repair else m)
        return torch.stack(out)

    # the curve's construction, for noise under the same selection
    m_all, e_all = rows_by_split(zoo, split, window)["train"]
    w_all = zoo.weights[m_all, e_all].float()
    top = top_fraction_mask(zoo.metric("test_acc")[m_all, e_all])
    sigmas = load_schema()["properties"]["novelty_frontier"]["properties"]["sigmas"]["default"]

    def noise(count):
        base = w_all[top][rng.integers(int(top.sum()), size=count)]
        sig = torch.from_numpy(rng.choice(sigmas, size=count)).float()[:, None]
        return base + sig * torch.randn(base.shape, generator=gen)

    generators = {"pca_gauss_1.0": lambda c: pca_gauss(1.0, c),
                  "pca_gauss_0.5": lambda c: pca_gauss(0.5, c),
                  "mix2_1.0": lambda c: mix(2, 1.0, c, aligned),
                  "mix3_1.0": lambda c: mix(3, 1.0, c, aligned),
                  "mix2_0.3": lambda c: mix(2, 0.3, c, aligned),
                  "raw_mix2": lambda c: mix(2, 1.0, c, parents, repair=False),
                  "noise": noise}
    cands = {}
    for name, fn in generators.items():
        if name != "noise":
            cands[name] = fn(n)

    # quality-diversity selection on the validation split, the same for noise
    val_refs, _ = error_masks(w_all, act, data.val, "cpu", layout)
    val_acc_train = 1 - error_masks(parents, act, data.val, "cpu", layout)[0].mean(1)
    floor = float(np.quantile(val_acc_train, 0.1))
    for name in ("mix2_1.0", "mix3_1.0", "pca_gauss_1.0", "noise"):
        pool = generators[name](5 * n)
        masks, finite = error_masks(pool, act, data.val, "cpu", layout)
        m = audit_measures(masks, finite, val_refs)
        vacc, viou = 1 - m["error_rate"], m["max_error_iou"]
        score = np.where(vacc >= floor, vacc * (1 - viou), -np.inf)
        keep = np.argsort(-score, kind="stable")[:n]
        cands[f"{name}_qd"] = pool[keep]
        print(f"{name}_qd: {(score > -np.inf).sum()} of {5 * n} above the validation floor "
              f"{floor:.3f}", file=sys.stderr)
    defaults = load_schema()["properties"]["novelty_frontier"]["properties"]
    settings = {"n_models": n, "sigmas": defaults["sigmas"]["default"],
                "reconstructed_sigmas": defaults["reconstructed_sigmas"]["default"],
                "bootstrap": 1000, "seed": 0}
    res = novelty_frontier(zoo, split, window, cands, model, emb, data.test, act, settings)
    t = res.table[res.table.curve == "noise_raw"]
    cols = ["population", "n", "test_acc", "acc_share", "max_error_iou", "l2_checkpoint",
            "delta_iou", "ci_low_delta", "ci_high_delta", "gap_closed", "ci_low_gap",
            "ci_high_gap", "in_range"]
    pd.set_option("display.width", 250)
    print(t[cols].round(3).to_string(index=False))
    if a.out:
        res.table.to_csv(a.out, index=False)


if __name__ == "__main__":
    main()
