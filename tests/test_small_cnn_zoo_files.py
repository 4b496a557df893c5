"""A Small CNN Zoo folder as untrusted input (issue 30): every file read through the bounded
reader and checked against the format, and ``hyperreps inspect`` refusing each damage in one
line naming the file, in well under 2 s; archives the pipeline writes for any biased
architecture inspect as that architecture."""

from __future__ import annotations

import functools
import os
import time
import zlib

import numpy as np
import pandas as pd
import pytest

from hyperreps.architecture import get_architecture
from hyperreps.cli import main
from hyperreps.importers.small_cnn_zoo import import_small_cnn_zoo
from hyperreps.importers.small_cnn_zoo_archive import write_small_cnn_zoo
from hyperreps.importers.small_cnn_zoo_files import (LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE,
                                                     ZooImportError)

UNTERTHINER = get_architecture("unterthiner_cnn").layout


def _write(folder, arch: str = "unterthiner_cnn", runs: int = 2, steps=(0, 2)):
    layout = get_architecture(arch).layout
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((runs * len(steps), layout.n_params)).astype(np.float32)
    metrics = pd.DataFrame([{"config.activation": "relu", "config.random_seed": r,
                             "modeldir": f"run_{r}", "step": s, "test_accuracy": 0.5,
                             "test_loss": 1.0, "train_accuracy": 0.5, "train_loss": 1.0}
                            for r in range(runs) for s in steps])
    write_small_cnn_zoo(folder, weights, metrics, layout)
    return folder


@pytest.fixture
def archive(tmp_path):
    return _write(tmp_path / "scz")


def _metrics(folder, change):
    table = pd.read_csv(folder / METRICS_FILE)
    table = change(table)
    table.to_csv(folder / METRICS_FILE, index=False, compression="gzip")


def _weights(folder, array):
    np.save(folder / WEIGHTS_FILE, array)


def _rows(folder):
    return np.load(folder / WEIGHTS_FILE)


