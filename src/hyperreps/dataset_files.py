"""How each dataset is read from disk and preprocessed: the readers and transforms that
:mod:`hyperreps.data`'s registry names.

A reader takes the data settings (``root``, ``allow_download``, ``verify_checksums``: a
``hyperreps.data.DataSettings``) and returns ``(train_x, train_y, test_x, test_y)`` as the
files hold them; ``digits_reader`` and ``idx_reader`` build such a reader. A ``prep_*``
transform turns uint8/float ``[N, C, H, W]`` into the normalised float32 ``[N, C, 28, 28]``
the zoos train on. A missing file raises :class:`DatasetNotFoundError` (naming the folders
searched and the remedy), a bad one :class:`DatasetCorruptError`.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .idx_files import IdxFileError, check_idx, copy_idx, open_source

log = logging.getLogger(__name__)


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing; the message names the folders searched and the remedy."""


class DatasetCorruptError(ValueError):
    """A dataset's files exist but fail their checksum or hold impossible values."""


# --------------------------------------------------------------------------- preprocessing


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def _normalize(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return (x - mean) / std


def _resize28(x: torch.Tensor) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    return TF.resize(x, [28, 28], antialias=True)


def prep_mnist(x):
    return _normalize(_to_float(x), 0.1307, 0.3081)


def prep_half(x):
    return _normalize(_to_float(x), 0.5, 0.5)


def prep_svhn(x):
    from torchvision.transforms.v2 import functional as TF

    x = TF.rgb_to_grayscale(x)  # uint8 in, uint8 out
    x = TF.center_crop(x, [28, 28])
    return prep_half(x)


def prep_gray_mean(x):
    """Unterthiner et al.'s Small CNN Zoo inputs: grey-scale as the mean over the colour
    channels, scaled to [-1, 1], native size."""
    x = _to_float(x)
    return prep_half(x.mean(dim=1, keepdim=True) if x.shape[1] == 3 else x)


def prep_usps(x):
    return prep_mnist(_resize28(_to_float(x)))


def prep_natural(x):
    return prep_half(_resize28(_to_float(x)))


def prep_digits(x):
    return _normalize(F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False),
                      0.5, 0.5)


# --------------------------------------------------------------------------- raw loaders


def _not_found(name: str, searched: list[Path], how: str) -> DatasetNotFoundError:
    folders = "\n".join(f"  - {p}" for p in searched)
    return DatasetNotFoundError(
        f"dataset {name!r} not found. Searched:\n{folders}\nHow to get it: {how}")


def digits_reader(rotate: bool):
    def load(_settings):
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
        if rotate:
            x = torch.rot90(x, 1, dims=(-2, -1)).contiguous()
        y = torch.tensor(d.target, dtype=torch.int64)
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
        n_test = round(0.2 * len(y))
        test, train = perm[:n_test], perm[n_test:]
        return x[train], y[train], x[test], y[test]

    return load


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _same_content(path: Path, source: Path) -> bool:
    """Whether the regular file ``path`` holds exactly what the idx file ``source`` (plain or
    ``.gz``) decompresses to (reading no more of ``source`` than ``path`` holds, plus one
    byte)."""
    with open(path, "rb") as have, open_source(source)(source, "rb") as want:
        while True:
            a = have.read(1 << 20)
            if a != want.read(len(a) if a else 1):
                return False
            if not a:
                return True


def _fill_in(raw: Path, src: dict[str, Path]) -> None:
    """Copy into ``raw`` (under the user's ``data.root``) the idx files it lacks, from the
    complete set ``src``. A file already there is never overwritten: kept when it holds the
    same data, refused (kept, and named) when it does not or is not a regular file, so the
    four files always come from one set."""
    raw.mkdir(parents=True, exist_ok=True)
    missing = []
    for f, path in src.items():  # every file already there checked before any is copied
        target = raw / f
        if not os.path.lexists(target):
            missing.append((path, target))
        elif not target.is_file():
            kind = "broken symbolic link" if target.is_symlink() else "not a regular file"
            raise DatasetCorruptError(
                f"{target}: is a {kind}; it is not replaced (only missing idx files are "
                f"copied from {path.parent}): remove it or put the idx file there yourself")
        elif not _same_content(target, path):
            raise DatasetCorruptError(
                f"{target}: differs from {path}, from which the missing idx files would be "
                "copied; it is kept, not overwritten (a file the pipeline did not write is "
                "never replaced): remove it to use that folder's files, or complete the set "
                f"in {raw} yourself")
    for path, target in missing:
        # checked while copied, never past its header's size; a unique temporary per
        # process: shards may copy the same file at once
        try:
            copy_idx(path, target)
        except IdxFileError as e:
            raise DatasetCorruptError(f"{e}; nothing was copied from it") from None


