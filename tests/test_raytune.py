"""Import of a zoo written in the reference Ray Tune layout."""

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from hyperreps.importers.raytune import ZooImportError, import_raytune_zoo
from hyperreps.zoo import load_zoo, save_zoo
from helpers import ROOT, reference_state_dict, write_raytune_model


def test_import_raytune_layout(tmp_path):
    a = write_raytune_model(tmp_path, "NN_tune_trainable_00000_seed=1", 1)
    b = write_raytune_model(tmp_path, "NN_tune_trainable_00001_seed=2", 2, start=1, dropout=True)
    zoo = import_raytune_zoo(tmp_path, "mnist")
    assert zoo.weights.shape == (2, 3, 2464)
    assert torch.equal(zoo.weights[0], a) and torch.equal(zoo.weights[1], b)
    assert zoo.metric("test_acc")[0].tolist() == pytest.approx([0.05, 0.15, 0.25])
    models = zoo.models()
    assert models["seed"].tolist() == [1, 2] and models["dropout"].tolist() == [0.0, 0.5]
    save_zoo(tmp_path / "out", zoo)
    assert load_zoo(tmp_path / "out").n_models == 2


def test_non_finite_checkpoint_is_recorded_as_diverged(tmp_path):
    write_raytune_model(tmp_path, "m0", 1)
    write_raytune_model(tmp_path, "m1", 2, nan_from=2)
    zoo = import_raytune_zoo(tmp_path, "mnist")
    models = zoo.models()
    assert models["diverged"].tolist() == [False, True]
    assert models["diverged_epoch"].tolist()[1] == 2
    assert np.isnan(zoo.metric("test_acc")[1, 2]) and not np.isnan(zoo.metric("test_acc")[1, 1])


class Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pickled_code_is_refused(tmp_path):
    write_raytune_model(tmp_path, "m0", 1)
    torch.save({"module_list.0.weight": Payload()},
               tmp_path / "m0" / "checkpoint_000001" / "checkpoints")
    with pytest.raises(ZooImportError, match="checkpoint_000001/checkpoints: refused or unread"):
        import_raytune_zoo(tmp_path, "mnist")


def test_wrong_shapes_are_named(tmp_path):
    write_raytune_model(tmp_path, "m0", 1)
    sd = reference_state_dict(torch.zeros(2464))
    sd["module_list.3.weight"] = torch.zeros(6, 8, 3, 3)
    torch.save(sd, tmp_path / "m0" / "checkpoint_000000" / "checkpoints")
    with pytest.raises(ZooImportError, match=r"'module_list.3.weight' has shape \(6, 8, 3, 3\)"):
        import_raytune_zoo(tmp_path, "mnist")


def test_empty_folder(tmp_path):
    with pytest.raises(ZooImportError, match="no model folders"):
        import_raytune_zoo(tmp_path, "mnist")


def test_skip_unsafe_imports_the_rest_and_reports_what_it_left_out(tmp_path, capsys):
    write_raytune_model(tmp_path, "m0", 1)
    write_raytune_model(tmp_path, "m1\x1b[31mRED", 2)  # an escape code in a folder name
    write_raytune_model(tmp_path, "m2", 3)
    torch.save({"module_list.0.weight": Payload()},
               tmp_path / "m1\x1b[31mRED" / "checkpoint_000001" / "checkpoints")
    with pytest.raises(ZooImportError) as err:  # refused by default, as before
        import_raytune_zoo(tmp_path, "mnist")
    assert "\x1b" not in str(err.value) and "m1?RED" in str(err.value)
    zoo = import_raytune_zoo(tmp_path, "mnist", skip_unsafe=True)
    assert zoo.n_models == 2 and zoo.models()["seed"].tolist() == [1, 3]
    assert zoo.info["model_ids"] == [0, 1]
    [skipped] = zoo.info["skipped"]
    assert skipped["model"] == "m1?RED" and "refused or unreadable" in skipped["reason"]
    assert "code ran" not in capsys.readouterr().out
    save_zoo(tmp_path / "out", zoo)  # the report travels in the zoo's manifest
    assert load_zoo(tmp_path / "out").info["skipped"] == [skipped]


def test_skip_unsafe_with_nothing_left_is_an_error(tmp_path):
    write_raytune_model(tmp_path, "m0", 1)
    torch.save({"x": Payload()}, tmp_path / "m0" / "checkpoint_000000" / "checkpoints")
    with pytest.raises(ZooImportError, match="every model folder was skipped"):
        import_raytune_zoo(tmp_path, "mnist", skip_unsafe=True)


