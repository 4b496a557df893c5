"""The registry of zoo formats (hyperreps.importers.registry): the import rule, the config,
``hyperreps inspect`` and the schema read the same defaults from it."""

import pytest
import torch

from helpers import write_raytune_model
from hyperreps.architecture import SingleModel, get_architecture
from hyperreps.cli import main
from hyperreps.config.queries import zoo_architecture
from hyperreps.config.schema import load_schema
from hyperreps.importers import registry
from hyperreps.importers.registry import FORMATS, detect_format, import_zoo, resolve_import
from hyperreps.importers.source import ZooFormat
from hyperreps.importers.summary import import_settings

PATTERN = "run{model}/epoch_{epoch}.pt"


def _checkpoints(folder, architecture="zoo_cnn"):
    for m in range(2):
        for e in (0, 1):
            torch.manual_seed(10 * m + e)
            path = folder / f"run{m}" / f"epoch_{e}.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(SingleModel(get_architecture(architecture), "relu").state_dict(), path)


@pytest.mark.parametrize("dataset", ["mnist", "digits", "cifar10", "small_cnn_cifar10"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_config_takes_the_architecture_the_import_uses(dataset, fmt):
    cfg = {"dataset": dataset, "import_from": {"path": "z", "format": fmt, "pattern": PATTERN}}
    source = resolve_import(cfg)
    assert zoo_architecture(cfg) == source.architecture
    assert source.architecture == FORMATS[fmt].default_architecture(dataset)
    assert zoo_architecture(dict(cfg, architecture="cnn4")) == "cnn4"


def test_a_plain_path_is_the_reference_layout():
    assert resolve_import({"dataset": "mnist", "import_from": "zoo/"}).format == "raytune"


@pytest.mark.parametrize("dataset", ["mnist", "digits"])
def test_inspect_and_the_rule_agree_on_every_default_of_a_checkpoint_folder(tmp_path, capsys,
                                                                            dataset):
    """The activation included: the dataset's default (tanh), where inspect once took relu."""
    _checkpoints(tmp_path)
    cfg = {"dataset": dataset,
           "import_from": {"path": str(tmp_path), "format": "checkpoints", "pattern": PATTERN}}
    rule = resolve_import(cfg)
    assert main(["inspect", str(tmp_path), "--pattern", PATTERN, "--dataset", dataset]) == 0
    out = capsys.readouterr().out
    assert import_settings(rule) in out and "activation tanh" in out
    zoo = import_zoo(rule).zoo  # as the rule's job loads it, without data
    assert set(zoo.models()["activation"]) == {rule.activation}
    assert f"architecture: {zoo.layout.architecture} " in out


def test_inspect_and_the_rule_agree_on_a_ray_tune_zoo(tmp_path, capsys):
    for seed in (1, 2):
        write_raytune_model(tmp_path, f"m{seed}", seed)
    rule = resolve_import({"dataset": "mnist", "import_from": str(tmp_path)})
    assert detect_format(tmp_path).name == "raytune"
    assert main(["inspect", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert import_settings(rule) in out
    assert "Ray Tune zoo: 2 models x 3 checkpoints" in out


def test_a_new_format_is_one_registry_entry(monkeypatch, tmp_path):
    class Marked(ZooFormat):
        name, label, looks_like = "marked", "marked zoo", "MARK"

        def detect(self, path):
            return (path / "MARK").exists()

    monkeypatch.setitem(registry.FORMATS, "marked", Marked())
    (tmp_path / "MARK").write_text("")
    assert detect_format(tmp_path).name == "marked"
    branch = load_schema()["$defs"]["zoo"]["properties"]["import_from"]["oneOf"][1]
    assert "marked" in branch["properties"]["format"]["enum"]
    source = resolve_import({"dataset": "mnist", "import_from": {"path": "x", "format": "marked"}})
    assert source.architecture == "zoo_cnn" and source.activation is None
