"""The forward pass of a population: M models of one architecture in one computation.

:func:`population_forward` interprets any architecture of :mod:`hyperreps.architecture` for
all M models at once (grouped convolutions, batched matrix products); :func:`per_model_nll`
is the training loss, one value per model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..architecture import ModelArchitecture, activation_fn, get_architecture, zoo_cnn_name


def population_forward(params: dict[str, torch.Tensor], x: torch.Tensor, activation: str,
                       dropout: torch.Tensor | None = None, generator=None,
                       arch: ModelArchitecture | None = None, uniforms=None) -> torch.Tensor:
    """Logits ``[M, B, classes]`` of M models of one architecture (default: the zoo CNN).

    ``params`` maps each tensor name of the architecture's layout to ``[M, *shape]``. ``x`` is
    either ``[B, C, H, W]`` (every model sees the same images) or ``[M, B, C, H, W]`` (each
    model its own batch). ``dropout`` (``[M]`` rates) applies in training only; its masks come
    from uniform draws ``[B, M, *shape]``, one per activation, taken from ``generator`` or from
    ``uniforms(k, B, shape)`` (the k-th activation's draws; the trainer's chunks share them).

    The ops run on all M models at once: convolutions as one grouped convolution
    (``groups=M``; activations ``[B, M*C, H, W]``, channels-last), linear layers as batched
    matrix products over ``[M, B, F]``; a shared input batch enters the first convolution
    ungrouped, with the M models' kernels stacked as output channels.
    """
    if arch is None:
        arch = get_architecture(zoo_cnn_name(params["conv1.weight"].shape[2]))
    act = activation_fn(activation)
    cl = torch.channels_last  # oneDNN's grouped convolutions are 2-3x faster in NHWC
    M = next(iter(params.values())).shape[0]
    if x.dim() == 5:  # per-model batches
        B = x.shape[1]
        h, mode = x.transpose(0, 1).reshape(B, M * x.shape[2], *x.shape[-2:]), "grouped"
    else:
        B = x.shape[0]
        h, mode = x, "shared"
    h = h.contiguous(memory_format=cl)
    use_dropout = dropout is not None and bool((dropout > 0).any())

    if use_dropout and uniforms is None:
        def uniforms(k, batch, shape):
            return torch.rand((batch, M) + shape, generator=generator, device=h.device,
                              dtype=h.dtype)
    n_drawn = 0

    def drop(h, per_model_shape):
        nonlocal n_drawn
        keep = (1.0 - dropout).to(h.dtype)
        mask_shape = (B, M) + per_model_shape
        u = uniforms(n_drawn, B, per_model_shape)
        n_drawn += 1
        keep_b = keep.view((1, M) + (1,) * len(per_model_shape))
        mask = (u < keep_b).to(h.dtype) / keep_b.clamp_min(1e-12)
        return (h.reshape(mask_shape) * mask).reshape(h.shape)

    def to_linear(h, mode):  # -> [M, B, F]
        if mode == "linear":
            return h
        if mode == "shared":
            return h.reshape(B, -1).expand(M, -1, -1)
        return h.contiguous().reshape(B, M, -1).transpose(0, 1)  # per-model (c, h, w) order

    def apply(op, h, mode):
        if op.kind == "layer":
            layer = op.layer
            w = params[f"{layer.name}.weight"]
            b = params.get(f"{layer.name}.bias") if layer.bias else None
            if layer.kind == "conv":
                w = _channels_last(w.reshape(-1, *w.shape[2:]))
                h = F.conv2d(h, w, None if b is None else b.reshape(-1), layer.stride,
                             layer.padding, groups=1 if mode == "shared" else M)
                return h, "grouped"
            h = to_linear(h, mode)
            wt = w.transpose(1, 2)
            return (torch.bmm(h, wt) if b is None else torch.baddbmm(b.unsqueeze(1), h, wt),
                    "linear")
        if op.kind == "maxpool":
            return F.max_pool2d(h, op.size, op.stride, op.padding), mode
        if op.kind == "crop":
            return h[..., op.size:-op.size, op.size:-op.size], mode
        if op.kind == "subsample":
            return h[..., ::op.size, ::op.size], mode
        if op.kind == "flatten":
            return to_linear(h, mode), "linear"
        if op.kind == "global_avgpool":
            if mode != "grouped":
                raise ValueError("global average pooling needs a convolution before it")
            return h.mean(dim=(2, 3)).reshape(B, M, -1).transpose(0, 1), "linear"
        raise ValueError(f"op {op.kind!r} here")

    def as_mode(t, t_mode, mode):
        if t_mode == mode:
            return t
        if mode == "linear":
            return to_linear(t, t_mode)
        return t.repeat(1, M, 1, 1)  # a shared (input) activation added to grouped ones

    saved = {}
    for op in arch.ops:
        if op.kind == "act":
            h = act(h)
            if use_dropout:
                if mode == "linear":
                    h = drop(h.transpose(0, 1), (h.shape[-1],)).transpose(0, 1)
                else:
                    h = drop(h, (h.shape[1] // M, *h.shape[-2:]))
        elif op.kind == "save":
            saved[op.tag] = (h, mode)
        elif op.kind == "add":
            t, t_mode = saved[op.tag]
            for bop in op.branch:
                t, t_mode = apply(bop, t, t_mode)
            h = h + as_mode(t, t_mode, mode)
        else:
            h, mode = apply(op, h, mode)
    return to_linear(h, mode)


def _channels_last(w: torch.Tensor) -> torch.Tensor:
    """``w`` in channels-last memory, unambiguously so. With one input channel the channels-last
    and the standard layout coincide, and torch then runs the convolution, and writes its
    output, in the standard layout: the max pooling that follows was 10-20x slower there (the
    evaluation's first convolution, and any population of one)."""
    w = w.contiguous(memory_format=torch.channels_last)
    if w.shape[1] == 1:
        w = w.as_strided(w.shape, (w.shape[2] * w.shape[3], 1, w.shape[3], 1))
    return w


def per_model_nll(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per model: logits ``[M, B, 10]``, y ``[B]`` or ``[M, B]``."""
    logp = F.log_softmax(logits, dim=-1)
    if y.dim() == 1:
        y = y.expand(logits.shape[0], -1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(dim=1)
