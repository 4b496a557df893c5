"""Bad input, round two (issue 25): every row of its config battery is refused before any job,
naming the key (and the line, for a key given twice)."""

import time

import pytest
import torch
import yaml

from hyperreps.config.checks import load_config, validate_config
from hyperreps.config.files import read_config_file, run_name
from hyperreps.config.limits import MAX_SHARD_JOBS, model_count, shard_count
from hyperreps.config.plan import plan_shards
from hyperreps.config.schema import ConfigError
from hyperreps.device import cuda_problem
from helpers import ROOT

NAN, INF = float("nan"), float("inf")


def demo():
    return yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())


def changed(path, value):
    """The demo config with ``value`` at the dotted ``path`` (created where missing)."""
    c = demo()
    node = c
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return c


@pytest.mark.parametrize("path,value,key,says", [
    # non-finite numbers: every schema bound compares false with NaN
    ("zoos.digits.hyperparameters.lr", NAN, "zoos.digits.hyperparameters.lr", "finite"),
    ("split.train", NAN, "split.train", "finite"),
    ("generative.kde.bandwidth", NAN, "generative.kde.bandwidth", "finite"),
    ("autoencoder.training.lr", NAN, "autoencoder.training.lr", "finite"),
    ("autoencoder.training.beta", INF, "autoencoder.training.beta", "finite"),
    # integers are integers
    ("zoos.digits.shard_size", 3.0, "zoos.digits.shard_size", "write 3"),
    ("zoos.digits.epochs", 2.0, "zoos.digits.epochs", "write 2"),
    # seeds in NumPy's range
    ("split.seed", -1, "split.seed", "minimum"),
    ("generative.seed", -5, "generative.seed", "minimum"),
    ("autoencoder.training.seed", 2**40, "autoencoder.training.seed", "maximum"),
    # ranges ordered
    ("autoencoder.augment.erase_scale", [0.33, 0.02], "autoencoder.augment.erase_scale",
     "ascending"),
    ("novelty_frontier.sigmas", [0.0, 0.2, 0.1], "novelty_frontier.sigmas", "increasing"),
    # a plan the dry run cannot make in seconds
    ("zoos.digits.seeds.count", 10_000_000, "zoos.digits.seeds.count", "maximum"),
    # names: no trailing newline, no path
    ("name", "demo\n", "name", "not a name"),
    ("name", "..", "name", "does not match"),
    # a job bigger than any machine
    ("autoencoder.architecture.d_model", 100_000_000, "autoencoder.architecture",
     "largest machine"),
    ("zoos.digits.shard_size", 100_000, "zoos.digits.shard_size", None),
])
def test_the_battery_is_refused_naming_the_key(path, value, key, says):
    cfg = changed(path, value)
    if path == "zoos.digits.shard_size" and value == 100_000:  # a huge shard of long training
        cfg["zoos"]["digits"].update(seeds={"first": 1, "count": 100_000}, epochs=100_000)
        says = "largest machine"
    if path == "autoencoder.architecture.d_model":
        cfg["autoencoder"]["architecture"]["n_heads"] = 1
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=f"'{key}'") as e:
        validate_config(cfg)
    assert says in str(e.value)
    assert time.perf_counter() - t0 < 5


def test_integral_floats_are_refused_not_a_type_error():
    with pytest.raises(ConfigError, match=r"'zoos.z.shard_size': 3.0 is not an integer"):
        validate_config({"zoos": {"z": {"dataset": "digits", "shard_size": 3.0}}})


def test_a_zoo_too_small_to_split_is_refused():
    cfg = changed("zoos.digits.seeds", {"first": 1, "count": 1})
    cfg["split"] = {"train": 0.85, "val": 0.15, "test": 0.0}
    with pytest.raises(ConfigError, match=r"'split': zoo 'digits' has 1 model\(s\), split 1/0/0"):
        validate_config(cfg)
    cfg = changed("zoos.digits.seeds", {"first": 1, "count": 6})
    validate_config(cfg)  # 4/1/1: enough


def test_names_differing_only_in_case_are_refused():
    cfg = demo()
    cfg["zoos"]["Digits"] = dict(cfg["zoos"]["digits"])
    with pytest.raises(ConfigError, match="'zoos.Digits': zoos 'digits' and 'Digits' differ only"):
        validate_config(cfg)