def test_the_committed_raytune_models_import_as_written(tmp_path):
    """config/test/raytune/ (read by config/test/tiny.yaml's imported zoo): 2 models x 3
    epochs, the ones write_raytune_model writes."""
    zoo = import_raytune_zoo(ROOT / "config/test/raytune", "mnist")
    assert zoo.weights.shape == (2, 3, 2464) and zoo.n_models == 2 and zoo.n_epochs == 3
    assert zoo.models()["seed"].tolist() == [1, 2]
    for i, (name, seed) in enumerate((("model_a", 1), ("model_b", 2))):
        assert torch.equal(zoo.weights[i], write_raytune_model(tmp_path, name, seed))


# Untrusted files (issue 25): every bad file is a ZooImportError naming it, answered at once.

def _edit_params(d, **changes):
    params = json.loads((d / "params.json").read_text())
    params.update({k.replace("__", "::"): v for k, v in changes.items()})
    (d / "params.json").write_text(json.dumps(params))


def _edit_result_line(d, text=None, **changes):
    """Line 2 of result.json replaced by ``text``, or its values updated."""
    lines = (d / "result.json").read_text().splitlines()
    lines[1] = text if text is not None else json.dumps({**json.loads(lines[1]), **changes})
    (d / "result.json").write_text("\n".join(lines) + "\n")


def _replace(path, make):
    if not path.is_dir():  # a folder: ``make`` moves it
        path.unlink()
    make(path)


def _sparse(size):
    def make(path):
        with open(path, "wb") as f:
            f.truncate(size)
    return make


def _outside_checkpoint(path):  # checkpoint_000001 a link to a folder outside the model's
    outside = path.parent.parent / "outside"
    shutil.copytree(path, outside)
    shutil.rmtree(path)
    path.symlink_to(outside)


UNSAFE = {  # (file of model m1, how it is replaced, what the error says after the file name)
    "result.json to /dev/zero": (
        "result.json", lambda p: p.symlink_to("/dev/zero"), "a symbolic link, not a regular file"),
    "params.json to /dev/zero": (
        "params.json", lambda p: p.symlink_to("/dev/zero"), "a symbolic link, not a regular file"),
    "checkpoint to /dev/zero": ("checkpoint_000001/checkpoints", lambda p: p.symlink_to(
        "/dev/zero"), "a symbolic link, not a regular file"),
    "result.json a FIFO": ("result.json", os.mkfifo, "a FIFO (named pipe), not a regular file"),
    "checkpoint folder a link outside": (
        "checkpoint_000001", _outside_checkpoint, "a symbolic link, not a folder"),
    "result.json of 65 MiB": ("result.json", _sparse(65 << 20), "68,157,440 bytes, more than the"),
    "params.json of 2 MiB": ("params.json", _sparse(2 << 20), "2,097,152 bytes, more than the"),
    "checkpoint of 2 MiB": (
        "checkpoint_000001/checkpoints", _sparse(2 << 20), "2,097,152 bytes, more than the"),
}

MALFORMED = {  # (file of model m1, how it is broken, what the error says after the file name)
    "params.json a folder": ("params.json", lambda d: _replace(d / "params.json", Path.mkdir),
                             "a folder, not a regular file"),
    "text seed": ("params.json", lambda d: _edit_params(d, seed="abc"),
                  "seed is 'abc', not a finite integer"),
    "fractional seed": ("params.json", lambda d: _edit_params(d, seed=1.5),
                        "seed is 1.5, not a finite integer"),
    "text learning rate": ("params.json", lambda d: _edit_params(d, optim__lr="fast"),
                           "optim::lr is 'fast', not a finite number"),
    "unknown activation": ("params.json", lambda d: _edit_params(d, model__nlin="swish"),
                           "model::nlin is 'swish', not one of tanh, relu"),
    "params.json nested deeply": ("params.json", lambda d: (d / "params.json").write_text(
        "[" * 100_000), "nests more than 32 deep"),
    "integer of 5000 digits": ("params.json", lambda d: (d / "params.json").write_text(
        '{"seed": ' + "9" * 5000 + "}"), "holds an integer of 5000 digits"),
    "a list line": ("result.json", lambda d: _edit_result_line(d, "[1, 2]"),
                    "line 2: not a JSON object"),
    "a text metric": ("result.json", lambda d: _edit_result_line(d, test_acc="high"),
                      "line 2: test_acc is 'high', not a number or null"),
    "a list metric": ("result.json", lambda d: _edit_result_line(d, train_loss=[1.0]),
                      "line 2: train_loss is [1.0], not a number or null"),
    "a text iteration": ("result.json", lambda d: _edit_result_line(d, training_iteration="x"),
                         "line 2: training_iteration is 'x', not a finite integer"),
    "a line nested deeply": ("result.json", lambda d: _edit_result_line(d, "[" * 100_000),
                             "line 2: nests more than 32 deep"),
    "no activation": ("params.json", lambda d: _edit_params(d, model__nlin=None),
                      "no model::nlin: the activation cannot be determined"),
}


