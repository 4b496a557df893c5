"""Atomic publishing (hyperreps.publish): crashes leave the old output, permissions follow the
umask, concurrent writers of one file do not collide (issue 11, items 1, 6 and 7)."""

import gzip
import os
import re
import shutil
import stat
import struct
import threading
import time

import numpy as np
import pytest

from hyperreps import publish
from hyperreps.data import DataSettings
from hyperreps.dataset_files import DatasetCorruptError, idx_reader
from hyperreps.destinations import DestinationError
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


@pytest.mark.parametrize("kind", ["file", "link to a folder", "dangling link", "fifo"])
def test_a_folder_is_never_published_over_what_is_not_a_real_folder(tmp_path, kind):
    """staged_dir used to unlink a file or link at its path (issue 30): now an error names
    it, before the block runs, and it is left as it was."""
    final = tmp_path / "out"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("draft")
    if kind == "file":
        final.write_text("my notes")
    elif kind == "link to a folder":
        final.symlink_to(tmp_path / "mine")
    elif kind == "dangling link":
        final.symlink_to(tmp_path / "nowhere")
    else:
        os.mkfifo(final)
    before = os.lstat(final)
    for replace in (True, False):
        with pytest.raises(DestinationError, match=re.escape(f"{final}: exists and is a ")):
            with publish.staged_dir(final, replace=replace) as tmp:
                (tmp / "x").write_text("new")
    after = os.lstat(final)
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (
        before.st_ino, before.st_mode, before.st_mtime_ns)
    if kind == "file":
        assert final.read_text() == "my notes"
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "draft"
    assert _leftovers(tmp_path) == []


def test_a_user_folder_is_filled_only_when_new_or_empty(tmp_path):
    """replace=False (a destination the user named): an empty folder is written into; a
    folder that has files, or gains one while the new one is staged, is refused at entry or
    at the rename, its files in place."""
    final = tmp_path / "out"
    final.mkdir()
    with publish.staged_dir(final, replace=False) as tmp:
        (tmp / "a.txt").write_text("new")
    assert (final / "a.txt").read_text() == "new"
    with pytest.raises(DestinationError, match=re.escape(f"{final}: is a folder that is not")):
        with publish.staged_dir(final, replace=False) as tmp:
            (tmp / "a.txt").write_text("newer")
    assert (final / "a.txt").read_text() == "new"
    shutil.rmtree(final)
    final.mkdir()
    with pytest.raises(DestinationError, match=re.escape(f"{final}: is a folder that is not")):
        with publish.staged_dir(final, replace=False) as tmp:
            (tmp / "a.txt").write_text("new")
            (final / "thesis.tex").write_text("saved meanwhile")
    assert [p.name for p in final.iterdir()] == ["thesis.tex"]
    assert _leftovers(tmp_path) == []


def test_a_user_folder_that_gains_a_file_after_the_last_check_is_not_replaced(tmp_path,
                                                                             monkeypatch):
    """The rename itself refuses a folder that is no longer empty (rename(2) replaces only an
    empty folder): a file saved between the last check and the rename stays."""
    final = tmp_path / "out"
    final.mkdir()
    real_check = publish._check_final

    def check_then_save(path, replace):
        st = real_check(path, replace)
        (final / "thesis.tex").write_text("saved just after the check")
        return st

    with pytest.raises(DestinationError, match=re.escape(f"{final}: changed while it was")):
        with publish.staged_dir(final, replace=False) as tmp:
            (tmp / "a.txt").write_text("new")
            monkeypatch.setattr(publish, "_check_final", check_then_save)
    assert [p.name for p in final.iterdir()] == ["thesis.tex"]
    assert _leftovers(tmp_path) == []


def test_a_pipeline_folder_swapped_for_a_file_while_staged_is_not_removed(tmp_path):
    final = tmp_path / "zoo"
    final.mkdir()
    with pytest.raises(DestinationError, match="exists and is a file"):
        with publish.staged_dir(final) as tmp:
            (tmp / "a.txt").write_text("new")
            final.rmdir()
            final.write_text("a user's file")
    assert final.read_text() == "a user's file" and _leftovers(tmp_path) == []


