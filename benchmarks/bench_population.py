"""Vectorised population training vs one model at a time, in the same run.

    python benchmarks/bench_population.py                      # CPU: M = 32 and 128
    python benchmarks/bench_population.py --device cuda --models 1000

Both train the same population (digits, batch 10 as in the papers, per-model seeds, inits and
data orders) for the same epochs after a warm-up; reported are models*epochs/s of each and
their ratio. Absolute seconds on shared machines are noise; the ratio is the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from hyperreps.architecture import ParameterLayout
from hyperreps.data import load_dataset
from hyperreps.device import CPU_MALLOC_ENV, malloc_env_missing, resolve_device
from hyperreps.population import ModelSpec, TrainSettings, train_population
from hyperreps.reference import train_one_at_a_time


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(m: int, epochs: int, device: torch.device, data, baseline_models: int | None) -> dict:
    layout = ParameterLayout.for_channels(1)
    specs = [ModelSpec(seed=s, init="kaiming_uniform", lr=1e-3) for s in range(1, m + 1)]
    settings = TrainSettings(epochs=epochs, batch_size=10)
    # warm-up both paths (allocator, oneDNN/cuDNN kernel selection)
    train_population(specs[:2], TrainSettings(epochs=1, batch_size=10), data.train, {}, layout,
                     device=device)
    train_one_at_a_time(specs[0], TrainSettings(epochs=1, batch_size=10), data.train, device=device)

    sync(device)
    t = time.perf_counter()
    train_population(specs, settings, data.train, {}, layout, device=device)
    sync(device)
    vec_s = time.perf_counter() - t

    n_base = min(m, baseline_models or m)
    sync(device)
    t = time.perf_counter()
    for s in specs[:n_base]:
        train_one_at_a_time(s, settings, data.train, device=device)
    sync(device)
    base_s = time.perf_counter() - t
    vec_rate, base_rate = m * epochs / vec_s, n_base * epochs / base_s
    return {"models": m, "epochs": epochs, "batch_size": 10, "train_images": len(data.train),
            "vectorized_s": round(vec_s, 3), "one_at_a_time_s": round(base_s, 3),
            "one_at_a_time_models_timed": n_base,
            "vectorized_models_epochs_per_s": round(vec_rate, 3),
            "one_at_a_time_models_epochs_per_s": round(base_rate, 3),
            "speedup": round(vec_rate / base_rate, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all)")
    ap.add_argument("--baseline-models", type=int, default=None,
                    help="time the one-at-a-time loop on only this many of the models "
                         "(its rate does not depend on M); default: all")
    ap.add_argument("--out", default="benchmarks/results/population.json")
    ap.add_argument("--default-malloc", action="store_true",
                    help="keep glibc's default thresholds (the pipeline's jobs raise them)")
    args = ap.parse_args()
    if not args.default_malloc and malloc_env_missing():
        # as in the pipeline's jobs; glibc reads these at start-up only
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **CPU_MALLOC_ENV})
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data = load_dataset("digits")
    rows = []
    for m in args.models:
        r = run(m, args.epochs, device, data, args.baseline_models)
        rows.append(r)
        print(f"M={m:5d}  vectorised {r['vectorized_models_epochs_per_s']:9.2f} models*epochs/s   "
              f"one-at-a-time {r['one_at_a_time_models_epochs_per_s']:8.2f}   "
              f"speed-up {r['speedup']:.2f}x", flush=True)
    env = {"device": str(device), "glibc_malloc_thresholds_raised": not malloc_env_missing(), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": platform.processor() or platform.machine(),
           "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"environment": env, "results": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
