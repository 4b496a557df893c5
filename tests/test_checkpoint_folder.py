"""A folder of PyTorch checkpoints as a zoo (hyperreps.importers.checkpoint_folder): names or order
matched, pickles that run code refused, every bad file named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from hyperreps.architecture import SingleModel, get_architecture
from hyperreps.importers.checkpoint_folder import (ZooImportError, find_checkpoints,
                                                   import_checkpoint_folder)
from hyperreps.trainer.evaluate import evaluate_weights

ARCH = get_architecture("unterthiner_cnn")


def _write(folder, n_models=2, epochs=(0, 5), suffix=".pt", rename=None):
    states = {}
    for m in range(n_models):
        for e in epochs:
            torch.manual_seed(100 * m + e)
            state = SingleModel(ARCH, "relu").state_dict()
            if rename:
                state = {rename(k): v for k, v in state.items()}
            path = folder / f"run{m}" / f"epoch_{e}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if suffix == ".safetensors":
                save_file({k: v.contiguous() for k, v in state.items()}, str(path))
            else:
                torch.save(state, path)
            states[(m, e)] = state
    return states


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_folder_imports_with_real_epochs_and_measured_metrics(tmp_path, small_digits, suffix):
    states = _write(tmp_path, suffix=suffix)
    zoo = import_checkpoint_folder(tmp_path, f"run{{model}}/epoch_{{epoch}}{suffix}", "digits",
                                   ARCH.layout, "relu", small_digits)
    assert zoo.n_models == 2 and zoo.epochs.tolist() == [0, 5]
    expected = ARCH.layout.flatten(states[(1, 5)])
    torch.testing.assert_close(zoo.weights[1, 1], expected)
    _, acc = evaluate_weights(expected[None], "relu", small_digits.test, layout=ARCH.layout)
    assert zoo.metric("test_acc")[1, 1] == pytest.approx(acc[0])
    assert zoo.models()["source"].tolist() == ["0", "1"]


def test_other_names_match_by_order_and_shape(tmp_path):
    states = _write(tmp_path, n_models=1, epochs=(3,), rename=lambda k: "net." + k)
    zoo = import_checkpoint_folder(tmp_path, "run{model}/epoch_{epoch}.pt", "digits",
                                   ARCH.layout, "relu")
    torch.testing.assert_close(zoo.weights[0, 0], ARCH.layout.flatten(
        {k.removeprefix("net."): v for k, v in states[(0, 3)].items()}))
    assert np.isnan(zoo.metric("test_acc")).all()  # no data given: nothing measured


def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    import os
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    _write(tmp_path, n_models=1, epochs=(0,))
    with open(tmp_path / "run0" / "epoch_0.pt", "wb") as f:
        pickle.dump({"conv1.weight": Evil()}, f)
    with pytest.raises(ZooImportError, match=r"epoch_0\.pt: refused"):
        import_checkpoint_folder(tmp_path, "run{model}/epoch_{epoch}.pt", "digits",
                                 ARCH.layout, "relu")
    assert not marker.exists()


def test_extra_missing_and_misshapen_tensors_are_named(tmp_path):
    states = _write(tmp_path, n_models=1, epochs=(0,))
    state = dict(states[(0, 0)], extra=torch.zeros(3))
    torch.save(state, tmp_path / "run0" / "epoch_0.pt")
    with pytest.raises(ZooImportError, match=r"epoch_0\.pt: 9 tensors.*extra \['extra'\]"):
        import_checkpoint_folder(tmp_path, "run{model}/epoch_{epoch}.pt", "digits",
                                 ARCH.layout, "relu")
    state = {k: v for k, v in states[(0, 0)].items() if k != "fc.bias"}
    torch.save(state, tmp_path / "run0" / "epoch_0.pt")
    with pytest.raises(ZooImportError, match=r"missing \['fc.bias'\]"):
        import_checkpoint_folder(tmp_path, "run{model}/epoch_{epoch}.pt", "digits",
                                 ARCH.layout, "relu")
    state = dict(states[(0, 0)], **{"fc.bias": torch.zeros(11)})
    torch.save(state, tmp_path / "run0" / "epoch_0.pt")
    with pytest.raises(ZooImportError, match=r"'fc.bias' has shape \(11,\)"):
        import_checkpoint_folder(tmp_path, "run{model}/epoch_{epoch}.pt", "digits",
                                 ARCH.layout, "relu")


def test_models_must_share_epochs_and_the_pattern_must_match(tmp_path):
    _write(tmp_path, n_models=2, epochs=(0, 5))
    (tmp_path / "run1" / "epoch_5.pt").unlink()
    with pytest.raises(ZooImportError, match="model '1' has epochs 0, the first"):
        find_checkpoints(tmp_path, "run{model}/epoch_{epoch}.pt")
    with pytest.raises(ZooImportError, match="no file matches"):
        find_checkpoints(tmp_path, "model{model}/e{epoch}.pt")
    with pytest.raises(ZooImportError, match="must contain"):
        find_checkpoints(tmp_path, "run{model}.pt")


def test_non_finite_checkpoint_is_recorded_as_diverged(tmp_path):
    states = _write(tmp_path, n_models=1, epochs=(0, 1, 2))
    bad = dict(states[(0, 1)])
    bad["conv1.weight"] = bad["conv1.weight"].clone()
    bad["conv1.weight"][0, 0, 0, 0] = float("inf")
    torch.save(bad, tmp_path / "run0" / "epoch_1.pt")
    zoo = import_checkpoint_folder(tmp_path, "run{model}/epoch_{epoch}.pt", "digits",
                                   ARCH.layout, "relu")
    assert zoo.models()["diverged_epoch"].tolist() == [1]
    assert torch.isnan(zoo.weights[0, 1:]).all() and torch.isfinite(zoo.weights[0, 0]).all()
