"""Is the hyper-representation space robust and smooth? (2022 §4.2.1, Fig. 3)

- **Robustness**: Gaussian noise of growing relative size is added to the embeddings of the
  test models, which are decoded and evaluated: accuracy of the decoded models and their
  reconstruction R² against the original weights. Relative noise ``r``: each dimension gets
  N(0, (r * rms)^2), rms the root mean square of the test embeddings, so that
  ||noise|| / ||z|| is about r.
- **Smoothness**: embeddings are interpolated linearly (i) along one model's trajectory,
  between its embeddings at two epochs (the paper: 5 and 25), and (ii) between random pairs
  of different test models (the paper: 250 pairs); the decoded models' accuracy is recorded at
  every step. Smooth spaces give accuracy curves without dips.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..autoencoder.loss import r2_scores
from ..autoencoder.model import HyperAutoencoder
from ..autoencoder.train import decode_latents, encode_weights
from ..data import SplitData
from ..trainer.evaluate import evaluate_weights
from ..zoo import Zoo

NOISE_LEVELS = (0.0, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0)


def _test_weights(zoo: Zoo, split: dict, epoch: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    w, acts, ids = zoo.select(split["test"]).finite_at(epoch)
    return w.float(), acts, ids


def noise_robustness(model: HyperAutoencoder, train_mean: torch.Tensor, zoo: Zoo, split: dict,
                     data: SplitData, epoch: int, levels=NOISE_LEVELS, seed: int = 0,
                     device="cpu") -> pd.DataFrame:
    """Per relative noise level: accuracy of the decoded test models (mean, std, median) and
    the reconstruction R² of their weights (raw space), next to the originals' accuracy."""
    w, acts, _ = _test_weights(zoo, split, epoch)
    if len(w) == 0:
        raise ValueError("no finite test models at this epoch")
    _, acc_orig = evaluate_weights(w, acts, data, device, layout=zoo.layout)
    z = encode_weights(model, w, device=device)
    rms = float(z.pow(2).mean().sqrt())
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for r in levels:
        if r < 0:
            raise ValueError(f"noise level {r} < 0")
        zt = z + r * rms * torch.randn(z.shape, generator=gen)
        y = decode_latents(model, zt, device=device)
        _, acc = evaluate_weights(y, acts, data, device, layout=zoo.layout)
        rows.append(dict(relative_noise=r, n_models=len(w), acc_mean=np.nanmean(acc),
                         acc_std=np.nanstd(acc, ddof=1) if len(acc) > 1 else np.nan,
                         acc_median=np.nanmedian(acc), acc_original=np.nanmean(acc_orig),
                         r2=r2_scores(y, w, train_mean, zoo.layout)["overall"]))
    return pd.DataFrame(rows)


def interpolation_smoothness(model: HyperAutoencoder, zoo: Zoo, split: dict, data: SplitData,
                             trajectory_epochs: tuple[int, int], pair_epoch: int,
                             n_pairs: int = 250, steps: int = 11, seed: int = 0,
                             device="cpu") -> pd.DataFrame:
    """Accuracy of decoded models along linear interpolations, one row per (scheme, pair,
    alpha): 'trajectory' from each test model's embedding at ``trajectory_epochs[0]`` to its
    own at ``trajectory_epochs[1]``; 'between' from one test model to another (random pairs,
    both at ``pair_epoch``)."""
    if steps < 2:
        raise ValueError("steps must be at least 2")
    alphas = np.linspace(0.0, 1.0, steps)
    rng = np.random.default_rng(seed)
    a_w, a_act, ids = _test_weights(zoo, split, trajectory_epochs[0])
    b_w, b_act, ids_b = _test_weights(zoo, split, trajectory_epochs[1])
    pos_a, pos_b = ({int(m): i for i, m in enumerate(v)} for v in (ids, ids_b))
    common = np.array([m for m in pos_a if m in pos_b], dtype=np.int64)
    ia = np.array([pos_a[m] for m in common], dtype=np.int64)
    ib = np.array([pos_b[m] for m in common], dtype=np.int64)
    schemes = {"trajectory": (a_w[ia], b_w[ib], a_act[ia], common, common)}
    p_w, p_act, p_ids = _test_weights(zoo, split, pair_epoch)
    if len(p_w) >= 2:
        n = min(n_pairs, len(p_w) * (len(p_w) - 1) // 2)
        first = rng.integers(0, len(p_w), n)
        second = (first + rng.integers(1, len(p_w), n)) % len(p_w)  # never the same model
        same_act = p_act[first] == p_act[second]
        first, second = first[same_act], second[same_act]  # one activation per decoded model
        schemes["between"] = (p_w[first], p_w[second], p_act[first], p_ids[first],
                              p_ids[second])
    rows = []
    for scheme, (wa, wb, acts, id_a, id_b) in schemes.items():
        if len(wa) == 0:
            continue
        za, zb = encode_weights(model, wa, device=device), encode_weights(model, wb, device=device)
        for alpha in alphas:
            y = decode_latents(model, (1 - alpha) * za + alpha * zb, device=device)
            _, acc = evaluate_weights(y, acts, data, device, layout=zoo.layout)
            rows += [dict(scheme=scheme, pair=i, model_a=int(id_a[i]), model_b=int(id_b[i]),
                          alpha=float(alpha), test_acc=float(acc[i])) for i in range(len(acc))]
    return pd.DataFrame(rows)


def smoothness_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per scheme and alpha: mean and std of the decoded accuracy; plus per scheme the mean
    largest dip below the straight line between a pair's end points (0 for a monotone or
    concave path: the paper's "no fluctuations")."""
    if curves.empty:
        return pd.DataFrame(columns=["scheme", "alpha", "acc_mean", "acc_std", "n_pairs",
                                     "mean_max_dip"])
    g = curves.groupby(["scheme", "alpha"])["test_acc"]
    out = pd.DataFrame({"acc_mean": g.mean(), "acc_std": g.std(),
                        "n_pairs": g.size()}).reset_index()
    dips = {}
    for scheme, df in curves.groupby("scheme"):
        per_pair = []
        for _, p in df.sort_values("alpha").groupby("pair"):
            acc, alpha = p.test_acc.to_numpy(), p.alpha.to_numpy()
            line = acc[0] + (acc[-1] - acc[0]) * alpha
            per_pair.append(float(np.nanmax(line - acc)))
        dips[scheme] = float(np.nanmean(per_pair))
    out["mean_max_dip"] = out.scheme.map(dips)
    return out
