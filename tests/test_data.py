"""Every dataset loads from its real on-disk format (tiny files written here)."""

import bz2
import gzip
import pickle
import re
import struct

import numpy as np
import pytest
import scipy.io
import torch

from hyperreps.data import DATASETS, DEBIAN_FASHION, DataSettings, load_dataset
from hyperreps.dataset_files import DatasetCorruptError, DatasetNotFoundError, idx_reader

RNG = np.random.default_rng(0)


def write_idx(folder, prefix, n, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    imgs = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, n, dtype=np.uint8)
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(folder / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + imgs.tobytes())
    with opener(folder / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())
    return imgs, labels


def test_mnist_idx(tmp_path):
    imgs, labels = write_idx(tmp_path / "MNIST" / "raw", "train", 30)
    write_idx(tmp_path / "MNIST" / "raw", "t10k", 12)
    d = load_dataset("mnist", DataSettings(tmp_path))
    assert d.train.x.shape[1:] == (1, 28, 28) and len(d.train) + len(d.val) == 30
    assert len(d.test) == 12
    # MNIST normalisation of a known pixel
    full = torch.cat([d.train.x, d.val.x])
    pixel = float((imgs.max() / 255 - 0.1307) / 0.3081)
    assert torch.isclose(full.max(), torch.tensor(pixel), atol=1e-5)
    assert set(torch.cat([d.train.y, d.val.y]).tolist()) <= set(labels.tolist())


def test_fashion_mnist_gz_files_are_extracted(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw, "train", 20, gz=True)
    write_idx(raw, "t10k", 10, gz=True)
    d = load_dataset("fashion_mnist", DataSettings(tmp_path))
    assert len(d.test) == 10 and d.train.x.min() >= -1 and d.train.x.max() <= 1
    assert (raw / "train-images-idx3-ubyte").exists()


def test_svhn_mat_grayscale_centercrop(tmp_path):
    for split, n in (("train", 21), ("test", 7)):
        x = RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = RNG.integers(1, 11, (n, 1)).astype(np.uint8)  # SVHN labels 1..10, 10 = digit 0
        (tmp_path / "SVHN").mkdir(exist_ok=True)
        scipy.io.savemat(tmp_path / "SVHN" / f"{split}_32x32.mat", {"X": x, "y": y})
    d = load_dataset("svhn", DataSettings(tmp_path, verify_checksums=False))
    assert d.train.x.shape[1:] == (1, 28, 28) and len(d.test) == 7
    assert d.test.y.max() <= 9 and d.test.y.min() >= 0
    with pytest.raises(DatasetCorruptError, match="svhn"):  # fixtures fail the official md5
        load_dataset("svhn", DataSettings(tmp_path, verify_checksums=True))


def write_cifar(folder, n=6):
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"batch_label": name, "data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": RNG.integers(0, 10, n).tolist()}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)