@pytest.mark.parametrize("zoo", ["bad name", "tr\n", "a/b", "-x"])
def test_zoo_names_are_safe_folder_names(zoo):
    with pytest.raises(ConfigError, match="zoos"):
        validate_config({"zoos": {zoo: {"dataset": "digits"}}})


def test_a_duplicate_key_names_key_and_lines(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("zoos:\n  a: {dataset: digits}\n  a: {dataset: mnist}\n")
    with pytest.raises(ConfigError, match=r"line 3: key 'a' is given twice \(first on line 2\)"):
        read_config_file(f)
    with pytest.raises(ConfigError, match="given twice"):
        load_config(f)
    f.write_text("base: &b {dataset: digits}\nzoos:\n  a:\n    <<: *b\n    epochs: 3\n")
    assert read_config_file(f)["zoos"]["a"] == {"dataset": "digits", "epochs": 3}


def test_the_run_name_from_a_file_stem_is_checked():
    assert run_name({"name": None}, ["config/demo.yaml"]) == "demo"
    assert run_name({"name": "mine"}, ["config/demo.yaml"]) == "mine"
    with pytest.raises(ConfigError, match="stem '..' is not a safe folder name"):
        run_name({"name": None}, ["/tmp/...yaml"])
    with pytest.raises(ConfigError, match="'name'"):
        run_name({"name": "a b"}, [])


def test_counts_match_the_plan_without_listing_models():
    for zoo in ({"dataset": "digits", "seeds": {"count": 7}, "shard_size": 3,
                 "hyperparameters": {"activation": ["tanh", "relu"], "lr": [0.1, 0.01, 0.001]}},
                {"dataset": "digits", "seeds": {"count": 10}, "shard_size": 4}):
        cfg = validate_config({"zoos": {"z": zoo}})["zoos"]["z"]
        shards = plan_shards(cfg)
        assert shard_count(cfg) == len(shards)
        assert model_count(cfg) == sum(len(s.model_ids) for s in shards)


def test_too_many_shard_jobs_are_refused():
    cfg = changed("zoos.digits.shard_size", 1)
    cfg["zoos"]["digits"]["seeds"] = {"first": 1, "count": MAX_SHARD_JOBS + 1}
    with pytest.raises(ConfigError, match="'zoos.digits.shard_size'.*shard jobs"):
        validate_config(cfg)


def test_seeds_beyond_numpys_range_are_refused():
    cfg = changed("zoos.digits.seeds", {"first": 2**32 - 10, "count": 120})
    with pytest.raises(ConfigError, match="'zoos.digits.seeds.first'"):
        validate_config(cfg)


def test_cuda_without_a_gpu_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "device: auto" in cuda_problem("cuda") and "cluster profile" in cuda_problem("cuda")
    assert cuda_problem("auto") is None and cuda_problem("cpu") is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cuda_problem("cuda") is None


def test_every_shipped_config_still_validates():
    for path in sorted((ROOT / "config").glob("*.yaml")) + [ROOT / "config/test/tiny.yaml"]:
        if path.name != "schema.yaml":
            load_config(path)


def yaml_blocks():
    """Every ```yaml block of the README and docs/, with where it is."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text, start = path.read_text(), 0
        while (i := text.find("```yaml\n", start)) >= 0:
            j = text.index("\n```", i + 8)
            line = text.count("\n", 0, i) + 1
            yield pytest.param(text[i + 8:j], id=f"{path.name}:{line}")
            start = j + 4


@pytest.mark.parametrize("block", list(yaml_blocks()))
def test_every_yaml_block_of_the_docs_is_what_the_schema_accepts(block, tmp_path):
    """A user who copies a configuration example gets a config that validates: a block with
    zoos as it stands, a fragment merged into a minimal config holding the zoos it names."""
    f = tmp_path / "block.yaml"
    f.write_text(block)
    cfg = read_config_file(f)
    if "zoos" not in cfg:
        named = {"digits"} | {p[k] for p in cfg.get("generative", {}).get("transfer", [])
                              for k in ("source", "target")}
        cfg["zoos"] = {z: {"dataset": z if z in ("mnist", "svhn") else "digits"}
                       for z in named}
    validate_config(cfg)
