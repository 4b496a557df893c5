"""Research script (issue 32): variants of the generators that mix independent solutions,
placed on a finished run's novelty frontier at equal accuracy (ΔIoU, gap closed), without
touching its outputs. The pipeline's populations (W_PCA, W_Mix2, W_Mix3, W_Mix2_QD,
N_noise_QD; hyperreps.generative.mixing_populations) are the variants chosen here.

    .venv/bin/python experiments/mixing_generators.py results/demo digits \\
        --mix 2:1 2:5 3:1 5:5 --select 2:1 --pool-factor 5 --seed 0

``--mix k:c``: W_Mix<k> with Dirichlet(c) weights and REPAIR (``k:c:norepair`` without);
``--select k:c``: that mix under the pipeline's selection, beside N_noise_QD of the same pool
size (selection on the validation split; the frontier measures the test split). Prints the
frontier table on the raw noise curve with `vs_selected_noise`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.config.schema import load_schema
from hyperreps.data import load_dataset
from hyperreps.generative import mixing_populations as mp
from hyperreps.generative.novelty_frontier import novelty_frontier
from hyperreps.generative.populations import anchor_set
from hyperreps.generative.weight_alignment import align_zoo
from hyperreps.representation.embeddings import load_embeddings
from hyperreps.sampling.weight_mixing import mix_parents, pca_gaussian
from hyperreps.splits import load_split
from hyperreps.zoo import load_zoo, single_setting


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results", type=Path)
    ap.add_argument("zoo")
    ap.add_argument("--mix", nargs="*", default=["2:1"])
    ap.add_argument("--select", nargs="*", default=[])
    ap.add_argument("--pca", nargs="*", type=float, default=[])
    ap.add_argument("--pool-factor", type=int, default=5)
    ap.add_argument("--floor-quantile", type=float, default=0.1)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    schema = load_schema()["properties"]
    defaults = {k: v["default"] for k, v in
                schema["generative"]["properties"]["mixing"]["properties"].items()}
    frontier = {k: v["default"] for k, v in schema["novelty_frontier"]["properties"].items()
                if "default" in v}
    settings = dict(defaults, pool_factor=a.pool_factor, floor_quantile=a.floor_quantile)
    zoo = load_zoo(a.results / "zoos" / a.zoo / "zoo")
    split = load_split(a.results / "zoos" / a.zoo / "split.json")
    ae = a.results / "autoencoders" / a.zoo / "lwln"
    model, _, _ = load_autoencoder(ae / "model")
    emb = load_embeddings(ae / "embeddings.safetensors", zoo).z
    data = load_dataset(zoo.dataset)
    act = single_setting(zoo, "activation")
    window = (int(zoo.epochs[zoo.epochs >= 0].max()) - 4, int(zoo.epochs.max()))
    t0 = time.time()
    aligned = align_zoo(zoo, split, window[1], settings["alignment_rounds"], a.seed).models
    anchors = anchor_set(zoo, split, window, {"lwln": emb})
    ctx = mp.mixing_context(aligned, anchors.weights, anchors.top, zoo.layout, act, data.train,
                            data.val, frontier["sigmas"], settings)
    print(f"aligned {len(aligned)} models, context ready ({time.time() - t0:.0f} s); "
          f"validation floor {ctx.val_floor:.3f}", file=sys.stderr)
    images = ctx.repair_images
    stats = None
    cands = {}

    def mixes(spec, n, seed):
        nonlocal stats
        parts = spec.split(":")
        k, c = int(parts[0]), float(parts[1])
        if "norepair" in parts:
            return mix_parents(aligned, n, k, c, seed)[0]
        from hyperreps.sampling.weight_mixing import repaired_mixes, unit_statistics
        stats = stats or unit_statistics(aligned, zoo.layout, act, images)
        return repaired_mixes(aligned, n, k, c, seed, zoo.layout, act, images, stats,
                              per_layer="layer" in parts)

    for spec in a.mix:
        t = time.time()
        cands[f"mix{spec}"] = mixes(spec, a.n, a.seed)
        print(f"mix{spec}: {time.time() - t:.0f} s", file=sys.stderr)
    for s in a.pca:
        cands[f"pca{s}"] = pca_gaussian(aligned, a.n, a.seed, s)
    pairs = []
    noise_pool = mp._draw(mp.SELECTED_NOISE, ctx, a.pool_factor * a.n, a.seed + 2)
    for spec in a.select:  # k:c:score
        k, c, score, *rest = spec.split(":")
        ctx_s = mp.mixing_context(aligned, anchors.weights, anchors.top, zoo.layout, act,
                                  data.train, data.val, frontier["sigmas"],
                                  dict(settings, selection_score=score))
        pool = mixes(":".join([k, c, *rest]), a.pool_factor * a.n, a.seed + 1)
        for name, p in ((f"sel{spec}", pool), (f"noise_sel{spec}", noise_pool)):
            keep, above = mp.select_novel_accurate(p, ctx_s, a.n)
            cands[name] = p[torch.from_numpy(keep)]
            print(f"{name}: {above} of {len(p)} above the floor", file=sys.stderr)
        pairs.append((f"sel{spec}", f"noise_sel{spec}"))
    fs = {"n_models": a.n, "sigmas": frontier["sigmas"],
          "reconstructed_sigmas": frontier["reconstructed_sigmas"], "bootstrap": 1000,
          "seed": 0}
    res = novelty_frontier(zoo, split, window, cands, model, emb, data.test, act, fs)
    t = res.table[res.table.curve == "noise_raw"]
    cols = ["population", "n", "test_acc", "acc_share", "max_error_iou", "l2_checkpoint",
            "delta_iou", "ci_low_delta", "ci_high_delta", "gap_closed", "ci_low_gap",
            "ci_high_gap", "delta_vs_baseline", "ci_low_vs_baseline", "ci_high_vs_baseline"]
    pd.set_option("display.width", 250)
    print(t[cols].round(3).to_string(index=False))
    from hyperreps.generative.novelty_at_accuracy import compare_populations, curve_reference
    members = res.models[res.models.population == "noise_raw"]
    indep = res.models[res.models.population.isin(["zoo_train", "zoo_test"])]
    ref = curve_reference(members.test_acc, members.max_error_iou, indep.test_acc,
                          indep.max_error_iou, 1000, 7919)
    for sel, base in pairs:
        x, b = res.models[res.models.population == sel], res.models[res.models.population == base]
        cmp = compare_populations(x.test_acc, x.max_error_iou, b.test_acc, b.max_error_iou, ref)
        print(f"{sel} - {base}: {cmp['difference']:+.3f} [{cmp['ci_low']:.3f}, "
              f"{cmp['ci_high']:.3f}]")
    if a.out:
        res.table.to_csv(a.out, index=False)


if __name__ == "__main__":
    main()