def test_cifar10_python_batches_resized_to_28(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_dataset("cifar10", DataSettings(tmp_path, verify_checksums=False))
    assert d.train.x.shape[1:] == (3, 28, 28) and len(d.train) + len(d.val) == 30
    assert len(d.test) == 6


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar10_refuses_code_in_pickles(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({"data": _Evil(), "labels": []}, f)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_dataset("cifar10", DataSettings(tmp_path, verify_checksums=False))


def test_stl10_binary(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    for split, n in (("train", 8), ("test", 5)):
        RNG.integers(0, 256, n * 3 * 96 * 96, dtype=np.uint8).tofile(folder / f"{split}_X.bin")
        RNG.integers(1, 11, n, dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    d = load_dataset("stl10", DataSettings(tmp_path, verify_checksums=False))
    assert d.train.x.shape[1:] == (3, 28, 28) and len(d.test) == 5
    assert d.test.y.max() <= 9


def test_usps_bz2(tmp_path):
    folder = tmp_path / "USPS"
    folder.mkdir()
    for fname, n in (("usps.bz2", 14), ("usps.t.bz2", 6)):
        lines = []
        for _ in range(n):
            vals = RNG.uniform(-1, 1, 256)
            pairs = " ".join(f"{i + 1}:{v:.4f}" for i, v in enumerate(vals))
            lines.append(f"{RNG.integers(1, 11)} {pairs}")
        with bz2.open(folder / fname, "wt") as f:
            f.write("\n".join(lines) + "\n")
    d = load_dataset("usps", DataSettings(tmp_path, verify_checksums=False))
    assert d.train.x.shape[1:] == (1, 28, 28) and len(d.test) == 6
    with pytest.raises(DatasetCorruptError, match="md5"):
        load_dataset("usps", DataSettings(tmp_path, verify_checksums=True))


@pytest.mark.parametrize("name", ["mnist", "svhn", "cifar10", "stl10", "usps"])
def test_missing_dataset_names_folders_and_remedy(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as e:
        load_dataset(name, DataSettings(tmp_path))
    assert str(tmp_path) in str(e.value) and "allow_download" in str(e.value)


def test_digits_and_rotated_domain_are_bundled():
    a, b = load_dataset("digits"), load_dataset("digits_rot90")
    assert a.train.x.shape[1:] == (1, 28, 28) and len(a.train) == DATASETS["digits"].train_size
    assert torch.equal(a.train.y, b.train.y) and not torch.allclose(a.train.x, b.train.x)
    assert len(a.val) == 144 and len(a.test) == 359


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet")


@pytest.mark.skipif(not DEBIAN_FASHION.exists(),
                    reason="Debian package dataset-fashion-mnist not installed "
                           "(.ci/run installs it)")
def test_real_fashion_mnist_from_debian(tmp_path):
    d = load_dataset("fashion_mnist", DataSettings(tmp_path))
    assert (len(d.train), len(d.val), len(d.test)) == (50_000, 10_000, 10_000)
    assert torch.bincount(d.test.y).tolist() == [1000] * 10


def test_corrupt_idx_files_are_named(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"garbage")
    with pytest.raises(DatasetCorruptError,
                       match="MNIST/raw/train-images-idx3-ubyte: not an idx file"):
        load_dataset("mnist", DataSettings(tmp_path))


def test_an_idx_file_of_float_pixels_is_named_not_a_torchvision_type_error(tmp_path):
    """Issue 30: the header's element type is checked before torchvision reads the file."""
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "train", 5)
    write_idx(raw, "t10k", 5)
    floats = RNG.random((5, 28, 28)).astype(">f4")
    (raw / "t10k-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x0D03, 5, 28, 28)
                                                 + floats.tobytes())
    with pytest.raises(DatasetCorruptError, match=r"t10k-images-idx3-ubyte: idx element type "
                                                  r"0x0d; the images .* unsigned bytes"):
        load_dataset("mnist", DataSettings(tmp_path))


@pytest.mark.parametrize("damage,says", [
    ("bomb", "longer than the"),
    ("truncated", "truncated"),
    ("shape", "dimensions [5, 32, 32]"),
])
def test_a_gzip_idx_source_is_checked_while_copied_and_leaves_nothing(tmp_path, damage,
                                                                      says):
    """A source folder of .gz idx files (as Debian ships them) is copied into data.root only
    as far as each header allows: a bomb stops a few bytes past the announced size."""
    source = tmp_path / "source"
    write_idx(source, "train", 5, gz=True)
    write_idx(source, "t10k", 5, gz=True)
    bad = source / "train-images-idx3-ubyte.gz"
    header = struct.pack(">IIII", 2051, 5, 28, 28)
    if damage == "bomb":
        body = header + bytes(5 * 28 * 28) + bytes(200 << 20)  # 200 MiB of trailing zeros
    elif damage == "truncated":
        body = header + bytes(100)
    else:
        body = struct.pack(">IIII", 2051, 5, 32, 32) + bytes(5 * 32 * 32)
    bad.write_bytes(gzip.compress(body, compresslevel=1))
    root = tmp_path / "data"
    load = idx_reader("FashionMNIST", (source,), "test")  # the registry's reader, our folder
    with pytest.raises(DatasetCorruptError, match=re.escape(says)) as err:
        load(DataSettings(root))
    assert str(bad) in str(err.value)
    raw = root / "FashionMNIST" / "raw"
    assert not (raw / "train-images-idx3-ubyte").exists()
    assert not [p.name for p in raw.iterdir() if p.name.endswith(".tmp")]
