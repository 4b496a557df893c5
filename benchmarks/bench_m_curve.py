"""Zoo-training throughput against the population size M, with a same-run baseline.

    python benchmarks/bench_m_curve.py                          # CPU: M = 8 ... 512
    python benchmarks/bench_m_curve.py --profile 64 512         # + torch.profiler top entries
    python benchmarks/bench_m_curve.py --models 32 --ops 32 512 # + time per aten op (CPU)
    python benchmarks/bench_m_curve.py --device cuda --models 64 256 1000

Digits, batch 10, tanh, Adam (the issue's setting). For each M: one warm-up epoch, then
``--epochs`` timed epochs of ``train_population``, each with its val/test evaluation as in a
shard (the one-at-a-time baseline evaluates nothing, so the ratio is conservative); reported
are models*epochs/s, image-model passes/s (M x training images x epochs / s) and the ratio to
the one-at-a-time rate measured in the same run. A vectorised trainer should not lose rate per
model as M grows; the curve says where it does. ``--chunks`` compares the trainer's models per
chunk. Writes JSON and a figure (``--out``). Runs against an older checkout too
(``PYTHONPATH=<worktree>/src``), for before/after curves from the same script.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile as torch_profile
from torch.utils._python_dispatch import TorchDispatchMode

from hyperreps.architecture import get_architecture, zoo_cnn_name
from hyperreps.data import load_dataset
from hyperreps.device import CPU_MALLOC_ENV, malloc_env_missing, resolve_device

try:
    from hyperreps.trainer.evaluate import models_per_chunk_for
    from hyperreps.trainer.loop import train_population
    from hyperreps.trainer.one_at_a_time import train_one_at_a_time
    try:
        from hyperreps.trainer.specs import ModelSpec, TrainSettings
    except ImportError:  # a trainer from before trainer/specs.py
        from hyperreps.trainer.loop import ModelSpec, TrainSettings
except ImportError:  # a checkout from before the hyperreps.trainer package
    from hyperreps.population import ModelSpec, TrainSettings, train_population
    from hyperreps.reference import train_one_at_a_time
    try:
        from hyperreps.population import models_per_chunk_for
    except ImportError:  # a trainer from before the chunking: the whole population at once
        def models_per_chunk_for(device, n_models):
            return n_models

LAYOUT = get_architecture(zoo_cnn_name(1)).layout  # also in checkouts before layout.py


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def specs(m: int) -> list[ModelSpec]:
    return [ModelSpec(seed=s, init="kaiming_uniform", lr=1e-3) for s in range(1, m + 1)]


def settings(epochs: int) -> TrainSettings:
    return TrainSettings(activation="tanh", optimizer="adam", epochs=epochs, batch_size=10)


def _train(m: int, epochs: int, device, data, chunk: int | None, on_epoch):
    kwargs = {} if chunk is None else {"models_per_chunk": chunk}  # (older trainers: no chunks)
    train_population(specs(m), settings(epochs), data.train, data.evals(), LAYOUT,
                     device=device, on_epoch=on_epoch, **kwargs)


def vectorised_rate(m: int, epochs: int, device, data, chunk: int | None = None) -> float:
    """Steady-state rate of a zoo shard: the time from the end of epoch 1 (a warm-up) to the
    end of epoch ``1 + epochs``, each epoch with its val/test evaluation; the one-off epoch-0
    evaluation of the whole train split is left out (1/50 of an epoch's cost in a real zoo,
    but a third of the only epoch of a one-epoch run)."""
    stamps = {}

    def stamp(epoch, _metrics):
        sync(device)
        stamps[epoch] = time.perf_counter()

    _train(m, epochs + 1, device, data, chunk, stamp)
    return m * epochs / (stamps[epochs + 1] - stamps[1])


def baseline_rate(n: int, epochs: int, device, data) -> float:
    s = specs(n)
    train_one_at_a_time(s[0], settings(1), data.train, device=device)
    sync(device)
    t = time.perf_counter()
    for spec in s:
        train_one_at_a_time(spec, settings(epochs), data.train, device=device)
    sync(device)
    return n * epochs / (time.perf_counter() - t)


def profile(m: int, device, data, chunk: int | None = None, top: int = 12) -> str:
    """torch.profiler table of one steady-state epoch (the second, with its evaluation) at
    population size ``m`` (self CPU time; self CUDA time on a GPU)."""
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    prof = torch_profile(activities=acts)

    def switch(epoch, _metrics):
        sync(device)
        if epoch == 1:
            prof.start()
        elif epoch == 2:
            prof.stop()

    _train(m, 2, device, data, chunk, switch)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)


def op_times(m: int, device, data, chunk: int | None = None, top: int = 12) -> dict:
    """Time per aten op in one steady-state epoch at population size ``m``, forward and
    backward, taken by a dispatch mode around each op (CPU only: a GPU op returns before it
    runs). Unlike ``--profile`` this leaves the allocator alone (under torch.profiler the
    pooling gradient's zero-fill page-faults at large M); the Python hook slows the epoch, not
    the ops, so each op's time is read against the next, untimed epoch. Also reported: the
    passes/s the trainer would reach if everything but the convolutions took no time."""
    if device.type != "cpu":
        raise SystemExit("--ops times CPU ops; use --profile on a GPU")

    class OpTimer(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seconds = collections.defaultdict(float)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            t = time.perf_counter()
            out = func(*args, **(kwargs or {}))
            self.seconds[func.overloadpacket.__name__] += time.perf_counter() - t
            return out

    timer, stamps = OpTimer(), {}

    def switch(epoch, _metrics):
        stamps[epoch] = time.perf_counter()
        if epoch == 1:
            timer.__enter__()
        elif epoch == 2:
            timer.__exit__(None, None, None)

    _train(m, 3, device, data, chunk, switch)
    epoch_s = stamps[3] - stamps[2]  # the untimed epoch
    conv_s = sum(v for k, v in timer.seconds.items() if k.startswith("convolution"))
    top_ops = sorted(timer.seconds.items(), key=lambda kv: -kv[1])[:top]
    return {"models": m, "epoch_s": round(epoch_s, 3),
            "ops_s": round(sum(timer.seconds.values()), 3),
            "passes_per_s": round(m * len(data.train) / epoch_s),
            "convolution_only_passes_per_s": round(m * len(data.train) / conv_s),
            "top": [{"op": k, "s": round(v, 3), "share": round(v / epoch_s, 3)}
                    for k, v in top_ops]}


def format_op_times(r: dict) -> str:
    lines = [f"ops of one epoch at M={r['models']}: untimed epoch {r['epoch_s']:.2f} s "
             f"({r['passes_per_s']} passes/s), ops {r['ops_s']:.2f} s; convolutions alone "
             f"would allow {r['convolution_only_passes_per_s']} passes/s"]
    lines += [f"  {t['op']:36s} {t['s']:7.3f} s {100 * t['share']:5.1f}%" for t in r["top"]]
    return "\n".join(lines)


def plot(rows: list[dict], base: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.axhline(1, color="grey", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("models in the population (M)")
    ax.set_ylabel("models*epochs/s relative to one at a time")
    twin = ax.twinx()
    curves: dict[str, list[dict]] = {}  # one curve per chunk setting of the sweep
    for r in rows:
        c = r.get("chunk_setting")
        curves.setdefault("trainer's default chunk" if c is None else f"chunks of {c}",
                          []).append(r)
    for i, (name, rs) in enumerate(sorted(curves.items())):
        ms = [r["models"] for r in rs]
        ax.plot(ms, [r["speedup"] for r in rs], marker="o", color=f"C{i}",
                label=f"{name}: speed-up")
        twin.plot(ms, [r["passes_per_s"] / 1e3 for r in rs], marker="s", ls="--", lw=0.8,
                  color=f"C{i}", alpha=0.6)
    twin.set_ylabel("image-model passes/s (thousands, dashed)")
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
    ap.add_argument("--chunks", type=int, nargs="*", default=[], metavar="C",
                    help="models per chunk to compare at every M (default: the trainer's)")
    ap.add_argument("--profile", type=int, nargs="*", default=[], metavar="M")
    ap.add_argument("--ops", type=int, nargs="*", default=[], metavar="M",
                    help="time each aten op of one epoch at these M (CPU; no profiler)")
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
        for chunk in args.chunks or [None]:
            if chunk and chunk > m:
                continue
            used = min(m, chunk or models_per_chunk_for(device, m))
            rate = vectorised_rate(m, args.epochs, device, data, chunk)
            rows.append({"models": m, "models_per_chunk": used, "chunk_setting": chunk,
                         "models_epochs_per_s": round(rate, 3),
                         "passes_per_s": round(rate * len(data.train)),
                         "speedup": round(rate / base, 2)})
            print(f"M={m:5d} chunk {used:5d}  {rate:9.2f} models*epochs/s  "
                  f"{rate * len(data.train):10.0f} passes/s  {rate / base:6.2f}x", flush=True)
    profiles = {m: profile(m, device, data, (args.chunks or [None])[0])
                for m in args.profile}
    for m, table in profiles.items():
        print(f"\nprofile, one epoch at M={m}:\n{table}")
    ops = [op_times(m, device, data, (args.chunks or [None])[0]) for m in args.ops]
    for r in ops:
        print("\n" + format_op_times(r))
    env = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu": platform.processor() or platform.machine(),
           "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
           "train_images": len(data.train), "label": args.label}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(
        {"environment": env, "one_at_a_time_models_epochs_per_s": round(base, 3),
         "results": rows, "profiles": {str(m): t for m, t in profiles.items()},
         "op_times": ops}, indent=1))
    plot(rows, base, out.with_suffix(".png"),
         f"{args.label or 'M-curve'} on {env['gpu'] or env['cpu']}, {env['threads']} threads")
    print(f"wrote {out}.json and {out}.png")


if __name__ == "__main__":
    main()
