"""Import of a zoo written in the reference Ray Tune layout."""

import json

import numpy as np
import pytest
import torch

from hyperreps.architecture import ReferenceModel, zoo_cnn_name, init_parameters
from hyperreps.importers import ZooImportError, import_raytune_zoo
from hyperreps.zoo import load_zoo, save_zoo


def reference_state_dict(flat, dropout=False):
    """A state dict with the reference CNN's keys (module_list.{i}); dropout shifts indices."""
    m = ReferenceModel(zoo_cnn_name(1)).load_flat(flat)
    idx = [0, 4, 8, 12, 15] if dropout else [0, 3, 6, 9, 11]
    mods = [m.conv1, m.conv2, m.conv3, m.fc1, m.fc2]
    out = {}
    for i, mod in zip(idx, mods):
        out[f"module_list.{i}.weight"] = mod.weight.detach().clone()
        out[f"module_list.{i}.bias"] = mod.bias.detach().clone()
    return out


def write_model(root, name, seed, epochs=3, start=0, dropout=False, nan_from=None):
    d = root / name
    d.mkdir(parents=True)
    (d / "params.json").write_text(json.dumps({
        "model::nlin": "tanh", "model::init_type": "uniform", "model::dropout": 0.5 if dropout else 0.0,
        "optim::optimizer": "adam", "optim::lr": 3e-4, "optim::wd": 0.0, "seed": seed,
        "training::batchsize": 10, "model::channels_in": 1}))
    lines, flats = [], []
    for e in range(epochs):
        flat = init_parameters(ReferenceModel(zoo_cnn_name(1)).layout, "normal", seed * 100 + e)
        if nan_from is not None and e >= nan_from:
            flat[5] = float("nan")
        flats.append(flat)
        ck = d / f"checkpoint_{e + start:06d}"
        ck.mkdir()
        torch.save(reference_state_dict(flat, dropout), ck / "checkpoints")
        lines.append(json.dumps({"training_iteration": e + 1, "train_loss": 1.0 / (e + 1),
                                 "train_acc": 0.1 * e, "test_loss": 1.1, "test_acc": 0.1 * e + 0.05,
                                 "trial_id": "x"}))
    (d / "result.json").write_text("\n".join(lines) + "\n")
    return torch.stack(flats)


def test_import_raytune_layout(tmp_path):
    a = write_model(tmp_path, "NN_tune_trainable_00000_seed=1", 1)
    b = write_model(tmp_path, "NN_tune_trainable_00001_seed=2", 2, start=1, dropout=True)
    zoo = import_raytune_zoo(tmp_path, "mnist")
    assert zoo.weights.shape == (2, 3, 2464)
    assert torch.equal(zoo.weights[0], a) and torch.equal(zoo.weights[1], b)
    assert zoo.metric("test_acc")[0].tolist() == pytest.approx([0.05, 0.15, 0.25])
    models = zoo.models()
    assert models["seed"].tolist() == [1, 2] and models["dropout"].tolist() == [0.0, 0.5]
    save_zoo(tmp_path / "out", zoo)
    assert load_zoo(tmp_path / "out").n_models == 2


def test_non_finite_checkpoint_is_recorded_as_diverged(tmp_path):
    write_model(tmp_path, "m0", 1)
    write_model(tmp_path, "m1", 2, nan_from=2)
    zoo = import_raytune_zoo(tmp_path, "mnist")
    models = zoo.models()
    assert models["diverged"].tolist() == [False, True] and models["diverged_epoch"].tolist()[1] == 2
    assert np.isnan(zoo.metric("test_acc")[1, 2]) and not np.isnan(zoo.metric("test_acc")[1, 1])


class Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pickled_code_is_refused(tmp_path):
    write_model(tmp_path, "m0", 1)
    torch.save({"module_list.0.weight": Payload()}, tmp_path / "m0" / "checkpoint_000001" / "checkpoints")
    with pytest.raises(ZooImportError, match="checkpoint_000001/checkpoints: not a plain tensor"):
        import_raytune_zoo(tmp_path, "mnist")


def test_wrong_shapes_are_named(tmp_path):
    write_model(tmp_path, "m0", 1)
    sd = reference_state_dict(torch.zeros(2464))
    sd["module_list.3.weight"] = torch.zeros(6, 8, 3, 3)
    torch.save(sd, tmp_path / "m0" / "checkpoint_000000" / "checkpoints")
    with pytest.raises(ZooImportError, match=r"module_list.3.weight has shape \(6, 8, 3, 3\)"):
        import_raytune_zoo(tmp_path, "mnist")


def test_empty_folder(tmp_path):
    with pytest.raises(ZooImportError, match="no model folders"):
        import_raytune_zoo(tmp_path, "mnist")


def test_skip_unsafe_imports_the_rest_and_reports_what_it_left_out(tmp_path, capsys):
    write_model(tmp_path, "m0", 1)
    write_model(tmp_path, "m1\x1b[31mRED", 2)  # an escape code in a folder name
    write_model(tmp_path, "m2", 3)
    torch.save({"module_list.0.weight": Payload()},
               tmp_path / "m1\x1b[31mRED" / "checkpoint_000001" / "checkpoints")
    with pytest.raises(ZooImportError) as err:  # refused by default, as before
        import_raytune_zoo(tmp_path, "mnist")
    assert "\x1b" not in str(err.value) and "m1?RED" in str(err.value)
    zoo = import_raytune_zoo(tmp_path, "mnist", skip_unsafe=True)
    assert zoo.n_models == 2 and zoo.models()["seed"].tolist() == [1, 3]
    assert zoo.info["model_ids"] == [0, 1]
    [skipped] = zoo.info["skipped"]
    assert skipped["model"] == "m1?RED" and "not a plain tensor" in skipped["reason"]
    assert "code ran" not in capsys.readouterr().out
    save_zoo(tmp_path / "out", zoo)  # the report travels in the zoo's manifest
    assert load_zoo(tmp_path / "out").info["skipped"] == [skipped]


def test_skip_unsafe_with_nothing_left_is_an_error(tmp_path):
    write_model(tmp_path, "m0", 1)
    torch.save({"x": Payload()}, tmp_path / "m0" / "checkpoint_000000" / "checkpoints")
    with pytest.raises(ZooImportError, match="every model folder was skipped"):
        import_raytune_zoo(tmp_path, "mnist", skip_unsafe=True)
