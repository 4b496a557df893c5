"""Network architectures described as data, their parameter layouts and initialisation.

A :class:`ModelArchitecture` is a sequence of ops (layers, pooling, activation, flatten, skip
connections). From it follow the flat layout (:class:`~hyperreps.layout.ParameterLayout`),
the neuron tokens (:mod:`hyperreps.tokens`), the permutation symmetry
(:meth:`ModelArchitecture.permutation_groups`, used by :mod:`hyperreps.augment`), the
vectorised population forward pass (:func:`hyperreps.trainer.forward.population_forward`) and
a one-model module (:class:`SingleModel`). Registered (:data:`ARCHITECTURES`):

- ``zoo_cnn`` / ``zoo_cnn_rgb``, the zoo CNN (2022 App. A Table 6; 2021 App. C), 28x28 inputs:
  Conv(c,8,5) -> MaxPool2 -> act -> Conv(8,6,5) -> MaxPool2 -> act -> Conv(6,4,2) -> act
  -> Flatten(36) -> Linear(36,20) -> act -> Linear(20,10); 2464 parameters for c = 1, 2864
  for c = 3;
- ``cnn3_resskip``, ``cnn4``, ``cnn4_idskip``: 2022 Table 4's unseen architectures, as the
  authors' ``def_net.py`` defines them (ResCNN, CNN_more_layers, CNN_more_layers_residual);
- ``tetris_mlp``: the 2021 Tetris net 16-5-4 without biases (100 parameters);
- ``unterthiner_cnn`` / ``_rgb``: the small CNN of Unterthiner et al. (2020), 4,970 parameters.

Dropout (when > 0) follows every hidden activation. A model's weights are kept as one flat
vector, layer by layer, each layer's weight (PyTorch row-major order) followed by its bias:
the order of the reference implementation's ``vectorize_checkpoint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from .layout import Layer, ParameterLayout, PermutationGroup

ACTIVATIONS = ("tanh", "relu", "gelu", "sigmoid")
INITS = ("uniform", "normal", "kaiming_uniform", "kaiming_normal", "xavier_uniform",
         "xavier_normal")
BIAS_INIT = 0.01  # every init scheme of the reference sets all biases to 0.01
IMAGE_SIZE = 28
N_CLASSES = 10


# --------------------------------------------------------------------------- described networks


@dataclass(frozen=True)
class Op:
    """One step of a network's computation, applied to the running activation ``h``.

    - ``layer``: ``h = layer(h)`` (conv or linear, weights from the flat vector);
    - ``maxpool``: max pooling with ``size``, ``stride`` (default ``size``) and ``padding``;
    - ``act``: the model's activation, then dropout (dropout follows every hidden activation);
    - ``flatten``: ``[C, H, W] -> [C*H*W]`` (channel-major, as torch's ``flatten``);
    - ``global_avgpool``: ``[C, H, W] -> [C]``;
    - ``save``: remember ``h`` under ``tag``;
    - ``add``: ``h = h + branch(saved[tag])``, where ``branch`` is a tuple of ops (``layer``,
      ``maxpool``, ``crop``, ``subsample``) applied to the saved activation;
    - ``crop``: remove ``size`` pixels at each border; ``subsample``: keep every ``size``-th
      row and column, starting at 0.
    """

    kind: str
    layer: Layer | None = None
    size: int = 0
    stride: int = 0
    padding: int = 0
    tag: str = ""
    branch: tuple = ()


OP_KINDS = ("layer", "maxpool", "act", "flatten", "global_avgpool", "save", "add", "crop",
            "subsample")
BRANCH_OP_KINDS = ("layer", "maxpool", "crop", "subsample")


def conv(name, cin, cout, k, stride=1, padding=0, bias=True, init=None) -> Op:
    return Op("layer", Layer(name, "conv", cin, cout, k, stride, padding, bias, init))


def linear(name, fin, fout, bias=True, init=None) -> Op:
    return Op("layer", Layer(name, "linear", fin, fout, 1, 1, 0, bias, init))


def maxpool(size, stride=None, padding=0) -> Op:
    return Op("maxpool", size=size, stride=size if stride is None else stride, padding=padding)


ACT, FLATTEN, GAP = Op("act"), Op("flatten"), Op("global_avgpool")


def save(tag) -> Op:
    return Op("save", tag=tag)


def add(tag, *branch: Op) -> Op:
    return Op("add", tag=tag, branch=tuple(branch))


@dataclass(frozen=True)
class ModelArchitecture:
    """A network described as data: from it follow the flat layout (main-path layers in order,
    then skip-branch layers), the permutation groups, the vectorised population forward pass
    (:func:`hyperreps.trainer.forward.population_forward`) and a one-model ``nn.Module``
    (:class:`SingleModel`)."""

    name: str
    input_shape: tuple[int, int, int]  # channels, height, width
    n_classes: int
    ops: tuple[Op, ...]
    description: str = ""

    def __post_init__(self):
        for op in self.ops:
            if op.kind not in OP_KINDS:
                raise ValueError(f"{self.name}: unknown op {op.kind!r}")
            for b in op.branch:
                if b.kind not in BRANCH_OP_KINDS:
                    raise ValueError(f"{self.name}: op {b.kind!r} cannot be in a skip branch")

    @property
    def layers(self) -> list[Layer]:
        main = [op.layer for op in self.ops if op.kind == "layer"]
        branch = [b.layer for op in self.ops for b in op.branch if b.kind == "layer"]
        return main + branch

    @cached_property
    def layout(self) -> ParameterLayout:
        return ParameterLayout(self.layers, self.permutation_groups(), self.name)

    @property
    def n_params(self) -> int:
        return self.layout.n_params

    def permutation_groups(self) -> list[PermutationGroup]:
        """Hidden units that can be permuted together, traced through the ops.

        Every layer's output units start as their own group; a skip connection that adds two
        activations ties their groups (union-find). A group is permutable unless it is tied
        to the input or is the network's output; its consumers are the layers that read it
        (through pooling, activation, flatten or crop, which all act per unit)."""
        layers = self.layers
        index = {layer.name: i for i, layer in enumerate(layers)}
        INPUT = len(layers)
        parent = list(range(len(layers) + 1))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def union(a, b):
            ra, rb = find(a), find(b)
            if ra == rb:
                return
            if INPUT in (ra, rb):  # the input stays the root of its group
                parent[rb if ra == INPUT else ra] = INPUT
            else:
                parent[max(ra, rb)] = min(ra, rb)

        reads: list[tuple[int, int]] = []  # (producer, consumer layer)
        saved: dict[str, int] = {}
        owner = INPUT

        def run(op, owner):
            if op.kind == "layer":
                reads.append((owner, index[op.layer.name]))
                return index[op.layer.name]
            return owner

        for op in self.ops:
            if op.kind == "save":
                saved[op.tag] = owner
            elif op.kind == "add":
                if op.tag not in saved:
                    raise ValueError(f"{self.name}: 'add' of {op.tag!r} before its 'save'")
                b_owner = saved[op.tag]
                for b in op.branch:
                    b_owner = run(b, b_owner)
                union(owner, b_owner)
            else:
                owner = run(op, owner)
        output = find(owner)
        groups = {}
        for i in range(len(layers)):
            r = find(i)
            if r in (find(INPUT), output):
                continue
            groups.setdefault(r, [[], []])[0].append(i)
        for producer, consumer in reads:
            r = find(producer)
            if r in groups:
                groups[r][1].append(consumer)
        out = []
        for members, consumers in sorted(groups.values(), key=lambda g: min(g[0])):
            sizes = {layers[m].out_features for m in members}
            if len(sizes) != 1:
                raise ValueError(f"{self.name}: a skip adds activations of different widths "
                                 f"({[layers[m].name for m in members]})")
            out.append(PermutationGroup(tuple(members), tuple(sorted(set(consumers)))))
        return out


def activation_fn(name: str):
    try:
        return {"tanh": torch.tanh, "relu": torch.relu, "gelu": nn.functional.gelu,
                "sigmoid": torch.sigmoid}[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}") from None


def init_parameters(layout: ParameterLayout, scheme: str, seed: int,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Initial flat weight vector of one model, a function of (scheme, seed) alone.

    Follows the reference ``initialize_weights``: 'uniform' is ``nn.init.uniform_`` with its
    default bounds U(0, 1), 'normal' is N(0, 1), the kaiming/xavier schemes use torch's
    defaults (a layer's own ``init`` overrides the scheme); every bias is 0.01. Drawn on the
    CPU from a generator seeded with ``seed``, so a model's initial state does not depend on
    the shard or device it trains on.
    """
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; choose from {INITS}")
    gen = torch.Generator().manual_seed(int(seed))
    named = {}
    for layer in layout.layers:
        w = torch.empty(layer.weight_shape, dtype=dtype)
        init = getattr(nn.init, (layer.init or scheme) + "_")
        init(w, generator=gen)
        named[f"{layer.name}.weight"] = w
        if layer.bias:
            named[f"{layer.name}.bias"] = torch.full(layer.bias_shape, BIAS_INIT, dtype=dtype)
    return layout.flatten(named)


class SingleModel(nn.Module):
    """One model of a described architecture as a plain ``nn.Module`` (standard convolutions
    and linear layers, one image batch ``[B, C, H, W]``): the one-model-at-a-time yardstick
    of the equivalence tests and the benchmark. Its parameters are named as the layout's
    tensors (``conv1.weight``, ...)."""

    def __init__(self, arch: "ModelArchitecture | str", activation: str = "tanh",
                 dropout: float = 0.0):
        super().__init__()
        self.arch = get_architecture(arch) if isinstance(arch, str) else arch
        self.layout = self.arch.layout
        self.act = activation_fn(activation)
        self.dropout = float(dropout)
        for layer in self.layout.layers:
            if layer.kind == "conv":
                m = nn.Conv2d(layer.in_features, layer.out_features, layer.kernel_size,
                              layer.stride, layer.padding, bias=layer.bias)
            else:
                m = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias)
            self.add_module(layer.name, m)

    def _apply_op(self, op: Op, h: torch.Tensor) -> torch.Tensor:
        f = nn.functional
        if op.kind == "layer":
            return getattr(self, op.layer.name)(h)
        if op.kind == "maxpool":
            return f.max_pool2d(h, op.size, op.stride, op.padding)
        if op.kind == "crop":
            return h[..., op.size:-op.size, op.size:-op.size]
        if op.kind == "subsample":
            return h[..., ::op.size, ::op.size]
        raise ValueError(f"op {op.kind!r} here")

    def forward(self, x):
        h, saved = x, {}
        for op in self.arch.ops:
            if op.kind == "act":
                h = self.act(h)
                if self.dropout > 0:
                    h = nn.functional.dropout(h, self.dropout, self.training)
            elif op.kind == "flatten":
                h = h.flatten(1)
            elif op.kind == "global_avgpool":
                h = h.mean(dim=(2, 3))
            elif op.kind == "save":
                saved[op.tag] = h
            elif op.kind == "add":
                b = saved[op.tag]
                for bop in op.branch:
                    b = self._apply_op(bop, b)
                h = h + b
            else:
                h = self._apply_op(op, h)
        return h

    def load_flat(self, flat: torch.Tensor) -> "SingleModel":
        named = self.layout.unflatten(flat)
        with torch.no_grad():
            for name, p in self.named_parameters():
                p.copy_(named[name])
        return self

    def flat(self) -> torch.Tensor:
        return self.layout.flatten(dict(self.named_parameters())).detach()


