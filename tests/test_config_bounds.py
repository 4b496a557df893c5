"""Bad input, round three (issue 30): every check of a config costs what the file costs, not
what its expansion costs; our reader names the file for whatever it cannot read; entries given
twice and a transfer of a zoo onto itself are refused; inputs on disk are named for what they
are (a FIFO, a device, a link loop), and a checkpoint pattern that matches nothing is found
before any job."""

from __future__ import annotations

import copy
import os
import time

import pytest
import yaml

from hyperreps.config.checks import validate_config
from hyperreps.config.inputs import check_inputs
from hyperreps.config.files import read_config_file
from hyperreps.config.schema import MAX_CONFIG_VALUES, ConfigError, expanded_size
from helpers import ROOT

DEMO = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
TINY = yaml.safe_load((ROOT / "config" / "test" / "tiny.yaml").read_text())
ALIAS_BOMB = "\n".join(["bomb:", "  a: &a [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]"]
                       + [f"  {b}: &{b} [{', '.join([f'*{a}'] * 10)}]"
                          for a, b in zip("abcdefgh", "bcdefghi")]) + "\n"


def refused(call, *says, within: float = 2.0) -> str:
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        call()
    took = time.perf_counter() - start
    message = str(err.value)
    assert took < within, (took, message)
    assert len(message) < 2000, len(message)
    for s in says:
        assert s in message, message
    return message


def test_an_alias_bomb_is_refused_at_the_cost_of_the_file(tmp_path):
    """10^9 values in 9 lines: refused by our reader and by the schema check alike."""
    path = tmp_path / "bomb.yaml"
    path.write_text((ROOT / "config" / "demo.yaml").read_text() + ALIAS_BOMB)
    config = read_config_file(path)  # shared references: loads small
    assert expanded_size(config) > MAX_CONFIG_VALUES
    refused(lambda: validate_config(config), "config key 'bomb'", "expands to more than")
    # also where the bomb sits under a key the schema walks into
    c = copy.deepcopy(DEMO)
    c["zoos"]["digits"]["hyperparameters"]["lr"] = yaml.safe_load(ALIAS_BOMB)["bomb"]["i"]
    refused(lambda: validate_config(c), "config key 'zoos'", "expands to more than")


def test_shared_parts_count_once_for_the_cost_and_fully_for_the_size():
    leaf = [1.0] * 10
    node = {"a": leaf, "b": leaf}
    assert expanded_size(node) == 1 + 2 * 11
    looped: list = []
    looped.append(looped)  # a recursive alias
    assert expanded_size({"x": looped}) > MAX_CONFIG_VALUES
    assert expanded_size(copy.deepcopy(DEMO)) < 5000


@pytest.mark.parametrize("text,says", [
    ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 3)) + "  " * 3 + "- " + "[" * 1000
     + "]" * 1000 + "\n", "nests too deep"),
    ("name: demo\nx: " + "9" * 5000 + "\n", "holds a value that cannot be read"),
    ("__use_yte__: true\nname: demo\n", "sets __use_yte__"),
    ("- a\n- b\n", "a config is a mapping"),
])
def test_our_reader_names_the_file_for_what_it_cannot_read(tmp_path, text, says):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert refused(lambda: read_config_file(path), says).startswith(str(path))


