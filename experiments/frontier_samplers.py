"""Research script (issue 22): candidate generators placed against the noise frontier, on a
finished run's zoo and LWLN autoencoder, without touching the pipeline's outputs.

    .venv/bin/python experiments/frontier_samplers.py results/demo digits --n 100

Prints one row per candidate: accuracy, novelty on both axes and the difference to the raw
noise curve at equal novelty with its bootstrap CI (docs/experiments.md, issue 22).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import RidgeCV

from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.autoencoder.train import decode_latents
from hyperreps.config.schema import load_schema
from hyperreps.data import load_dataset
from hyperreps.representation.embeddings import load_embeddings
from hyperreps.generative.novelty_frontier import novelty_frontier
from hyperreps.sampling.samplers import draw_latents, top_fraction_mask
from hyperreps.zoo import load_zoo, single_setting
from hyperreps.splits import load_split, rows_by_split


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results", type=Path)
    ap.add_argument("zoo")
    ap.add_argument("--window", type=int, nargs=2, required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--set", choices=["samplers", "edits"], default="samplers",
                    help="samplers: decoded priors and first edits; edits: S_Edit30 variants")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    zoo = load_zoo(a.results / "zoos" / a.zoo / "zoo")
    split = load_split(a.results / "zoos" / a.zoo / "split.json")
    model, _, _ = load_autoencoder(a.results / "autoencoders" / a.zoo / "lwln" / "model")
    emb = load_embeddings(a.results / "autoencoders" / a.zoo / "lwln" / "embeddings.safetensors",
                          zoo).z
    data = load_dataset(zoo.dataset).test
    act = single_setting(zoo, "activation")
    window = tuple(a.window)
    m, e = rows_by_split(zoo, split, window)["train"]
    w, z = zoo.weights[m, e].float(), emb[m, e]
    acc = zoo.metric("test_acc")[m, e]
    top = top_fraction_mask(acc)
    zt, wt = z[top].numpy().astype(np.float64), w[top]
    rng = np.random.default_rng(0)
    n = a.n
    cov = LedoitWolf().fit(zt).covariance_
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    dec = lambda codes: decode_latents(model, torch.as_tensor(codes, dtype=torch.float32))  # noqa: E731
    pick = rng.integers(len(zt), size=n)
    eps = rng.standard_normal((n, zt.shape[1])) @ root.T
    base = dec(zt[pick])
    probe = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(z.numpy(), acc)
    cands = {}

    def add(name, fn, group="samplers"):
        if group != a.set or (a.only and name not in a.only):
            return
        t = time.time()
        cands[name] = fn()
        print(f"{name}: {time.time() - t:.1f} s", file=sys.stderr)

    add("decoded_anchors", lambda: base)
    for s in (0.2, 0.4):
        add(f"anchor_lw_{s}", lambda s=s: dec(np.clip(zt[pick] + s * eps, -1, 1)))
    add("gaussian", lambda: dec(draw_latents("gaussian", zt, n, 1)))
    add("gaussian_0.5", lambda: dec(draw_latents("gaussian", zt, n, 1, {"scale": 0.5})))
    add("gmm8", lambda: dec(draw_latents("gmm", zt, n, 1)))
    add("flow", lambda: dec(draw_latents("flow", zt, n, 1)))
    for s in (0.2, 0.5, 1.0, 2.0):  # own idea: the decoder's displacement added to the anchor
        add(f"residual_{s}", lambda s=s: wt[pick] + dec(np.clip(zt[pick] + s * eps, -1, 1))
            - base)
    other = rng.integers(len(zt), size=n)
    for al in (0.3, 0.5):
        add(f"residual_pair_{al}", lambda al=al: wt[pick] + al * (dec(zt[other]) - base))

    def guided():
        pool = draw_latents("gaussian", zt, 10 * n, 2)
        return dec(pool[np.argsort(-probe.predict(pool))[:n]])
    add("gaussian_probe_top10", guided)

    # S_Edit30 variants: the scale; the move pushed along the accuracy probe's direction; a
    # control that applies another anchor's displacement (is it the anchor's own direction
    # that matters, or any decoder displacement?)
    u = probe.coef_ / np.linalg.norm(probe.coef_)
    spread = float(np.sqrt(np.trace(cov)))  # typical length of a shaped noise vector

    def edit(codes, anchor_rows, anchor_codes):
        return wt[anchor_rows] + dec(np.clip(codes, -1, 1)) - dec(anchor_codes)
    for s in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0):
        add(f"edit_{s}", lambda s=s: edit(zt[pick] + s * eps, pick, zt[pick]), "edits")
    for s, alpha in ((0.3, 0.1), (0.3, 0.3), (0.5, 0.3)):
        add(f"edit_{s}_probe_{alpha}", lambda s=s, alpha=alpha: edit(
            zt[pick] + s * eps + alpha * spread * u, pick, zt[pick]), "edits")
    add("edit_0.3_other_anchor", lambda: edit(zt[other] + 0.3 * eps, pick, zt[other]), "edits")
    # calibration: built as the curve is, with other draws: must sit on it (difference ~0)
    for s in (0.25, 0.45, 0.8):
        add(f"noise_check_{s}", lambda s=s: wt[pick] + s * torch.from_numpy(
            np.random.default_rng(7).standard_normal(tuple(wt[pick].shape))).float(), "edits")
    defaults = load_schema()["properties"]["novelty_frontier"]["properties"]
    settings = {"n_models": n, "sigmas": defaults["sigmas"]["default"],
                "reconstructed_sigmas": defaults["reconstructed_sigmas"]["default"],
                "bootstrap": 1000, "seed": 0}
    res = novelty_frontier(zoo, split, window, cands, model, emb, data, act, settings)
    t = res.table[res.table.curve == "noise_raw"]
    cols = ["population", "n", "test_acc", "l2_checkpoint", "l2_reconstruction",
            "max_error_iou", "chance_iou", "delta_iou", "ci_low_delta", "ci_high_delta",
            "gap_closed", "difference_l2", "ci_low_l2", "ci_high_l2"]
    pd.set_option("display.width", 250)
    print(t[cols].round(3).to_string(index=False))
    print(res.points[res.points.curve == "noise_raw"][["sigma", "test_acc", "l2_checkpoint",
                                                        "max_error_iou"]].round(3)
          .to_string(index=False))
    if a.out:
        res.table.to_csv(a.out, index=False)
        json.dumps(settings)


if __name__ == "__main__":
    main()