# --------------------------------------------------------------------------- the registry


def zoo_cnn_name(channels: int) -> str:
    if channels not in (1, 3):
        raise ValueError(f"the zoo CNN takes 1 or 3 input channels, not {channels}")
    return "zoo_cnn" if channels == 1 else "zoo_cnn_rgb"


def _zoo_cnn(channels: int) -> ModelArchitecture:
    return ModelArchitecture(
        zoo_cnn_name(channels), (channels, IMAGE_SIZE, IMAGE_SIZE), N_CLASSES,
        (conv("conv1", channels, 8, 5), maxpool(2), ACT,
         conv("conv2", 8, 6, 5), maxpool(2), ACT,
         conv("conv3", 6, 4, 2), ACT, FLATTEN,
         linear("fc1", 36, 20), ACT, linear("fc2", 20, N_CLASSES)),
        "the zoo CNN of the 2021/2022 papers (2022 App. A Table 6)")


def _res_cnn(channels: int = 1) -> ModelArchitecture:
    # GHRP def_net.py ResCNN: the zoo CNN plus a 1x1-conv branch around each conv block (after
    # a max-pool that matches the spatial size), added after the block's activation; the
    # branches are kaiming-uniform initialised whatever the zoo's scheme
    ku = "kaiming_uniform"
    return ModelArchitecture(
        "cnn3_resskip", (channels, IMAGE_SIZE, IMAGE_SIZE), N_CLASSES,
        (save("b0"), conv("conv1", channels, 8, 5), maxpool(2), ACT,
         add("b0", maxpool(5, 2), conv("res1", channels, 8, 1, init=ku)), save("b1"),
         conv("conv2", 8, 6, 5), maxpool(2), ACT,
         add("b1", maxpool(5, 2), conv("res2", 8, 6, 1, init=ku)), save("b2"),
         conv("conv3", 6, 4, 2), ACT,
         add("b2", maxpool(2, 1), conv("res3", 6, 4, 1, init=ku)), FLATTEN,
         linear("fc1", 36, 20), ACT, linear("fc2", 20, N_CLASSES)),
        "2022 Table 4 '3-conv + res-skip': the zoo CNN plus 1x1-conv residual branches "
        "(2464 + 98 parameters; the first 2464 are the zoo CNN's)")


