"""``hyperreps inspect`` and ``hyperreps export`` (hyperreps.cli)."""

from __future__ import annotations

import json

import pytest

from hyperreps.cli import main
from hyperreps.zoo import save_zoo
from helpers import ROOT, make_zoo


def test_inspect_our_zoo_and_a_ray_tune_folder(tmp_path, capsys):
    save_zoo(tmp_path / "z", make_zoo(n_models=4, n_epochs=3, diverged=(2,)))
    assert main(["inspect", str(tmp_path / "z")]) == 0
    out = capsys.readouterr().out
    assert "hyperreps zoo: 4 models x 3 checkpoints (epochs 0..2)" in out
    assert "diverged models: 1" in out and "sha256 of every file verified" in out
    assert "epoch    2: test accuracy min" in out
    assert main(["inspect", str(ROOT / "config/test/raytune")]) == 0
    assert "Ray Tune zoo: 2 models x 3 checkpoints" in capsys.readouterr().out


def test_inspect_a_checkpoint_folder_and_refuse_what_is_not_a_zoo(tmp_path, capsys):
    assert main(["inspect", str(ROOT / "config/test/checkpoints"), "--pattern",
                 "run{model}/epoch_{epoch}.pt", "--architecture", "unterthiner_cnn"]) == 0
    assert "3 models x 2 checkpoints (epochs 0, 4)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not a zoo"):
        main(["inspect", str(tmp_path)])


def test_inspect_names_a_corrupt_file(tmp_path, capsys):
    path = save_zoo(tmp_path / "z", make_zoo())
    (path / "metadata.csv").write_text("altered")
    assert main(["inspect", str(path)]) == 1
    assert "metadata.csv" in capsys.readouterr().err


def test_export_writes_state_dicts(tmp_path, capsys):
    save_zoo(tmp_path / "z", make_zoo(n_models=3, n_epochs=2))
    assert main(["export", str(tmp_path / "z"), str(tmp_path / "out"), "--epoch", "0"]) == 0
    assert "exported 3 models" in capsys.readouterr().out
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["epoch"] == 0 and len(index["models"]) == 3


def test_every_verb_has_help(capsys):
    for verb in ("inspect", "export"):
        with pytest.raises(SystemExit) as e:
            main([verb, "--help"])
        assert e.value.code == 0
        assert "usage: hyperreps " + verb in capsys.readouterr().out