def _break(model_dir, case):
    if case in UNSAFE:
        name, make, _ = UNSAFE[case]
        _replace(model_dir / name, make)
    else:
        MALFORMED[case][1](model_dir)
    name, *_, says = {**UNSAFE, **MALFORMED}[case]
    return model_dir / name, says


@pytest.mark.parametrize("case", [*UNSAFE, *MALFORMED])
def test_an_unsafe_or_malformed_file_is_refused_by_name(tmp_path, case):
    write_raytune_model(tmp_path, "m0", 1)
    write_raytune_model(tmp_path, "m1", 2)
    bad, says = _break(tmp_path / "m1", case)
    with pytest.raises(ZooImportError) as err:
        import_raytune_zoo(tmp_path, "mnist")
    assert f"{bad}: {says}" in str(err.value)


@pytest.mark.parametrize("case", ["result.json to /dev/zero", "result.json a FIFO",
                                  "checkpoint folder a link outside", "result.json of 65 MiB",
                                  "params.json a folder", "text seed", "a list line",
                                  "a text metric", "params.json nested deeply",
                                  "no activation"])
def test_skip_unsafe_leaves_out_the_bad_model_and_names_it(tmp_path, case, caplog):
    for i in range(3):
        write_raytune_model(tmp_path, f"m{i}", i + 1)
    bad, says = _break(tmp_path / "m1", case)
    with caplog.at_level(logging.WARNING, logger="hyperreps.importers.raytune"):
        zoo = import_raytune_zoo(tmp_path, "mnist", skip_unsafe=True)
    assert zoo.n_models == 2 and zoo.models()["seed"].tolist() == [1, 3]
    [skipped] = zoo.info["skipped"]
    assert skipped["model"] == "m1" and f"{bad}: {says}" in skipped["reason"]
    assert any(r.getMessage().startswith("skipped m1: ") and str(bad) in r.getMessage()
               for r in caplog.records)


def test_a_file_that_grows_after_its_size_is_checked_is_read_no_further(tmp_path, monkeypatch):
    write_raytune_model(tmp_path, "m0", 1)
    (tmp_path / "m0" / "params.json").write_text(" " * (3 << 20) + "{}")
    lstat = os.lstat

    def small(path, *args, **kwargs):  # the size seen before the read: 2 bytes
        st = lstat(path, *args, **kwargs)
        if str(path).endswith("params.json"):
            return os.stat_result((*st[:6], 2, *st[7:]))
        return st

    monkeypatch.setattr(os, "lstat", small)
    with pytest.raises(ZooImportError, match=r"params.json: more than 1,048,576 bytes \(it grew"):
        import_raytune_zoo(tmp_path, "mnist")


def test_the_activation_of_the_import_fills_in_a_missing_model_nlin(tmp_path):
    write_raytune_model(tmp_path, "m0", 1)
    _edit_params(tmp_path / "m0", model__nlin=None)
    zoo = import_raytune_zoo(tmp_path, "mnist", activation="relu")
    assert zoo.models()["activation"].tolist() == ["relu"]
    write_raytune_model(tmp_path, "m1", 2)  # says tanh: the two disagree
    with pytest.raises(ZooImportError, match="m1/params.json: model::nlin is 'tanh', the "
                                             "import's activation is 'relu'"):
        import_raytune_zoo(tmp_path, "mnist", activation="relu")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        import_raytune_zoo(tmp_path, "mnist", activation="swish")


def test_non_finite_recorded_metrics_are_missing(tmp_path):
    """A diverged run's loss, as Python's json writes it (NaN, Infinity), is recorded as NaN."""
    write_raytune_model(tmp_path, "m0", 1)
    _edit_result_line(tmp_path / "m0", test_loss=float("nan"), train_loss=float("inf"))
    zoo = import_raytune_zoo(tmp_path, "mnist")
    assert np.isnan(zoo.metric("test_loss")[0, 1]) and np.isnan(zoo.metric("train_loss")[0, 1])
    assert zoo.metric("test_acc")[0, 1] == pytest.approx(0.15)
