"""Models out as ordinary PyTorch (hyperreps.export): an exported model loads into a fresh
nn.Module with strict=True and predicts exactly as the pipeline's vectorised forward does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hyperreps.architecture import SingleModel
from hyperreps.export import export_zoo
from hyperreps.trainer.evaluate import class_probabilities
from helpers import make_zoo


@pytest.mark.parametrize("architecture", [None, "unterthiner_cnn"])
def test_exported_models_load_strictly_and_predict_as_the_pipeline(tmp_path, small_digits,
                                                                     architecture):
    from hyperreps.architecture import get_architecture

    zoo = make_zoo(n_models=3, n_epochs=2, diverged=(1,))
    if architecture:
        layout = get_architecture(architecture).layout
        g = torch.Generator().manual_seed(0)
        zoo.weights = 0.1 * torch.randn(3, 2, layout.n_params, generator=g)
        zoo.weights[1, 1:] = float("nan")
        zoo.layout = layout
    n = export_zoo(zoo, tmp_path / "out", source="test")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert n == 2 and index["skipped_non_finite"] == [1]
    x = small_digits.test.x
    for entry in index["models"]:
        info = json.loads((tmp_path / "out" / entry["file"].replace(".safetensors", ".json"))
                          .read_text())
        model = SingleModel(info["architecture"], info["activation"]).eval()
        model.load_state_dict(load_file(tmp_path / "out" / entry["file"]), strict=True)
        with torch.no_grad():
            mine = model(x).softmax(-1)
        row = list(zoo.info["model_ids"]).index(entry["model_id"])
        theirs = class_probabilities(zoo.weights[row, 1:], info["activation"], small_digits.test,
                                     layout=zoo.layout)[0]
        assert torch.equal(mine.argmax(-1), theirs.argmax(-1))
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
        assert info["epoch"] == 1 and info["dataset"] == "digits"
        assert set(info["metrics"]) >= {"test_acc", "test_loss"}
        assert np.isfinite(info["metrics"]["test_acc"])