def _four_conv(identity_skip: bool) -> ModelArchitecture:
    # GHRP def_net.py CNN_more_layers / CNN_more_layers_residual: the zoo CNN's 2464
    # parameters re-distributed over four convolutions (the last three without bias)
    ops = [conv("conv1", 1, 8, 5), maxpool(2), ACT,
           conv("conv2", 8, 4, 5, bias=False), ACT]
    if identity_skip:
        ops.append(save("s2"))
    ops += [conv("conv3", 4, 6, 4, bias=False), ACT, conv("conv4", 6, 4, 3, bias=False), ACT]
    if identity_skip:  # act2's 8x8 output cropped to 6x6 and strided to 3x3
        ops.append(add("s2", Op("crop", size=1), Op("subsample", size=2)))
    ops += [FLATTEN, linear("fc5", 36, 18), ACT, linear("fc6", 18, N_CLASSES)]
    name = "cnn4_idskip" if identity_skip else "cnn4"
    what = "4-conv + id.-skip" if identity_skip else "4-conv"
    return ModelArchitecture(name, (1, IMAGE_SIZE, IMAGE_SIZE), N_CLASSES, tuple(ops),
                             f"2022 Table 4 '{what}': 2464 parameters over four convolutions")


def _tetris_mlp() -> ModelArchitecture:
    return ModelArchitecture(
        "tetris_mlp", (1, 4, 4), 4,
        (FLATTEN, linear("fc1", 16, 5, bias=False), ACT, linear("fc2", 5, 4, bias=False)),
        "2021 App. C: the Tetris feed-forward net 16-5-4 without biases (100 parameters)")