@functools.cache
def _bomb_bytes(size: int = 256 << 20) -> bytes:
    """256 MiB of zeros in 250 KB of gzip (a 1000-fold ratio; real tables: 3-20)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    chunk = b"0" * (1 << 24)
    return b"".join([c.compress(chunk) for _ in range(size // len(chunk))] + [c.flush()])


def _bomb(path):
    path.write_bytes(_bomb_bytes())


def _fifo(name):
    return lambda d: ((d / name).unlink(), os.mkfifo(d / name))


def _link(name, to):
    return lambda d: ((d / name).unlink(), (d / name).symlink_to(to))


def _loop(name):
    return lambda d: ((d / name).unlink(), (d / "x").symlink_to(d / name),
                      (d / name).symlink_to(d / "x"))


DAMAGE = {
    # readers without bounds
    "weights.npy a FIFO": (WEIGHTS_FILE, _fifo(WEIGHTS_FILE),
                           "a FIFO (named pipe), not a regular file"),
    "metrics a FIFO": (METRICS_FILE, _fifo(METRICS_FILE), "a FIFO"),
    "layout a FIFO": (LAYOUT_FILE, _fifo(LAYOUT_FILE), "a FIFO"),
    "layout a link to /dev/zero": (LAYOUT_FILE, _link(LAYOUT_FILE, "/dev/zero"),
                                   "a character device, not a regular file"),
    "weights a link loop": (WEIGHTS_FILE, _loop(WEIGHTS_FILE), "a loop of symbolic links"),
    "metrics a gzip bomb": (METRICS_FILE, lambda d: _bomb(d / METRICS_FILE),
                            "a gzip bomb"),
    "metrics not gzip": (METRICS_FILE, lambda d: (d / METRICS_FILE).write_text("a,b\n"),
                         "not a gzip file"),
    "metrics truncated gzip": (METRICS_FILE, lambda d: (d / METRICS_FILE).write_bytes(
        (d / METRICS_FILE).read_bytes()[:-20]), "corrupt or truncated gzip"),
    "layout not UTF-8": (LAYOUT_FILE, lambda d: (d / LAYOUT_FILE).write_bytes(
        b"varname,start_idx,end_idx,shape\n\xff\xfe,0,16,\"(16,)\"\n"), "not a readable CSV"),
    # wrong content
    "weights uint8": (WEIGHTS_FILE, lambda d: _weights(d, _rows(d).astype(np.uint8)),
                      "the format is little-endian float32"),
    "weights complex": (WEIGHTS_FILE, lambda d: _weights(d, _rows(d).astype(np.complex64)),
                        "complex64"),
    "weights float16": (WEIGHTS_FILE, lambda d: _weights(d, _rows(d).astype(np.float16)),
                        "float16"),
    "weights float64": (WEIGHTS_FILE, lambda d: _weights(d, _rows(d).astype(np.float64)),
                        "float64"),
    "weights big-endian": (WEIGHTS_FILE, lambda d: _weights(d, _rows(d).astype(">f4")),
                           "big-endian"),
    "weights Fortran order": (WEIGHTS_FILE, lambda d: _weights(d, np.asfortranarray(_rows(d))),
                              "Fortran"),
    "weights truncated": (WEIGHTS_FILE, lambda d: (d / WEIGHTS_FILE).write_bytes(
        (d / WEIGHTS_FILE).read_bytes()[:-10]), "truncated or padded"),
    "weights a pickle": (WEIGHTS_FILE, lambda d: _weights(d, np.array([{"a": 1}], dtype=object)),
                         "holds Python objects"),
    "metrics duplicate row": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: pd.concat([t, t.iloc[[1]]])), "repeats (modeldir 'run_0', step 2)"),
    "metrics accuracy 7.5": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: t.assign(test_accuracy=[0.5, 7.5, 0.5, 0.5])), "accuracy in [0, 1]"),
    "metrics accuracy text": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: t.assign(train_accuracy=["a", 0.5, 0.5, 0.5])), "accuracy in [0, 1]"),
    "metrics step 1e30": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: t.assign(step=[0, 1e30, 0, 2])), "column 'step'"),
    "metrics step NaN": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: t.assign(step=[0, np.nan, 0, 2])), "must be an integer"),
    "metrics negative loss": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: t.assign(test_loss=[1, -1, 1, 1])), "non-negative loss"),
    "metrics no modeldir": (METRICS_FILE, lambda d: _metrics(
        d, lambda t: t.drop(columns="modeldir")), "column 'modeldir' missing"),
    "layout NaN start": (LAYOUT_FILE, lambda d: (d / LAYOUT_FILE).write_text(
        "varname,start_idx,end_idx,shape\nb,,16,\"(16,)\"\n"), "column 'start_idx'"),
    "layout huge integer": (LAYOUT_FILE, lambda d: (d / LAYOUT_FILE).write_text(
        "varname,start_idx,end_idx,shape\nb,0," + "9" * 5000 + ",\"(16,)\"\n"), "column 'end_idx'"),
    "layout bad shape": (LAYOUT_FILE, lambda d: (d / LAYOUT_FILE).write_text(
        "varname,start_idx,end_idx,shape\nb,0,16,\"[[[[\"\n"), "a shape is a tuple"),
    "layout of fewer columns": (WEIGHTS_FILE, lambda d: (d / LAYOUT_FILE).write_text(
        "varname,start_idx,end_idx,shape\nb,0,16,\"(16,)\"\n"), "the columns the variables of "
        "layout.csv tile"),
    "layout of another architecture": (LAYOUT_FILE, lambda d: (d / LAYOUT_FILE).write_text(
        "varname,start_idx,end_idx,shape\nb,0,4970,\"(4970,)\"\n"),
        "fit no registered architecture"),
}


def _damage(folder, case):
    name, act, says = DAMAGE[case]
    act(folder)
    return folder / name, says


@pytest.mark.parametrize("case", DAMAGE)
def test_inspect_refuses_each_damage_in_one_line_naming_the_file(archive, case, capsys):
    target, says = _damage(archive, case)
    start = time.perf_counter()
    code = main(["inspect", str(archive)])
    took = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith(f"hyperreps inspect: {target}") and says in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert took < 2, took


@pytest.mark.parametrize("case", ["weights.npy a FIFO", "metrics a gzip bomb", "weights uint8",
                                  "metrics duplicate row", "metrics step 1e30"])
def test_the_import_refuses_the_same_damage(archive, case):
    target, says = _damage(archive, case)
    with pytest.raises(ZooImportError) as err:
        import_small_cnn_zoo(archive, "mnist")
    assert str(err.value).startswith(str(target)) and says in str(err.value)


@pytest.mark.parametrize("arch", ["zoo_cnn", "cnn3_resskip", "unterthiner_cnn_rgb"])
def test_inspect_reads_an_archive_the_pipeline_wrote_for_any_architecture(tmp_path, capsys,
                                                                          arch):
    """The import rule takes the format's default architecture (the Unterthiner CNN for
    mnist) unless the config names another; inspect reads the archive as the architecture it
    fits and says that an import must name it."""
    _write(tmp_path / arch, arch)
    assert main(["inspect", str(tmp_path / arch)]) == 0
    out = capsys.readouterr().out
    assert f"(bias first, TF kernel order): {arch}" in out and "2 runs, 4 rows" in out
    assert f"an import needs the zoo's architecture: {arch}" in out
    assert main(["inspect", str(tmp_path / arch), "--architecture", arch]) == 0
    assert "an import needs" not in capsys.readouterr().out


def test_inspect_uses_the_architecture_it_is_given(archive, capsys):
    assert main(["inspect", str(archive), "--architecture", "unterthiner_cnn_32"]) == 0
    assert "TF kernel order): unterthiner_cnn_32 (also fits unterthiner_cnn)" in \
        capsys.readouterr().out
    assert main(["inspect", str(archive), "--architecture", "zoo_cnn"]) == 1
    err = capsys.readouterr().err
    assert f"{archive / LAYOUT_FILE}: 8 variables, the architecture has 5 layers" in err
