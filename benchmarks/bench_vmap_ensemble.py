"""The population trainer against torch.func's vmap ensemble and one model at a time (issue 31).

    python benchmarks/bench_vmap_ensemble.py                      # CPU: M = 32 128, 100 steps
    python benchmarks/bench_vmap_ensemble.py --quick              # 20 steps, a smoke run
    python benchmarks/bench_vmap_ensemble.py --device cuda --m 128 1000 --steps 200

Three ways to train M zoo CNNs (digits, batch 10, tanh, kaiming-uniform, Adam lr 1e-3, as
``bench_m_curve.py``), timed in one run:

- ``population``: :func:`hyperreps.trainer.loop.train_population` (grouped convolutions and
  batched matmuls over the models, one fused Adam over the flat ``[M, P]`` buffer);
- ``one_at_a_time``: :func:`hyperreps.trainer.one_at_a_time.train_one_at_a_time`, an
  ``nn.Module`` and a ``torch.optim.Adam`` per model, one model after another;
- ``vmap``: PyTorch's ensemble idiom, ``torch.func.stack_module_state`` over M
  ``SingleModel`` s, ``torch.vmap(functional_call)`` with ``in_dims=(0, 0, 0, 0)`` (each model
  its own batch, the same per-model data order as the population trainer), the sum of the M
  losses, one ``torch.optim.Adam`` step on the stacked parameters.

Every method runs ``--steps`` optimiser steps on the first ``steps * 10`` training images
(one "epoch" of that subset). ``population`` and ``vmap`` do one warm-up epoch, then one timed
epoch (no held-out evaluation); ``one_at_a_time`` trains one model as warm-up, then all M
(its per-model set-up, a module and an optimiser, is in the time). Reported: model-steps/s
(M x steps / s; x10 for image-model passes/s) and ratios within the run. A correctness check
first trains M = 2 for a few steps with identical inits and batches by all three methods and
prints the largest weight difference against the population trainer, in float32 and float64.
Writes the table as CSV (``--out``). ``--threads`` defaults to 2 as the other benchmarks; on
cores another job keeps busy use ``--threads 1``: there, each small op of a 2-thread run waits
for a descheduled OpenMP thread, which slowed one at a time (many small ops) 8x and the
population trainer 2x in a smoke run, so the ratios would measure the contention.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state

from hyperreps.architecture import SingleModel, get_architecture, init_parameters, zoo_cnn_name
from hyperreps.data import SplitData, load_dataset
from hyperreps.device import CPU_MALLOC_ENV, malloc_env_missing, resolve_device, set_cpu_threads
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.one_at_a_time import train_one_at_a_time


from bench_m_curve import settings, specs, sync  # the same models and settings as the M-curve

ARCH = get_architecture(zoo_cnn_name(1))
LAYOUT = ARCH.layout
BATCH = 10


def train_vmap(m: int, epochs: int, train: SplitData, device, dtype=torch.float32,
               on_epoch=None) -> torch.Tensor:
    """M zoo CNNs as torch.func's ensemble; returns the final flat weights ``[M, P]``. Inits
    and per-model data orders are drawn as in ``train_population``."""
    sp = specs(m)
    models = [SingleModel(ARCH, "tanh").to(dtype).load_flat(init_parameters(LAYOUT, s.init,
                                                                             s.seed, dtype))
              for s in sp]
    params, buffers = stack_module_state(models)  # {name: [M, *shape]} leaves
    params = {k: v.to(device).detach().requires_grad_(True) for k, v in params.items()}
    base = SingleModel(ARCH, "tanh").to("meta")
    opt = torch.optim.Adam(params.values(), lr=sp[0].lr)

    def loss_one(p, b, x, y):
        logits = functional_call(base, (p, b), (x,))
        return F.nll_loss(F.log_softmax(logits, -1), y)

    batched_loss = torch.vmap(loss_one, in_dims=(0, 0, 0, 0))
    x, y = train.x.to(device, dtype), train.y.to(device)
    gens = [torch.Generator().manual_seed(s.seed) for s in sp]
    n = len(train)
    for epoch in range(1, epochs + 1):
        order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
        for s in range(0, n, BATCH):
            idx = order[:, s : s + BATCH]  # [M, B]: each model its own batch
            losses = batched_loss(params, buffers, x[idx], y[idx])
            opt.zero_grad()
            losses.sum().backward()
            opt.step()
        if on_epoch:
            on_epoch(epoch)
    return LAYOUT.flatten({k: v.detach() for k, v in params.items()})


def timed_epoch(run, device) -> float:
    """Seconds of the second epoch of ``run(on_epoch)`` (the first is the warm-up)."""
    stamps = {}

    def stamp(epoch, *_):
        sync(device)
        stamps[epoch] = time.perf_counter()

    run(stamp)
    return stamps[2] - stamps[1]


def population_seconds(m, train, device):
    return timed_epoch(lambda cb: train_population(specs(m), settings(2), train, {}, LAYOUT,
                                                   device=device, on_epoch=cb), device)


def vmap_seconds(m, train, device):
    return timed_epoch(lambda cb: train_vmap(m, 2, train, device, on_epoch=cb), device)


def one_at_a_time_seconds(m, train, device):
    sp = specs(m)
    train_one_at_a_time(sp[0], settings(1), train, device=device)  # warm-up
    sync(device)
    t = time.perf_counter()
    for spec in sp:
        train_one_at_a_time(spec, settings(1), train, device=device)
    sync(device)
    return time.perf_counter() - t


def check(train: SplitData, device, steps: int = 5) -> dict[str, float]:
    """Largest |weight difference| to the population trainer after ``steps`` steps of M = 2,
    same inits and batches; per method and dtype."""
    sub, out = SplitData(train.x[: steps * BATCH], train.y[: steps * BATCH]), {}
    for dtype in (torch.float32, torch.float64):
        ref = train_population(specs(2), settings(1), sub, {}, LAYOUT, device=device,
                               dtype=dtype).weights[:, 1]
        vm = train_vmap(2, 1, sub, device, dtype).cpu()
        one = torch.stack([train_one_at_a_time(s, settings(1), sub, dtype=dtype, device=device)
                           for s in specs(2)]).cpu()
        name = str(dtype).removeprefix("torch.")
        out[f"vmap_{name}"] = (vm - ref).abs().max().item()
        out[f"one_at_a_time_{name}"] = (one - ref).abs().max().item()
    return out


def table(rows: list[dict]) -> str:
    lines = ["| method | M | model-steps/s | vs population | vs one at a time |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {r['M']} | {r['model_steps_per_s']:,.0f} | "
              f"{r['vs_population']:.2f}x | {r['vs_one_at_a_time']:.2f}x |" for r in rows]
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--steps", type=int, default=100, help="timed optimiser steps per method")
    ap.add_argument("--quick", action="store_true", help="20 steps (a smoke run)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", nargs="+", default=["population", "one_at_a_time", "vmap"])
    ap.add_argument("--out", default="benchmarks/results/vmap_ensemble.csv")
    args = ap.parse_args()
    if malloc_env_missing():  # as in the pipeline's jobs; glibc reads these at start-up only
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **CPU_MALLOC_ENV})
    set_cpu_threads(args.threads)
    device = resolve_device(args.device)
    steps = 20 if args.quick else args.steps
    data = load_dataset("digits")
    if steps * BATCH > len(data.train):
        raise SystemExit(f"--steps {steps} needs {steps * BATCH} images; digits has "
                         f"{len(data.train)}")
    train = SplitData(data.train.x[: steps * BATCH], data.train.y[: steps * BATCH])
    where = (torch.cuda.get_device_name() if device.type == "cuda"
             else platform.processor() or platform.machine())
    print(f"device {device} ({where}), torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, {steps} steps of batch {BATCH}", flush=True)
    diffs = check(data.train, device)
    print("correctness, M = 2, 5 steps, max |w - w_population|: "
          + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()), flush=True)
    timers = {"population": population_seconds, "one_at_a_time": one_at_a_time_seconds,
              "vmap": vmap_seconds}
    rows = []
    for m in args.m:
        rate = {}
        for method in args.methods:
            seconds = timers[method](m, train, device)
            rate[method] = m * steps / seconds
            print(f"M={m:5d} {method:14s} {seconds:7.2f} s  {rate[method]:9.0f} model-steps/s",
                  flush=True)
        for method in args.methods:
            rows.append({"method": method, "M": m, "steps": steps, "device": str(device),
                         "threads": torch.get_num_threads(),
                         "model_steps_per_s": round(rate[method], 1),
                         "vs_population": round(rate[method] / rate.get("population", 1), 3),
                         "vs_one_at_a_time": round(rate[method] / rate.get("one_at_a_time", 1),
                                                   3)})
    print("\n" + table(rows))
    write_csv(rows, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