def _unterthiner_cnn(channels: int = 1, size: int = IMAGE_SIZE) -> ModelArchitecture:
    # Unterthiner et al. 2020, "Predicting neural network accuracy from weights": three 3x3
    # convolutions with 16 filters and stride 2 ('valid', as the Small CNN Zoo's Conv2D),
    # global average pooling, a dense layer. 4,970 parameters on grey-scale inputs; the pooling
    # makes the same weights run on 28x28 (MNIST, Fashion-MNIST) and 32x32 (CIFAR-10, SVHN)
    name = "unterthiner_cnn" if channels == 1 else "unterthiner_cnn_rgb"
    return ModelArchitecture(
        name if size == IMAGE_SIZE else f"{name}_{size}", (channels, size, size), N_CLASSES,
        (conv("conv1", channels, 16, 3, stride=2), ACT, conv("conv2", 16, 16, 3, stride=2), ACT,
         conv("conv3", 16, 16, 3, stride=2), ACT, GAP, linear("fc", 16, N_CLASSES)),
        "Unterthiner et al. (2020) small CNN: 3 conv 16x3x3 stride 2, global pooling, dense")


ARCHITECTURES: dict[str, ModelArchitecture] = {a.name: a for a in (
    _zoo_cnn(1), _zoo_cnn(3), _res_cnn(1), _four_conv(False), _four_conv(True), _tetris_mlp(),
    _unterthiner_cnn(1), _unterthiner_cnn(3), _unterthiner_cnn(1, 32))}


def get_architecture(name: str) -> ModelArchitecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; choose from "
                         f"{sorted(ARCHITECTURES)}") from None


def zoo_cnn_layout(channels: int) -> ParameterLayout:
    """The zoo CNN's layout for 1 or 3 input channels."""
    return get_architecture(zoo_cnn_name(channels)).layout


def architecture_of(layout: ParameterLayout) -> ModelArchitecture:
    """The registered architecture a layout belongs to (by name, else by its tensors)."""
    if layout.architecture is not None:
        return get_architecture(layout.architecture)
    for arch in ARCHITECTURES.values():
        if arch.layout == layout:
            return arch
    raise ValueError("the layout matches no registered architecture")
