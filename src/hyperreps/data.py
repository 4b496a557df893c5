"""Image datasets of the model zoos: one registry, the papers' preprocessing, tensors in memory.

Every dataset loads to ``DatasetSplits``: float images ``[N, C, 28, 28]`` (tetris: 4x4) and
int64 labels for train / val / test. Validation is carved from the official train split with
``random_split(generator=manual_seed(42))`` at the reference sizes; test is the official test
split (digits has none: a fixed, seeded 20% is held out).

Preprocessing (reference zoo generators):
- mnist: Normalize(0.1307, 0.3081); fashion_mnist: Normalize(0.5, 0.5)
- svhn: Grayscale, CenterCrop(28), Normalize(0.5, 0.5)
- usps: Resize(28), Normalize(0.1307, 0.3081)
- cifar10, stl10: Resize(28), 3 channels kept, Normalize(0.5, 0.5) per channel
- tetris (2021 App. C.1): 4x4 grey-scale images of four tetris shapes, generated in code
  (:func:`tetris_images`), 4 classes, pixel values in [0, 1].
- small_cnn_mnist, small_cnn_fashion_mnist, small_cnn_cifar10, small_cnn_svhn: the same files
  as Unterthiner et al.'s Small CNN Zoo saw them (grey-scale as the mean over RGB, [-1, 1],
  native size: 28x28, or 32x32 for CIFAR-10 and SVHN), for zoos imported from it.
- digits: scikit-learn's bundled 8x8 UCI digits scaled to [0, 1], bilinear upsampling to 28x28,
  Normalize(0.5, 0.5). digits_rot90: the same images rotated by 90 degrees counter-clockwise
  before upsampling (a second bundled domain, for transfer experiments).

Transforms run on whole uint8/float tensors (``torchvision.transforms.v2.functional``), so
antialiased tensor resizing stands in for PIL's per-image resize. The on-disk readers and the
transforms live in :mod:`hyperreps.dataset_files`, with the errors they raise.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .dataset_files import (MNIST_FILES, DatasetCorruptError, digits_reader, idx_reader,
                            prep_digits, prep_gray_mean, prep_half, prep_mnist, prep_natural,
                            prep_svhn, prep_usps, read_cifar10, read_stl10, read_svhn,
                            read_usps)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
SPLIT_SEED = 42


@dataclass
class DataSettings:
    root: Path = Path("data")
    allow_download: bool = False
    verify_checksums: bool = True

    @classmethod
    def from_config(cls, cfg: dict) -> "DataSettings":
        return cls(Path(cfg.get("root", "data")), bool(cfg.get("allow_download", False)),
                   bool(cfg.get("verify_checksums", True)))


@dataclass
class SplitData:
    """Images ``[N, C, 28, 28]`` (float) and labels ``[N]`` (int64) of one split."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device, dtype=None) -> "SplitData":
        return SplitData(self.x.to(device=device, dtype=dtype or self.x.dtype), self.y.to(device))


@dataclass
class DatasetSplits:
    name: str
    train: SplitData
    val: SplitData
    test: SplitData

    @property
    def channels(self) -> int:
        return self.train.x.shape[1]

    def evals(self) -> dict[str, SplitData]:
        return {"val": self.val, "test": self.test}


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    channels: int
    val_size: int
    how_to_get: str
    load_raw: Callable  # (DataSettings) -> (train_x, train_y, test_x, test_y)
    preprocess: Callable  # uint8/float [N, C, H, W] -> float32 [N, C, 28, 28]
    defaults: dict = field(default_factory=dict)  # the zoo hyperparameters of the papers
    train_size: int = 0  # images in the train split after carving out val (for job sizing)
    test_size: int = 0  # images in the test split (for job sizing)
    image_size: int = 28
    n_classes: int = 10
    architecture: str | None = None  # default zoo architecture; None = the zoo CNN


# --------------------------------------------------------------------------- tetris