def _gzip_all(folder):
    for f in list(folder.iterdir()):
        with open(f, "rb") as src, gzip.open(f.with_name(f.name + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        f.unlink()


def test_the_idx_copy_fills_in_only_missing_files_and_keeps_a_differing_one(tmp_path):
    """data.root is the user's: the idx files found elsewhere fill in what is missing under
    <root>/<Dataset>/raw; a file there that holds other data is never overwritten (it used to
    be), and the copy refuses naming it, before copying anything."""
    source = tmp_path / "debian"
    _idx_files(source)
    originals = {p.name: p.read_bytes() for p in source.iterdir()}
    _gzip_all(source)
    load = idx_reader("FashionMNIST", (source,), "test")
    raw = tmp_path / "root" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    same = raw / "train-labels-idx1-ubyte"
    same.write_bytes(originals[same.name])
    inode = same.stat().st_ino
    assert load(DataSettings(tmp_path / "root"))[0].shape == (20, 1, 28, 28)
    assert same.stat().st_ino == inode  # kept, not rewritten
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == originals

    raw = tmp_path / "root2" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    mine = raw / "t10k-labels-idx1-ubyte"
    mine.write_bytes(originals[mine.name][:-1] + b"\x07")
    (raw / "t10k-images-idx3-ubyte").symlink_to(tmp_path / "nowhere")
    with pytest.raises(DatasetCorruptError, match="t10k-images-idx3-ubyte: is a broken"):
        load(DataSettings(tmp_path / "root2"))
    (raw / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DatasetCorruptError, match=re.escape(f"{mine}: differs from")):
        load(DataSettings(tmp_path / "root2"))
    assert [p.name for p in raw.iterdir()] == [mine.name]  # nothing copied beside it
    assert mine.read_bytes() == originals[mine.name][:-1] + b"\x07"


def test_stale_temporaries_of_killed_writes_are_found_and_removed_and_nothing_else(tmp_path):
    """Issue 30: what a killed process left (this module's names, a pid no longer running) is
    removed when a run starts; a live process's temporaries, look-alikes and the outputs stay."""
    import subprocess

    from hyperreps.publish import remove_stale_temporaries, stale_temporaries

    proc = subprocess.Popen(["true"])  # a pid that has exited
    proc.wait()
    dead = proc.pid
    out = tmp_path / "results"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "t.csv").write_text("kept")
    stale_file = out / "tables" / f".t.csv.{dead}.0123abcd.tmp"
    stale_file.write_text("half")
    stale_dir = out / f".zoo.{dead}.k2_x9zq1.tmp"
    (stale_dir / "inner").mkdir(parents=True)
    stale_old = out / f".zoo.{dead}.89abcdef.old"
    stale_old.mkdir()
    live = out / "tables" / f".u.csv.{os.getpid()}.0123abcd.tmp"
    live.write_text("being written")
    lookalikes = [out / "notes.tmp", out / ".hidden.tmp", out / f".x.{dead}.tmp"]
    for p in lookalikes:
        p.write_text("user's")
    assert sorted(stale_temporaries(out)) == sorted([stale_file, stale_dir, stale_old])
    assert sorted(remove_stale_temporaries(out)) == sorted([stale_file, stale_dir, stale_old])
    assert not stale_file.exists() and not stale_dir.exists() and not stale_old.exists()
    assert live.exists() and all(p.exists() for p in lookalikes)
    assert (out / "tables" / "t.csv").read_text() == "kept"
    # jobs of a cluster run write from other machines: there, also a minimum age
    fresh = out / f".t.csv.{dead}.0123abcd.tmp"
    fresh.write_text("half")
    assert remove_stale_temporaries(out, older_than=3600) == [] and fresh.exists()
    os.utime(fresh, (time.time() - 7200, time.time() - 7200))
    assert remove_stale_temporaries(out, older_than=3600) == [fresh]


def test_the_temporaries_this_module_makes_have_the_names_cleaning_knows(tmp_path):
    from hyperreps.publish import _TEMPORARY, atomic_path, staged_dir

    with atomic_path(tmp_path / "a.csv") as tmp:
        assert _TEMPORARY.fullmatch(tmp.name)
        tmp.write_text("x")
    with staged_dir(tmp_path / "z") as tmp:
        assert _TEMPORARY.fullmatch(tmp.name)
