"""Import of a zoo written in the reference Ray Tune layout."""

import numpy as np
import pytest
import torch

from hyperreps.importers import ZooImportError, import_raytune_zoo
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
    with pytest.raises(ZooImportError, match="checkpoint_000001/checkpoints: not a plain tensor"):
        import_raytune_zoo(tmp_path, "mnist")


def test_wrong_shapes_are_named(tmp_path):
    write_raytune_model(tmp_path, "m0", 1)
    sd = reference_state_dict(torch.zeros(2464))
    sd["module_list.3.weight"] = torch.zeros(6, 8, 3, 3)
    torch.save(sd, tmp_path / "m0" / "checkpoint_000000" / "checkpoints")
    with pytest.raises(ZooImportError, match=r"module_list.3.weight has shape \(6, 8, 3, 3\)"):
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
    assert skipped["model"] == "m1?RED" and "not a plain tensor" in skipped["reason"]
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
