"""One-model-at-a-time training: the plain loop the vectorised trainer must reproduce.

Used only as a yardstick, by the equivalence tests and the benchmark; the pipeline trains with
:func:`hyperreps.trainer.loop.train_population`. Each model is an ``nn.Module`` with its own
``torch.optim`` optimiser, the same seeded initialisation and the same data order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..architecture import SingleModel, architecture_of, init_parameters, zoo_cnn_name
from ..data import SplitData
from .specs import ModelSpec, TrainSettings


def train_one_at_a_time(spec: ModelSpec, settings: TrainSettings, data: SplitData,
                        channels: int = 1, dtype: torch.dtype = torch.float32,
                        device: str | torch.device = "cpu", layout=None) -> torch.Tensor:
    """Train one model for ``settings.epochs`` epochs; return its final flat weights.

    The architecture is ``layout``'s (default: the zoo CNN with ``channels`` inputs)."""
    arch = architecture_of(layout) if layout is not None else zoo_cnn_name(channels)
    model = SingleModel(arch, settings.activation, spec.dropout).to(device=device, dtype=dtype)
    model.load_flat(init_parameters(model.layout, spec.init, spec.seed, dtype).to(device))
    if settings.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=settings.momentum,
                              weight_decay=spec.weight_decay)
    gen = torch.Generator().manual_seed(spec.seed if settings.data_order == "per_model"
                                        else settings.shuffle_seed)
    x, y = data.x.to(device=device, dtype=dtype), data.y.to(device)
    n, b = len(data), settings.batch_size
    for _ in range(settings.epochs):
        order = torch.randperm(n, generator=gen).to(device)
        for s in range(0, n, b):
            idx = order[s : s + b]
            loss = F.nll_loss(F.log_softmax(model(x[idx]), -1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.flat()
