"""Models out as ordinary PyTorch (hyperreps.zoos.export): an exported model loads into a fresh
nn.Module with strict=True and predicts exactly as the pipeline's vectorised forward does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hyperreps.architecture import SingleModel
from hyperreps.destinations import DestinationError, discard_previous_export, is_previous_export
from hyperreps.zoos.export import export_zoo
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


def test_export_zoo_writes_only_a_new_or_empty_folder(tmp_path):
    """The library function (the workflow's export rules call it on Snakemake's output, which
    does not exist or is an empty folder) refuses the rest on its own (issue 30)."""
    zoo = make_zoo(n_models=2, n_epochs=2)
    assert export_zoo(zoo, tmp_path / "new" / "out") == 2  # parents made
    (tmp_path / "empty").mkdir()
    assert export_zoo(zoo, tmp_path / "empty") == 2  # as Snakemake creates directory() outputs
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "thesis.tex").write_text("draft")
    (tmp_path / "notes.txt").write_text("notes")
    for out, rule in ((tmp_path / "user", "not empty"), (tmp_path / "notes.txt", "is a file"),
                      (tmp_path / "new" / "out", "previous output")):
        with pytest.raises(DestinationError, match=rule) as e:
            export_zoo(zoo, out)
        assert str(out) in str(e.value)
    assert (tmp_path / "user" / "thesis.tex").read_text() == "draft"
    assert (tmp_path / "notes.txt").read_text() == "notes"
    with pytest.raises(DestinationError, match="is the source zoo"):
        export_zoo(zoo, tmp_path / "user", sources=[tmp_path / "user"])
    assert export_zoo(make_zoo(n_models=1, n_epochs=2), tmp_path / "new" / "out",
                      replace=True) == 1
    assert sorted(p.name for p in (tmp_path / "new" / "out").iterdir()) == [
        "index.json", "model_0000.json", "model_0000.safetensors"]
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["out"]  # no temporaries


def test_a_previous_export_is_recognised_by_its_index_and_files_only(tmp_path):
    export_zoo(make_zoo(n_models=2, n_epochs=2), tmp_path / "out")
    assert is_previous_export(tmp_path / "out")
    (tmp_path / "out" / "notes.md").write_text("mine")
    assert not is_previous_export(tmp_path / "out")
    (tmp_path / "out" / "notes.md").unlink()
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    (tmp_path / "out" / "index.json").write_text(json.dumps(dict(index, format="other")))
    assert not is_previous_export(tmp_path / "out")
    (tmp_path / "out" / "index.json").write_text("not json")
    assert not is_previous_export(tmp_path / "out")


def test_discarding_a_replaced_export_keeps_what_export_did_not_write(tmp_path):
    """A file put into the old export between the check and the rename stays."""
    export_zoo(make_zoo(n_models=2, n_epochs=2), tmp_path / "old")
    (tmp_path / "old" / "late.txt").write_text("written meanwhile")
    assert discard_previous_export(tmp_path / "old") == ["late.txt"]
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["late.txt"]
