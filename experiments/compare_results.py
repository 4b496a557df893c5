"""Compare every CSV of two results folders (e.g. the same config run on two commits).

    python experiments/compare_results.py OLD_RESULTS NEW_RESULTS [--rtol 1e-9]

Files are matched by relative path after mapping the output names of before the 2022/2021
prefixes (docs/outputs.md, "What moved") to the current ones. Columns of timing
(`train_seconds`, `checkpoints_per_second`, `seconds`, `s`) are left out. Prints one line per
file (identical / equal within rtol with the largest difference / different) and exits 1 if any
differs beyond rtol or is missing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RENAMES = [  # old relative path (regex) -> new
    (r"^tables/permutation_equivalence_(.+)$", r"tables/2021_appfig1_permutation_equivalence_\1"),
    (r"^tables/probes_(.+)$", r"tables/2021_table6_probes_\1"),
    (r"^tables/robustness_(.+)$", r"tables/2022_fig3_robustness_\1"),
    (r"^tables/smoothness_(.+)$", r"tables/2022_fig3_smoothness_\1"),
    (r"^tables/table9_cross_zoo_reconstruction(.*)$",
     r"tables/2022_table9_cross_zoo_reconstruction\1"),
    (r"^tables/table9_grid(.*)$", r"tables/2022_table9_cross_zoo_reconstruction_grid\1"),
    (r"^tables/table5_compression_ablation_(.+)$", r"tables/2021_table5_compression_ablation_\1"),
    (r"^tables/probe_transfer_(.+)$", r"tables/2021_appd3_probe_transfer_\1"),
    (r"^tables/(table1_in_dataset|table2_transfer|tables10_12_median_ci|tables11_13_mwu_cles)(.*)$",
     r"tables/2022_\1\2"),
    (r"^tables/fig6_reconstructed_vs_original_(.+)$",
     r"tables/2022_fig6_reconstructed_finetuning_\1"),
    (r"^tables/(table3_unseen_zoos|table4_unseen_architectures)(.*)$", r"tables/2022_\1\2"),
]
TIMING = {"train_seconds", "checkpoints_per_second", "checkpoints_per_s", "seconds", "s",
          "wall_seconds"}


def new_name(rel: str) -> str:
    for old, new in RENAMES:
        if re.match(old, rel):
            return re.sub(old, new, rel)
    return rel


def compare(a: Path, b: Path, rtol: float) -> tuple[str, float]:
    x, y = pd.read_csv(a), pd.read_csv(b)
    # timing columns are left out, also where one side no longer has them (issue 25)
    x, y = (d[[c for c in d.columns if c not in TIMING]] for d in (x, y))
    if list(x.columns) != list(y.columns) or x.shape != y.shape:
        return "different shape/columns", float("inf")
    if x.equals(y):
        return "identical", 0.0
    worst = 0.0
    for c in x.columns:
        if x[c].dtype.kind in "fi" and y[c].dtype.kind in "fi":
            u, v = x[c].to_numpy(float), y[c].to_numpy(float)
            if not np.array_equal(np.isnan(u), np.isnan(v)):
                return f"NaN pattern differs in {c}", float("inf")
            m = ~np.isnan(u)
            d = np.abs(u[m] - v[m]) / np.maximum(np.abs(u[m]), 1e-12) if m.any() else np.zeros(0)
            worst = max(worst, float(d.max()) if d.size else 0.0)
        elif not x[c].equals(y[c]):
            return f"column {c} differs", float("inf")
    return ("equal within rtol" if worst <= rtol else "different"), worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args(argv)
    bad = n = 0
    for a in sorted(args.old.rglob("*.csv")):
        rel = a.relative_to(args.old).as_posix()
        if "benchmarks/" in rel:
            continue  # Snakemake's job timings
        b = args.new / new_name(rel)
        n += 1
        if not b.exists():
            print(f"MISSING  {rel} -> {new_name(rel)}")
            bad += 1
            continue
        verdict, worst = compare(a, b, args.rtol)
        bad += verdict not in ("identical", "equal within rtol")
        print(f"{verdict:<24} {worst:9.2e}  {rel}")
    print(f"{n} CSV files compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
