"""Sweep: how much shared structure does a digits zoo have, per training setting and epoch?

Trains one population with the library's trainer (no Snakemake), then runs
:func:`hyperreps.zoos.diagnostics.zoo_diagnostics` with a 5-epoch window ending at each requested
epoch. Prints one line per epoch: init correlation, test accuracy, PCA ceilings. Used for the
sweeps in docs/experiments.md, e.g.

    .venv/bin/python experiments/zoo_structure.py --models 120 --epochs 40 --init uniform \
        --lr 1e-2 --at 10 20 30 40 --save /tmp/zoo_u_1e-2
"""

import argparse
import time

import torch

from hyperreps.architecture import zoo_cnn_layout
from hyperreps.data import load_dataset
from hyperreps.zoos.diagnostics import zoo_diagnostics
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings
from hyperreps.zoo import Zoo, metadata_table, save_zoo
from hyperreps.splits import split_models

p = argparse.ArgumentParser()
p.add_argument("--dataset", default="digits")
p.add_argument("--models", type=int, default=60)
p.add_argument("--epochs", type=int, default=30)
p.add_argument("--init", default="uniform")
p.add_argument("--lr", type=float, default=1e-2)
p.add_argument("--batch", type=int, default=10)
p.add_argument("--activation", default="tanh")
p.add_argument("--at", type=int, nargs="+", default=None)
p.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512])
p.add_argument("--save", default=None)
a = p.parse_args()
torch.set_num_threads(2)
data = load_dataset(a.dataset)
layout = zoo_cnn_layout(data.channels)
specs = [ModelSpec(seed=s, init=a.init, lr=a.lr) for s in range(1, a.models + 1)]
settings = TrainSettings(activation=a.activation, batch_size=a.batch, epochs=a.epochs)
t0 = time.time()
res = train_population(specs, settings, data.train, data.evals(), layout)
dt = time.time() - t0
rows = [dict(model_id=i, seed=s.seed, activation=a.activation, init=a.init, optimizer="adam",
             lr=a.lr, weight_decay=0.0, dropout=0.0, batch_size=a.batch)
        for i, s in enumerate(specs)]
zoo = Zoo(res.weights.float(), metadata_table(rows, res.metrics, res.diverged_epoch), layout,
          a.dataset, dict(model_ids=list(range(len(specs)))))
if a.save:
    save_zoo(a.save, zoo)
split = split_models(zoo)
print(f"# {a} trained in {dt:.0f} s ({a.models * a.epochs / dt:.1f} model-epochs/s), "
      f"diverged {int((res.diverged_epoch >= 0).sum())}")
for last in a.at or [a.epochs]:
    d = zoo_diagnostics(zoo, split, (max(1, last - 4), last), code_width=a.widths[-1],
                     widths=a.widths, n_models_steps=4)
    s = d.summary
    w = d.ceiling_by_width
    ceil = " ".join(f"k{k}={r:.3f}" for k, r in zip(w["k"], w["r2_test"]))
    bym = d.ceiling_by_models
    full = bym[bym.full_rank] if "full_rank" in bym else bym
    nm = " ".join(f"n{n}={r:.3f}" for n, r in zip(full.n_train_models, full.r2_test))
    print(f"ep {last:3d} corr {s['init_correlation_median']:.3f} acc {s['test_acc_median']:.3f}"
          f" [{s['test_acc_min']:.3f},{s['test_acc_max']:.3f}]"
          f" disp {s['displacement_rms_median']:.3f}"
          f" init {s['init_spread_rms']:.3f} | test {ceil} | full-rank by n: {nm}", flush=True)
