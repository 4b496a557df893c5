"""The compression-ratio ablation of the 2021 paper (App. D.1, Table 5).

Autoencoders of one zoo differ in their objective and in the width of their code:

* E_c: encoder with the contrastive loss only (beta = 0 in ``beta * L_rec + (1 - beta) * L_c``;
  the decoder gets no gradient, so there is no reconstruction to report: "–");
* ED: encoder and decoder with the reconstruction loss only (beta = 1);
* E_cD: both losses, with the zoo's configured beta (the reference's Tetris setting gamma 0.5 on
  the contrast is beta 0.5);

at compression ratios c = N / L (N parameters of a model, L = the code width), so
``latent_dim = round(N / c)``. As in 2021 the reconstruction loss is the plain MSE (no layer-wise
normalisation). Everything else is the zoo's autoencoder configuration. Each code is judged by
the test R² of linear probes (ridge, :mod:`hyperreps.representation.probes`) of epoch, test
accuracy,
generalisation gap and per-class F-scores, and by the reconstruction R² of the test split.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

OBJECTIVES = {"E_c": 0.0, "ED": 1.0, "E_cD": None}  # beta; None = the zoo's own
VARIANT = "baseline"  # plain MSE, as the 2021 autoencoders


def ratio_name(ratio: float) -> str:
    """The ratio as it appears in paths and tables: 2 -> "2", 2.5 -> "2.5"."""
    return f"{ratio:g}"


def latent_width(n_params: int, ratio: float) -> int:
    return max(1, int(round(n_params / ratio)))


def ablation_autoencoder_config(ae: dict, objective: str, ratio: float, n_params: int) -> dict:
    """The zoo's validated ``autoencoder`` block for one (objective, ratio) of the ablation."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose from {list(OBJECTIVES)}")
    out = copy.deepcopy(ae)
    out["architecture"]["latent_dim"] = latent_width(n_params, ratio)
    beta = OBJECTIVES[objective]
    if beta is not None:
        out["training"]["beta"] = beta
    if objective == "E_c":  # no reconstruction loss to select the epoch on: keep the last
        out["training"]["select"] = "last"
    return out


COLUMNS = {"epoch": "EPH", "test_acc": "ACC", "ggap": "GGAP"}


def ablation_row(objective: str, ratio, latent_dim: int, rec_r2: float,
                 probe_summary: pd.DataFrame, feature_set: str) -> dict:
    """One row of Table 5 (values in %) from the autoencoder's test reconstruction R² and
    :func:`hyperreps.representation.probes.probe_summary` of the test split (R² in %)."""
    row = {"objective": objective, "c": ratio, "latent_dim": latent_dim,
           "REC": np.nan if objective == "E_c" else 100 * rec_r2}
    for prop in probe_summary.index:
        name = COLUMNS.get(prop, prop.upper())
        row[name] = float(probe_summary.loc[prop, feature_set])
    return row


def ablation_table(rows: list[dict]) -> pd.DataFrame:
    """Rows ordered as the paper (E_c, ED, E_cD; ratios ascending; then W and s(W)), columns
    as the paper's (REC is NaN where undefined: E_c and the baselines)."""
    table = pd.DataFrame(rows)
    order = {o: i for i, o in enumerate([*OBJECTIVES, "W", "s(W)"])}
    table = table.sort_values(["objective", "c"], key=lambda s: s.map(order) if s.name ==
                              "objective" else s.astype(float)).reset_index(drop=True)
    first = ["objective", "c", "latent_dim", "REC", "EPH", "ACC", "GGAP"]
    rest = sorted(c for c in table.columns if c not in first)  # F_C0, F_C1, ... and others
    return table[[c for c in first if c in table.columns] + rest]
