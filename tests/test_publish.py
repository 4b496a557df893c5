"""Atomic publishing (hyperreps.publish): crashes leave the old output, permissions follow the
umask, concurrent writers of one file do not collide (issue 11, items 1, 6 and 7)."""

import os
import shutil
import stat
import struct
import threading

import numpy as np
import pytest

from hyperreps import publish
from hyperreps.data import DataSettings
from hyperreps.dataset_files import idx_reader
from hyperreps.zoo import load_zoo, save_zoo
from helpers import make_zoo


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    publish._UMASK = None
    yield
    os.umask(old)
    publish._UMASK = None


def test_a_failing_file_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.md"
    publish.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with publish.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_a_failing_folder_writer_leaves_the_old_folder_and_no_temporary(tmp_path):
    save_zoo(tmp_path / "zoo", make_zoo(n_models=2))
    with pytest.raises(RuntimeError):
        with publish.staged_dir(tmp_path / "zoo") as tmp:
            (tmp / "weights.safetensors").write_bytes(b"partial")
            raise RuntimeError("killed mid-write")
    assert load_zoo(tmp_path / "zoo").n_models == 2
    assert _leftovers(tmp_path) == []


def test_a_crash_at_the_rename_keeps_the_old_output(tmp_path, monkeypatch):
    """The old folder is deleted only after the new one is in place (it used to be deleted
    first: a crash in between lost both)."""
    save_zoo(tmp_path / "zoo", make_zoo(n_models=2))
    real_replace = os.replace

    def crash_on_publish(src, dst):
        if str(src).endswith(".tmp") and os.fspath(dst) == os.fspath(tmp_path / "zoo"):
            raise OSError("simulated crash at the rename")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_publish)
    with pytest.raises(OSError, match="simulated crash"):
        save_zoo(tmp_path / "zoo", make_zoo(n_models=3))
    monkeypatch.undo()
    assert load_zoo(tmp_path / "zoo").n_models == 2
    assert _leftovers(tmp_path) == []


def test_replacing_a_folder_publishes_the_new_one(tmp_path):
    save_zoo(tmp_path / "zoo", make_zoo(n_models=2))
    save_zoo(tmp_path / "zoo", make_zoo(n_models=3))
    assert load_zoo(tmp_path / "zoo").n_models == 3 and _leftovers(tmp_path) == []


def test_outputs_follow_the_umask(tmp_path, umask_022):
    """A group member on a shared cluster can read a zoo (mkdtemp and safetensors used to
    leave 0700 folders and 0600 files)."""
    save_zoo(tmp_path / "zoo", make_zoo(n_models=2))
    publish.write_text(tmp_path / "t.md", "x")
    assert stat.S_IMODE((tmp_path / "zoo").stat().st_mode) == 0o755
    for f in [*(tmp_path / "zoo").iterdir(), tmp_path / "t.md"]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def _idx_files(folder, n=20):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        images = rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + labels.tobytes())


def test_two_loaders_copy_the_same_dataset_at_once(tmp_path, monkeypatch):
    """Two shards loading Fashion-MNIST from the Debian folder at once: both copy every idx
    file at the same moment (a barrier holds each copy until the other has started). With
    one fixed '<file>.part' name the second rename failed (FileNotFoundError)."""
    source = tmp_path / "debian"
    _idx_files(source)
    barrier = threading.Barrier(2, timeout=20)
    real_copy = shutil.copyfileobj

    def copy_together(src, dst, *args, **kwargs):
        barrier.wait()
        real_copy(src, dst, *args, **kwargs)
        barrier.wait()

    monkeypatch.setattr(shutil, "copyfileobj", copy_together)
    load = idx_reader("FashionMNIST", (source,), "test")
    settings = DataSettings(tmp_path / "root")
    results, errors = [], []

    def run():
        try:
            results.append(load(settings))
        except Exception as e:  # collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 2
    assert results[0][0].shape == (20, 1, 28, 28)
    raw = tmp_path / "root" / "FashionMNIST" / "raw"
    assert _leftovers(raw) == []
