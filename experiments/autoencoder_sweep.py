"""Sweep: one autoencoder setting on a saved zoo, against the zoo's PCA ceiling.

Trains with the library's :func:`hyperreps.autoencoder.train.train_autoencoder` on the training
split's checkpoints of a window, selects on validation, prints R² per split, the PCA ceiling
at the code width and the fraction reached. Used for the sweeps in docs/experiments.md:

    .venv/bin/python experiments/autoencoder_sweep.py /tmp/zoo --window 36 40 \
        --d-model 64 --latent 256 --compression flatten --epochs 60 --permute
"""

import argparse
import json
import time

import torch

from hyperreps.augment import AugmentSettings
from hyperreps.autoencoder.model import AutoencoderShape
from hyperreps.autoencoder.train import AutoencoderTraining, train_autoencoder
from hyperreps.zoos.diagnostics import zoo_diagnostics
from hyperreps.zoo import load_zoo
from hyperreps.splits import checkpoint_sets, split_models

p = argparse.ArgumentParser()
p.add_argument("zoo")
p.add_argument("--window", type=int, nargs=2, required=True)
p.add_argument("--d-model", type=int, default=64)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--d-ff", type=int, default=0)
p.add_argument("--latent", type=int, default=128)
p.add_argument("--compression", default="flatten")
p.add_argument("--dropout", type=float, default=0.0)
p.add_argument("--epochs", type=int, default=50)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--beta", type=float, default=0.99)
p.add_argument("--permute", action="store_true")
p.add_argument("--erase", type=float, default=0.0)
p.add_argument("--noise", type=float, default=0.0)
p.add_argument("--target", default="clean")
p.add_argument("--select", default="best_val")
p.add_argument("--baseline", action="store_true", help="plain MSE instead of LWLN")
p.add_argument("--standardize", action="store_true")
p.add_argument("--eval-every", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(2)
zoo = load_zoo(a.zoo)
split = split_models(zoo)
data = checkpoint_sets(zoo, split, tuple(a.window))
arch = AutoencoderShape(d_model=a.d_model, n_layers=a.layers, n_heads=a.heads,
                        d_ff=a.d_ff or 2 * a.d_model, latent_dim=a.latent, dropout=a.dropout,
                        projection_layers=2, projection_width=a.d_model, projection_dim=16,
                        compression=a.compression)
settings = AutoencoderTraining(epochs=a.epochs, batch_size=a.batch, lr=a.lr, beta=a.beta,
                               lwln=not a.baseline, eval_every=a.eval_every, plateau_patience=1000,
                               reconstruction_target=a.target, select=a.select,
                               standardize=a.standardize,
                               augment=AugmentSettings(permute=a.permute, erase_p=a.erase,
                                                       noise=a.noise))
t0 = time.time()
res = train_autoencoder(data, zoo.layout, arch, settings)
dt = time.time() - t0
diag = zoo_diagnostics(zoo, split, tuple(a.window), arch.code_width, widths=(arch.code_width,),
                    n_models_steps=1)
ceil = diag.summary["pca_ceiling_at_code_width"]
r2 = {k: v["overall"] for k, v in res.metrics["r2"].items()}
hist = res.history.dropna(subset=["val_r2"])
curve = " ".join(f"{int(e)}:{v:.3f}" for e, v in zip(hist.epoch, hist.val_r2))
print(json.dumps(dict(args=vars(a), seconds=round(dt), best_epoch=res.metrics["best_epoch"],
                      r2=r2, ceiling=ceil, of_ceiling=r2["test"] / ceil,
                      code_width=arch.code_width)))
print(f"val R² curve: {curve}", flush=True)
