"""Generated models to audit (hyperreps.importers.model_files): our zoo format, a folder of
state dicts, a .npy of flat weights; every bad file named."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from helpers import make_zoo
from hyperreps.architecture import get_architecture
from hyperreps.importers.errors import ZooImportError
from hyperreps.importers.model_files import load_model_files
from hyperreps.zoo import save_zoo

LAYOUT = get_architecture("zoo_cnn").layout


def test_each_form_gives_the_same_models(tmp_path):
    flat = torch.randn(3, LAYOUT.n_params)
    np.save(tmp_path / "w.npy", flat.numpy())
    folder = tmp_path / "dicts"
    folder.mkdir()
    for i, row in enumerate(flat):
        state = {k: v.contiguous() for k, v in LAYOUT.unflatten(row).items()}
        if i == 1:
            torch.save(state, folder / f"m{i}.pt")
        else:
            save_file(state, str(folder / f"m{i}.safetensors"))
    (folder / "index.json").write_text("{}")  # other files are left alone
    for path in (tmp_path / "w.npy", folder):
        weights, names = load_model_files(path, LAYOUT)
        torch.testing.assert_close(weights, flat)
        assert len(names) == 3
    zoo = make_zoo(n_models=4)
    save_zoo(tmp_path / "zoo", zoo)
    weights, _ = load_model_files(tmp_path / "zoo", zoo.layout)
    torch.testing.assert_close(weights, zoo.weights[:, -1].float())


def test_bad_files_are_named(tmp_path):
    np.save(tmp_path / "ints.npy", np.zeros((2, LAYOUT.n_params), np.int32))
    np.save(tmp_path / "short.npy", np.zeros((2, 7), np.float32))
    for name, says in (("ints.npy", "int32"), ("short.npy", "(2, 7)")):
        with pytest.raises(ZooImportError, match=says):
            load_model_files(tmp_path / name, LAYOUT)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ZooImportError, match="no manifest.json"):
        load_model_files(empty, LAYOUT)
    (empty / "m.pt").write_bytes(b"not a pickle")
    with pytest.raises(ZooImportError, match="m.pt: refused or unreadable"):
        load_model_files(empty, LAYOUT)
    (empty / "m.pt").unlink()
    torch.save({"w": torch.zeros(3)}, empty / "m.pt")
    with pytest.raises(ZooImportError, match="m.pt: 1 tensors"):
        load_model_files(empty, LAYOUT)
    with pytest.raises(ZooImportError, match="not a zoo_cnn_rgb|zoo_cnn, not"):
        save_zoo(tmp_path / "z", make_zoo(n_models=2))
        load_model_files(tmp_path / "z", get_architecture("zoo_cnn_rgb").layout)
