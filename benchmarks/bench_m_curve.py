"""Zoo-training throughput against the population size M, with a same-run baseline.

    python benchmarks/bench_m_curve.py                          # CPU: M = 8 ... 512
    python benchmarks/bench_m_curve.py --profile 64 512         # + torch.profiler top entries
    python benchmarks/bench_m_curve.py --device cuda --models 64 256 1000

Digits, batch 10, tanh, Adam (the issue's setting). For each M: one warm-up epoch, then
``--epochs`` timed epochs of ``train_population`` (evaluation included, as in a shard); reported
are models*epochs/s, image-model passes/s (M x training images x epochs / s) and the ratio to
the one-at-a-time rate measured in the same run. A vectorised trainer should not lose rate per
model as M grows; the curve says where it does. Writes JSON and a figure (``--out``).
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

LAYOUT = ParameterLayout.for_channels(1)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def specs(m: int) -> list[ModelSpec]:
    return [ModelSpec(seed=s, init="kaiming_uniform", lr=1e-3) for s in range(1, m + 1)]


def settings(epochs: int) -> TrainSettings:
    return TrainSettings(activation="tanh", optimizer="adam", epochs=epochs, batch_size=10)


def vectorised_rate(m: int, epochs: int, device, data) -> float:
    train_population(specs(m), settings(1), data.train, data.evals(), LAYOUT, device=device)
    sync(device)
    t = time.perf_counter()
    train_population(specs(m), settings(epochs), data.train, data.evals(), LAYOUT, device=device)
    sync(device)
    return m * epochs / (time.perf_counter() - t)


def baseline_rate(n: int, epochs: int, device, data) -> float:
    s = specs(n)
    train_one_at_a_time(s[0], settings(1), data.train, device=device)
    sync(device)
    t = time.perf_counter()
    for spec in s:
        train_one_at_a_time(spec, settings(epochs), data.train, device=device)
    sync(device)
    return n * epochs / (time.perf_counter() - t)


def profile(m: int, device, data, top: int = 12) -> str:
    """torch.profiler table of one epoch at population size ``m`` (self CPU time)."""
    from torch.profiler import ProfilerActivity, profile as torch_profile  # noqa: PLC0415

    train_population(specs(m), settings(1), data.train, {}, LAYOUT, device=device)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=acts) as prof:
        train_population(specs(m), settings(1), data.train, {}, LAYOUT, device=device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)


def plot(rows: list[dict], base: float, path: Path, title: str) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ms = [r["models"] for r in rows]
    ax.plot(ms, [r["speedup"] for r in rows], marker="o", label="vectorised / one-at-a-time")
    ax.axhline(1, color="grey", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("models in the population (M)")
    ax.set_ylabel("models*epochs/s relative to one at a time")
    twin = ax.twinx()
    twin.plot(ms, [r["passes_per_s"] / 1e3 for r in rows], color="tab:orange", marker="s",
              ls="--", label="image-model passes/s (thousands)")
    twin.set_ylabel("image-model passes/s (thousands)", color="tab:orange")
    ax.set_title(f"{title}; one at a time: {base:.2f} models*epochs/s", fontsize=9)
    fig.legend(loc="lower center", fontsize=8, frameon=False, ncol=2)
    fig.savefig(path, dpi=130)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--baseline-models", type=int, default=4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--profile", type=int, nargs="*", default=[], metavar="M")
    ap.add_argument("--label", default="", help="a name for this run in the output (e.g. before)")
    ap.add_argument("--out", default="benchmarks/results/m_curve")
    args = ap.parse_args()
    if malloc_env_missing():  # as in the pipeline's jobs; glibc reads these at start-up only
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **CPU_MALLOC_ENV})
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data = load_dataset("digits")
    base = baseline_rate(args.baseline_models, args.epochs, device, data)
    print(f"one at a time: {base:.2f} models*epochs/s", flush=True)
    rows = []
    for m in args.models:
        rate = vectorised_rate(m, args.epochs, device, data)
        rows.append({"models": m, "models_epochs_per_s": round(rate, 3),
                     "passes_per_s": round(rate * len(data.train)),
                     "speedup": round(rate / base, 2)})
        print(f"M={m:5d}  {rate:9.2f} models*epochs/s  {rate * len(data.train):10.0f} "
              f"passes/s  {rate / base:6.2f}x", flush=True)
    profiles = {m: profile(m, device, data) for m in args.profile}
    for m, table in profiles.items():
        print(f"\nprofile, one epoch at M={m}:\n{table}")
    env = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": platform.processor() or platform.machine(),
           "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
           "train_images": len(data.train), "label": args.label}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(
        {"environment": env, "one_at_a_time_models_epochs_per_s": round(base, 3),
         "results": rows, "profiles": {str(m): t for m, t in profiles.items()}}, indent=1))
    plot(rows, base, out.with_suffix(".png"),
         f"{args.label or 'M-curve'} on {env['gpu'] or env['cpu']}, {env['threads']} threads")
    print(f"wrote {out}.json and {out}.png")


if __name__ == "__main__":
    main()