def idx_reader(cls_name: str, extra_folders: tuple[Path, ...], how: str):
    def load(settings):
        from torchvision import datasets

        cls = getattr(datasets, cls_name)
        raw = Path(settings.root) / cls_name / "raw"
        searched = [raw, *extra_folders]
        if not all((raw / f).exists() for f in MNIST_FILES):
            for folder in searched:
                if all((folder / f).exists() for f in MNIST_FILES):
                    src = {f: folder / f for f in MNIST_FILES}
                elif all((folder / (f + ".gz")).exists() for f in MNIST_FILES):
                    src = {f: folder / (f + ".gz") for f in MNIST_FILES}
                else:
                    continue
                _fill_in(raw, src)
                log.info("%s: copied missing idx files from %s to %s", cls_name, folder, raw)
                break
        if not all((raw / f).exists() for f in MNIST_FILES) and not settings.allow_download:
            raise _not_found(cls_name, searched, how)
        try:  # what torchvision reads is checked first: type, shape and length
            for f in MNIST_FILES:
                if (raw / f).exists():
                    check_idx(raw / f)
        except IdxFileError as e:
            raise DatasetCorruptError(f"{e}; replace it with the original file. How to get "
                                      f"it: {how}") from None
        try:
            tr = cls(str(settings.root), train=True, download=settings.allow_download)
            te = cls(str(settings.root), train=False, download=settings.allow_download)
        except (AssertionError, RuntimeError, ValueError, OSError) as e:
            raise DatasetCorruptError(
                f"{raw}: the idx files are unreadable ({type(e).__name__}: {e}); replace them "
                f"with the original files. How to get them: {how}") from None
        return (tr.data.unsqueeze(1), torch.as_tensor(tr.targets), te.data.unsqueeze(1),
                torch.as_tensor(te.targets))

    return load


def _verified(cls, verify: bool, files: list[Path]):
    """A torchvision dataset class whose md5 check can be switched off.

    With ``verify_checksums: false`` (the tests' tiny fixtures cannot match the official md5)
    the ``files`` are only required to exist; shapes and values are still validated after
    loading.
    """

    class Checked(cls):
        def _check_integrity(self) -> bool:
            if verify:
                return super()._check_integrity()
            return all(Path(f).exists() for f in files)

    Checked.__name__ = cls.__name__
    return Checked


def read_svhn(settings):
    from torchvision.datasets import SVHN

    root = Path(settings.root) / "SVHN"
    files = [root / "train_32x32.mat", root / "test_32x32.mat"]
    cls = _verified(SVHN, settings.verify_checksums, files)
    if not settings.allow_download and not all(f.exists() for f in files):
        raise _not_found("svhn", [root], "put train_32x32.mat and test_32x32.mat (from "
                         "ufldl.stanford.edu/housenumbers) there, or set data.allow_download")
    try:
        tr = cls(str(root), split="train", download=settings.allow_download)
        te = cls(str(root), split="test", download=settings.allow_download)
    except RuntimeError as e:
        raise DatasetCorruptError(f"svhn in {root}: {e}") from None
    return (torch.as_tensor(tr.data), torch.as_tensor(tr.labels), torch.as_tensor(te.data),
            torch.as_tensor(te.labels))


def read_stl10(settings):
    from torchvision.datasets import STL10

    folder = Path(settings.root) / STL10.base_folder
    needed = [f for f, _ in STL10.train_list[:2] + STL10.test_list]
    if not settings.allow_download and not all((folder / f).exists() for f in needed):
        raise _not_found("stl10", [folder], "extract stl10_binary.tar.gz (from "
                         "cs.stanford.edu/~acoates/stl10) into the data folder, or set "
                         "data.allow_download")
    cls = _verified(STL10, settings.verify_checksums, [folder / f for f in needed])
    try:
        tr = cls(str(settings.root), split="train", download=settings.allow_download)
        te = cls(str(settings.root), split="test", download=False)
    except RuntimeError as e:
        raise DatasetCorruptError(f"stl10 in {folder}: {e}") from None
    return (torch.as_tensor(tr.data), torch.as_tensor(tr.labels), torch.as_tensor(te.data),
            torch.as_tensor(te.labels))


def read_usps(settings):
    from torchvision.datasets import USPS

    root = Path(settings.root) / "USPS"
    if not settings.allow_download and not all(
            (root / f).exists() for f in ("usps.bz2", "usps.t.bz2")):
        raise _not_found("usps", [root], "put usps.bz2 and usps.t.bz2 (libsvm multiclass "
                         "datasets) there, or set data.allow_download")
    if settings.verify_checksums:
        from torchvision.datasets.utils import check_integrity

        for _url, fname, md5 in USPS.split_list.values():
            if (root / fname).exists() and not check_integrity(str(root / fname), md5):
                raise DatasetCorruptError(f"{root / fname}: md5 does not match the official file")
    tr = USPS(str(root), train=True, download=settings.allow_download)
    te = USPS(str(root), train=False, download=settings.allow_download)
    return (torch.as_tensor(tr.data).unsqueeze(1), torch.as_tensor(tr.targets),
            torch.as_tensor(te.data).unsqueeze(1), torch.as_tensor(te.targets))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: CIFAR-10's python batches are pickles,
    and a pickle from elsewhere must not be able to run code."""

    ALLOWED = {("_codecs", "encode"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
               ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")


def read_cifar10(settings):
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    folder = Path(settings.root) / CIFAR10.base_folder
    files = CIFAR10.train_list + CIFAR10.test_list
    if not all((folder / f).exists() for f, _ in files):
        if settings.allow_download:
            CIFAR10(str(settings.root), download=True)
        else:
            raise _not_found("cifar10", [folder], "extract cifar-10-python.tar.gz (from "
                             "cs.toronto.edu/~kriz/cifar.html) into the data folder, or set "
                             "data.allow_download")

    def read(entries):
        xs, ys = [], []
        for fname, md5 in entries:
            path = folder / fname
            if settings.verify_checksums and not check_integrity(str(path), md5):
                raise DatasetCorruptError(f"{path}: md5 does not match the official file")
            with open(path, "rb") as f:
                entry = _ArrayUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
            xs.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.extend(entry["labels"])
        return torch.from_numpy(np.concatenate(xs)), torch.tensor(ys, dtype=torch.int64)

    trx, tr_y = read(CIFAR10.train_list)
    tex, te_y = read(CIFAR10.test_list)
    return trx, tr_y, tex, te_y