def test_not_utf8_a_fifo_and_a_huge_file_are_named(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: d\xe9mo\n")
    refused(lambda: read_config_file(bad), str(bad), "not UTF-8")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    refused(lambda: read_config_file(fifo), str(fifo), "a FIFO")
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as f:
        f.truncate(17 << 20)
    refused(lambda: read_config_file(huge), str(huge), "more than")


def test_deep_nesting_in_a_config_given_as_a_mapping():
    c = copy.deepcopy(DEMO)
    node = c["zoos"]["digits"]["hyperparameters"]["lr"] = {}
    for _ in range(2000):
        node["x"] = {}
        node = node["x"]
    refused(lambda: validate_config(c), "nests more than")


def test_many_unknown_keys_give_a_short_message():
    c = copy.deepcopy(DEMO)
    c.update({f"unknown_{i}": 1 for i in range(50_000)})
    refused(lambda: validate_config(c), "unknown key(s)", "and 49,990 more")


def _with(change):
    c = copy.deepcopy(DEMO)
    change(c)
    return c


@pytest.mark.parametrize("change,key,says", [
    (lambda c: c["generative"]["transfer"].append({"source": "digits", "target": "digits"}),
     "generative.transfer.1", "onto itself is not a transfer"),
    (lambda c: c["generative"]["transfer"].append(dict(c["generative"]["transfer"][0])),
     "generative.transfer.1", "listed twice (also entry 0)"),
    (lambda c: c["generative"]["comparisons"]["transfer"].append(
        {"epoch": 4, "reference_epoch": 4}), "generative.comparisons.transfer.2", "listed twice"),
    (lambda c: c["generative"]["comparisons"]["in_dataset"].append(
        dict(c["generative"]["comparisons"]["in_dataset"][0])),
     "generative.comparisons.in_dataset.", "listed twice"),
    (lambda c: c["zoos"]["digits"]["hyperparameters"].update(lr=[0.01, 0.02, 0.01]),
     "zoos.digits.hyperparameters.lr.2", "listed twice"),
    (lambda c: c["cross_zoo_reconstruction"].append(dict(c["cross_zoo_reconstruction"][0])),
     "cross_zoo_reconstruction.", "listed twice"),
])
def test_entries_given_twice_and_a_self_transfer_are_refused(change, key, says):
    c = _with(change)
    refused(lambda: validate_config(c), f"config key '{key}", says)


def _tiny(tmp_path, zoo: str, **import_from):
    c = copy.deepcopy(TINY)
    c["zoos"][zoo]["import_from"] = {**c["zoos"][zoo]["import_from"], **import_from} \
        if isinstance(c["zoos"][zoo]["import_from"], dict) else import_from["path"]
    validate_config(c)
    return c


def _problems(config):
    start = time.perf_counter()
    found = check_inputs(config)
    assert time.perf_counter() - start < 2
    return "\n".join(found)


@pytest.mark.parametrize("make,says", [
    (lambda p: os.mkfifo(p), "a FIFO (named pipe), not a folder"),
    (lambda p: p.symlink_to("/dev/null"), "a character device, not a folder"),
    (lambda p: p.write_text("x"), "a regular file, not a folder"),
    (lambda p: (p.symlink_to(p.with_name("b")), p.with_name("b").symlink_to(p)),
     "a loop of symbolic links"),
    (lambda p: None, "missing"),
])
def test_an_import_folder_is_named_for_what_it_is(tmp_path, make, says):
    path = tmp_path / "zoo"
    make(path)
    problems = _problems(_tiny(tmp_path, "imported", path=str(path)))
    assert f"config key 'zoos.imported.import_from': {path}: {says}" in problems


def test_a_checkpoint_pattern_that_matches_nothing_is_found_before_any_job(tmp_path):
    folder = ROOT / "config" / "test" / "checkpoints"
    problems = _problems(_tiny(tmp_path, "from_checkpoints", path=str(folder),
                               pattern="run{model}/step_{epoch}.pt"))
    assert ("config key 'zoos.from_checkpoints.import_from.pattern': "
            f"{folder}: no file matches the pattern") in problems


def test_a_fifo_checkpoint_is_named_not_blamed_on_another_model(tmp_path):
    import shutil

    from hyperreps.importers.checkpoint_folder import ZooImportError, find_checkpoints

    folder = tmp_path / "ckpt"
    shutil.copytree(ROOT / "config" / "test" / "checkpoints", folder)
    victim = sorted(folder.rglob("*.pt"))[-1]
    victim.unlink()
    os.mkfifo(victim)
    with pytest.raises(ZooImportError) as err:
        find_checkpoints(folder, "run{model}/epoch_{epoch}.pt")
    assert str(err.value).startswith(f"{victim}: a FIFO")


def test_a_small_cnn_zoo_file_that_is_a_fifo_is_named(tmp_path):
    folder = tmp_path / "scz"
    folder.mkdir()
    for name in ("weights.npy", "layout.csv"):
        (folder / name).write_text("x")
    os.mkfifo(folder / "metrics.csv.gz")
    problems = _problems(_tiny(tmp_path, "scz", path=str(folder)))
    assert f"{folder / 'metrics.csv.gz'}: a FIFO (named pipe), not a regular file" in problems
