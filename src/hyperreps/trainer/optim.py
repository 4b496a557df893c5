"""The population's optimiser: Adam or SGD with per-model learning rate and weight decay."""

from __future__ import annotations

import math

import torch

OPTIMIZERS = ("adam", "sgd")


class PopulationOptimizer:
    """Adam or SGD over a population's flat parameters ``[M, P]``, with per-model learning rate
    and weight decay, as one fused elementwise update per chunk of models.

    Reproduces ``torch.optim.Adam`` / ``torch.optim.SGD`` (L2 weight decay added to the
    gradient, Adam's bias corrections, SGD momentum without dampening) model by model; torch's
    optimisers take one scalar lr per parameter group, which cannot vary along the model axis.
    ``params``, ``grads`` and the two state buffers are single ``[M, P]`` tensors (the models'
    layer tensors are views of them), so a step is ten elementwise operations on one block of
    memory rather than ten per layer tensor.
    """

    def __init__(self, params: torch.Tensor, grads: torch.Tensor, kind: str, lr: torch.Tensor,
                 weight_decay: torch.Tensor, momentum: float = 0.9,
                 betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.grads, self.kind = params, grads, kind
        self.lr = lr.to(params.dtype).view(-1, 1)  # [M, 1], converted once
        self.wd = weight_decay.to(params.dtype).view(-1, 1)
        self.momentum, self.betas, self.eps = momentum, betas, eps
        self.step_count = 0
        self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)

    def begin_step(self):
        """Count one optimisation step (all chunks of a step share Adam's bias corrections)."""
        self.step_count += 1

    @torch.no_grad()
    def update(self, rows: slice, keep: torch.Tensor):
        """Apply the current step to models ``rows``; models where ``keep`` is False stay."""
        t = self.step_count
        b1, b2 = self.betas
        p, m = self.params[rows], self.m[rows]
        g = self.grads[rows] + self.wd[rows] * p
        if self.kind == "adam":
            v = self.v[rows]
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2**t)).add_(self.eps)
            update = (self.lr[rows] / (1 - b1**t)) * m / denom
        else:  # sgd with momentum, dampening 0, as torch.optim.SGD
            if t == 1:
                m.copy_(g)
            else:
                m.mul_(self.momentum).add_(g)
            update = self.lr[rows] * m if self.momentum else self.lr[rows] * g
        p.sub_(torch.where(keep.view(-1, 1), update, 0.0))

    @torch.no_grad()
    def reset_models(self, idx: torch.Tensor):
        """Clear the optimiser state of models ``idx`` (diverged models, parked at zero)."""
        self.m[idx] = 0
        self.v[idx] = 0