def tetris_images(n: int, seed: int, noise: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` 4x4 grey-scale images of four tetris shapes (2021 App. C.1), labels 0..3.

    The paper shows the four basic shapes (its Fig. 2) but not how samples vary; ours: the
    I, O, T and S tetrominoes in every rotation and position that fits the 4x4 grid, shape
    cells of brightness U(0.6, 1), then Gaussian pixel noise (std ``noise``), clipped to
    [0, 1]. Class and placement are drawn uniformly from a generator seeded with ``seed``.
    """
    base = {0: [(0, 0), (0, 1), (0, 2), (0, 3)],           # I
            1: [(0, 0), (0, 1), (1, 0), (1, 1)],           # O
            2: [(0, 0), (0, 1), (0, 2), (1, 1)],           # T
            3: [(0, 1), (0, 2), (1, 0), (1, 1)]}           # S
    placements = {}
    for c, cells in base.items():
        masks = set()
        shape = np.zeros((4, 4), dtype=bool)
        for r, q in cells:
            shape[r, q] = True
        for k in range(4):
            rot = np.rot90(shape, k)
            rows, cols = np.nonzero(rot)
            h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
            tight = rot[rows.min():rows.min() + h, cols.min():cols.min() + w]
            for dr in range(5 - h):
                for dc in range(5 - w):
                    m = np.zeros((4, 4), dtype=bool)
                    m[dr:dr + h, dc:dc + w] = tight
                    masks.add(m.tobytes())
        placements[c] = [np.frombuffer(b, dtype=bool).reshape(4, 4) for b in sorted(masks)]
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = np.zeros((n, 1, 4, 4), dtype=np.float32)
    for i, c in enumerate(y):
        m = placements[int(c)][rng.integers(len(placements[int(c)]))]
        x[i, 0][m] = rng.uniform(0.6, 1.0, m.sum())
    x = np.clip(x + rng.normal(0.0, noise, x.shape), 0.0, 1.0).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def _tetris_raw(settings: DataSettings):
    trx, try_ = tetris_images(5000, seed=2021)
    tex, tey = tetris_images(1000, seed=2022)
    return trx, try_, tex, tey


# --------------------------------------------------------------------------- registry

_MNIST_DEFAULTS = dict(activation="tanh", init="uniform", optimizer="adam", lr=3e-4,
                       weight_decay=0.0, dropout=0.0)

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", 1, 144, "bundled with scikit-learn (sklearn.datasets.load_digits)",
        digits_reader(False), prep_digits,
        # The papers' MNIST settings stay at chance here within a small budget (BRIEF):
        # kaiming_uniform with lr 1e-3 learns in a few epochs of 130 steps.
        dict(activation="tanh", init="kaiming_uniform", optimizer="adam", lr=1e-3,
             weight_decay=0.0, dropout=0.0), train_size=1294, test_size=359),
    "digits_rot90": DatasetInfo(
        "digits_rot90", 1, 144, "bundled with scikit-learn (digits rotated by 90 degrees)",
        digits_reader(True), prep_digits,
        dict(activation="tanh", init="kaiming_uniform", optimizer="adam", lr=1e-3,
             weight_decay=0.0, dropout=0.0), train_size=1294, test_size=359),
    "mnist": DatasetInfo(
        "mnist", 1, 10_000, "put the four MNIST idx files (optionally .gz) in DATA/MNIST/raw, "
        "or set data.allow_download",
        idx_reader("MNIST", (), "copy the four MNIST idx files (train-images-idx3-ubyte ..., "
                    "optionally .gz) into that folder, or set data.allow_download: true"),
        prep_mnist, dict(_MNIST_DEFAULTS), train_size=50000, test_size=10000),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", 1, 10_000,
        "apt-get install dataset-fashion-mnist (Debian), put the idx files in "
        "DATA/FashionMNIST/raw, or set data.allow_download",
        idx_reader("FashionMNIST", (DEBIAN_FASHION,),
                    "apt-get install dataset-fashion-mnist (Debian puts the idx files in "
                    f"{DEBIAN_FASHION}), copy the idx files into the first folder, or set "
                    "data.allow_download: true"),
        prep_half, dict(_MNIST_DEFAULTS), train_size=50000, test_size=10000),
    "svhn": DatasetInfo(
        "svhn", 1, 13_257, "train_32x32.mat and test_32x32.mat in DATA/SVHN", read_svhn, prep_svhn,
        dict(activation="tanh", init="uniform", optimizer="adam", lr=3e-3, weight_decay=0.0,
             dropout=0.0), train_size=60000, test_size=26032),
    "usps": DatasetInfo(
        "usps", 1, 1_291, "usps.bz2 and usps.t.bz2 in DATA/USPS", read_usps, prep_usps,
        # 000 Table 4 (the reference script uses uniform init and lr 3e-4)
        dict(activation="tanh", init="kaiming_uniform", optimizer="adam", lr=1e-4,
             weight_decay=1e-3, dropout=0.0), train_size=6000, test_size=2007),
    "cifar10": DatasetInfo(
        "cifar10", 3, 8_000, "cifar-10-batches-py in DATA", read_cifar10, prep_natural,
        dict(activation="gelu", init="kaiming_uniform", optimizer="adam", lr=1e-4,
             weight_decay=1e-2, dropout=0.0), train_size=42000, test_size=10000),
    "stl10": DatasetInfo(
        "stl10", 3, 800, "stl10_binary in DATA", read_stl10, prep_natural,
        dict(activation="tanh", init="kaiming_uniform", optimizer="adam", lr=1e-4,
             weight_decay=1e-3, dropout=0.0), train_size=4200, test_size=8000),
    "tetris": DatasetInfo(
        "tetris", 1, 750, "generated in code (hyperreps.data.tetris_images)", _tetris_raw,
        lambda x: x.float(),
        # 2021 App. C Table 3, TETRIS-SEED: uniform init, Adam, tanh, lr 3e-5
        dict(activation="tanh", init="uniform", optimizer="adam", lr=3e-5, weight_decay=0.0,
             dropout=0.0), train_size=4250, test_size=1000, image_size=4, n_classes=4,
        architecture="tetris_mlp"),
}


# Unterthiner et al.'s preprocessing of the datasets its Small CNN Zoo was trained on
SMALL_CNN_DATASETS = {"small_cnn_mnist": "mnist", "small_cnn_fashion_mnist": "fashion_mnist",
                      "small_cnn_cifar10": "cifar10", "small_cnn_svhn": "svhn"}
for _name, _base in SMALL_CNN_DATASETS.items():
    _info = DATASETS[_base]
    DATASETS[_name] = DatasetInfo(
        _name, 1, _info.val_size, _info.how_to_get, _info.load_raw, prep_gray_mean,
        dict(_info.defaults), _info.train_size, _info.test_size,
        image_size=32 if _base in ("cifar10", "svhn") else 28,
        architecture="unterthiner_cnn" if _base in ("mnist", "fashion_mnist")
        else "unterthiner_cnn_32")


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None


def _validate(name: str, x: torch.Tensor, y: torch.Tensor, info: DatasetInfo, split: str):
    channels, size = info.channels, info.image_size
    if x.dim() != 4 or x.shape[1] != channels or tuple(x.shape[2:]) != (size, size):
        raise DatasetCorruptError(f"{name} {split}: images have shape {tuple(x.shape)}, "
                                  f"expected [N, {channels}, {size}, {size}]")
    if len(x) != len(y) or len(y) == 0:
        raise DatasetCorruptError(f"{name} {split}: {len(x)} images but {len(y)} labels")
    if not torch.isfinite(x).all():
        raise DatasetCorruptError(f"{name} {split}: non-finite pixel values")
    if int(y.min()) < 0 or int(y.max()) >= info.n_classes:
        raise DatasetCorruptError(f"{name} {split}: labels outside 0..{info.n_classes - 1}")


def _required_files(name: str, root: Path) -> list[list[Path]]:
    """Alternative sets of files a dataset loads from (any one complete set will do); empty
    for bundled data."""
    name = SMALL_CNN_DATASETS.get(name, name)  # the same files, preprocessed differently
    if name in ("digits", "digits_rot90", "tetris"):
        return []
    if name in ("mnist", "fashion_mnist"):
        cls = "MNIST" if name == "mnist" else "FashionMNIST"
        folders = [root / cls / "raw"] + ([DEBIAN_FASHION] if name == "fashion_mnist" else [])
        return [[f / n for n in MNIST_FILES] for f in folders] + \
            [[f / (n + ".gz") for n in MNIST_FILES] for f in folders]
    if name == "svhn":
        return [[root / "SVHN" / "train_32x32.mat", root / "SVHN" / "test_32x32.mat"]]
    if name == "usps":
        return [[root / "USPS" / "usps.bz2", root / "USPS" / "usps.t.bz2"]]
    if name == "cifar10":
        folder = root / "cifar-10-batches-py"
        return [[folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]]
    if name == "stl10":
        folder = root / "stl10_binary"
        return [[folder / f for f in ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")]]
    raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")


def missing_dataset(name: str, settings: DataSettings | None = None) -> str | None:
    """Why ``name`` cannot be loaded (its files are absent and downloads are off), naming
    the files looked for and how to get them; None if it can. Cheap: no file is read, so
    the workflow asks before any job starts."""
    settings = settings or DataSettings()
    options = _required_files(name, Path(settings.root))
    if not options or settings.allow_download or any(all(f.exists() for f in files)
                                                      for files in options):
        return None
    looked = sorted({str(f.parent) for files in options for f in files})
    return (f"dataset {name!r} not found (looked in {', '.join(looked)} for "
            f"{', '.join(f.name for f in options[0])}). How to get it: "
            f"{dataset_info(name).how_to_get}")


def load_dataset(name: str, settings: DataSettings | None = None) -> DatasetSplits:
    """Load, preprocess and split one registered dataset."""
    info = dataset_info(name)
    settings = settings or DataSettings()
    trx, try_, tex, tey = info.load_raw(settings)
    trx, tex = info.preprocess(trx).contiguous(), info.preprocess(tex).contiguous()
    try_, tey = try_.long(), tey.long()
    _validate(name, trx, try_, info, "train")
    _validate(name, tex, tey, info, "test")
    n = len(try_)
    n_val = info.val_size if info.val_size < n else max(1, n // 7)
    sub_train, sub_val = torch.utils.data.random_split(
        range(n), [n - n_val, n_val], generator=torch.Generator().manual_seed(SPLIT_SEED))
    tr_idx, va_idx = torch.tensor(list(sub_train)), torch.tensor(list(sub_val))
    return DatasetSplits(name, SplitData(trx[tr_idx], try_[tr_idx]),
                         SplitData(trx[va_idx], try_[va_idx]), SplitData(tex, tey))


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
