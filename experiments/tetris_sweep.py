"""The sweeps behind config/demo_2021.yaml (docs/experiments.md, "the 2021 Tetris demo").

    python experiments/tetris_sweep.py zoo          # zoo hyperparameters, 40 MLPs each
    python experiments/tetris_sweep.py autoencoder  # needs results/demo_2021/zoos/tetris_seed
"""

import json
import sys
import time

import numpy as np
import torch

from hyperreps.architecture import get_architecture
from hyperreps.augment import AugmentSettings
from hyperreps.autoencoder.model import AutoencoderShape
from hyperreps.autoencoder.train import AutoencoderTraining, train_autoencoder
from hyperreps.data import load_dataset
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings as ZooSettings
from hyperreps.zoo import load_zoo
from hyperreps.splits import checkpoint_sets

torch.set_num_threads(2)


def zoo_sweep():
    data = load_dataset("tetris")
    layout = get_architecture("tetris_mlp").layout
    for init, lr, epochs in [("uniform", 3e-5, 75), ("uniform", 1e-3, 25), ("uniform", 3e-4, 25),
                             ("kaiming_uniform", 3e-4, 25)]:
        specs = [ModelSpec(seed=s, init=init, lr=lr) for s in range(1, 41)]
        t = time.time()
        r = train_population(specs, ZooSettings(activation="tanh", optimizer="adam",
                                                batch_size=10, epochs=epochs),
                             data.train, data.evals(), layout)
        acc = r.metrics["test_acc"]
        print(init, lr, epochs, f"{time.time() - t:.0f}s", "median at 0/1/5/10/last",
              np.round(np.nanmedian(acc, 0)[[0, 1, 5, 10, epochs]], 3), "last q10/q90",
              np.round(np.nanquantile(acc[:, -1], [0.1, 0.9]), 3), flush=True)


def autoencoder_sweep():
    zoo = load_zoo("results/demo_2021/zoos/tetris_seed/zoo")
    split = json.loads(open("results/demo_2021/zoos/tetris_seed/split.json").read())
    data = checkpoint_sets(zoo, split, (1, 25))
    # (d_model, d_ff, compression, beta, code width, epochs)
    for d, ff, comp, beta, latent, epochs in [
            (32, 64, "token", 0.5, 50, 30), (64, 128, "token", 0.5, 50, 30),
            (32, 64, "token", 1.0, 50, 30), (32, 64, "flatten", 0.5, 50, 20),
            (32, 64, "flatten", 0.9, 50, 20), (32, 64, "flatten", 0.99, 50, 20),
            (32, 64, "flatten", 1.0, 50, 20), (32, 64, "flatten", 1.0, 20, 20)]:
        arch = AutoencoderShape(d_model=d, n_layers=2, n_heads=1, d_ff=ff, latent_dim=latent,
                                dropout=0.0, projection_layers=2, projection_width=32,
                                projection_dim=16, compression=comp)
        settings = AutoencoderTraining(epochs=epochs, batch_size=32, lr=1e-3, beta=beta,
                                       eval_every=5, plateau_patience=1000, standardize=True,
                                       lwln=False,
                                       augment=AugmentSettings(permute=True, erase_p=0.0))
        t = time.time()
        r = train_autoencoder(data, zoo.layout, arch, settings)
        print(d, ff, comp, beta, latent, epochs, f"{time.time() - t:.0f}s",
              {k: round(v["overall"], 3) for k, v in r.metrics["r2"].items()}, flush=True)


if __name__ == "__main__":
    {"zoo": zoo_sweep, "autoencoder": autoencoder_sweep}[sys.argv[1]]()
