"""The zoo on disk (round trip, corrupt/untrusted files refused), merging, selecting and
the model split."""

import json

import numpy as np
import pytest
import torch

from hyperreps.zoo import (MANIFEST, METADATA, WEIGHTS, Zoo, ZooCorruptError, load_zoo, merge_zoos,
                           save_zoo)
from hyperreps.splits import checkpoint_sets, rows_by_split, split_models
from helpers import make_zoo
from hyperreps.metrics import METRICS


def test_round_trip(tmp_path):
    zoo = make_zoo(diverged=[2])
    save_zoo(tmp_path / "z", zoo)
    back = load_zoo(tmp_path / "z")
    assert torch.equal(torch.nan_to_num(back.weights, 7.0), torch.nan_to_num(zoo.weights, 7.0))
    assert back.metric("test_acc").shape == (6, 3)
    np.testing.assert_allclose(back.metric("test_acc"), zoo.metric("test_acc"), rtol=1e-7)
    models = back.models()
    assert models["diverged"].tolist() == [False, False, True, False, False, False]
    assert models["diverged_epoch"].tolist()[2] == 1
    manifest = json.loads((tmp_path / "z" / MANIFEST).read_text())
    assert manifest["layout"][0] == {"name": "conv1.weight", "shape": [8, 1, 5, 5], "offset": 0}
    assert set(manifest["files"]) == {WEIGHTS, METADATA}
    assert not list(tmp_path.glob(".*tmp"))  # no temporary directory left behind


def test_corrupt_file_is_named(tmp_path):
    save_zoo(tmp_path / "z", make_zoo())
    f = tmp_path / "z" / WEIGHTS
    data = bytearray(f.read_bytes())
    data[-5] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ZooCorruptError, match="weights.safetensors: sha256"):
        load_zoo(tmp_path / "z")


def test_truncated_file_is_named(tmp_path):
    save_zoo(tmp_path / "z", make_zoo())
    f = tmp_path / "z" / METADATA
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(ZooCorruptError, match="metadata.csv: .* bytes.*truncated"):
        load_zoo(tmp_path / "z")


def test_missing_manifest(tmp_path):
    (tmp_path / "z").mkdir()
    with pytest.raises(ZooCorruptError, match="manifest.json: missing"):
        load_zoo(tmp_path / "z")


def _tampered(tmp_path, change):
    """A saved zoo whose manifest ``change(manifest)`` edits (someone else's zoo)."""
    save_zoo(tmp_path / "z", make_zoo(n_models=2))
    mpath = tmp_path / "z" / MANIFEST
    manifest = json.loads(mpath.read_text())
    change(manifest)
    mpath.write_text(json.dumps(manifest))
    return tmp_path / "z"


def _file(name):
    return lambda m: m["files"].update({name: {"bytes": 0, "sha256": "0" * 64}})


@pytest.mark.parametrize("change, message", [
    (_file("/etc/passwd"), r"refusing \['/etc/passwd'\]"),
    (_file("../outside.csv"), r"refusing \['../outside.csv'\]"),
    (_file("/dev/zero"), r"refusing \['/dev/zero'\]"),
    (lambda m: m.update(files={}), r"missing \['metadata.csv', 'weights.safetensors'\]"),
    (lambda m: m.pop("files"), "'files' must map"),
    (lambda m: m.update(files=[]), "'files' must map"),
    (lambda m: m.update(layout="conv1"), "'layout' must be a list"),
    (lambda m: m.update(layout=[{"name": "conv1.weight"}]), "malformed 'layout' entry"),
    (lambda m: m["files"]["weights.safetensors"].update(sha256="abc"), "64 hex digits"),
    (lambda m: m.update(n_models="2"), "'n_models' must be an integer"),
    (lambda m: m.update(model_ids=[0, 0]), "'model_ids' must be 2 distinct integers"),
    (lambda m: m.update(extra=[]), "'extra' must be an object"),
    (lambda m: m.update(format="pickle"), "not a hyperreps-zoo v1 manifest"),
])
def test_an_untrusted_manifest_is_refused_with_the_file_named(tmp_path, change, message):
    path = _tampered(tmp_path, change)
    with pytest.raises(ZooCorruptError, match=message) as err:
        load_zoo(path)
    assert "manifest.json" in str(err.value)


def test_flipped_weight_bytes_are_caught_whatever_the_manifest_says(tmp_path):
    # an empty file list used to switch verification off: now every load checks both files
    path = _tampered(tmp_path, lambda m: m.update(files={}))
    with pytest.raises(ZooCorruptError):
        load_zoo(path)
    save_zoo(tmp_path / "y", make_zoo(n_models=2))
    f = tmp_path / "y" / WEIGHTS
    data = bytearray(f.read_bytes())
    data[200] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(ZooCorruptError, match="sha256"):
        load_zoo(tmp_path / "y")


def test_a_linked_or_special_file_is_refused(tmp_path):
    save_zoo(tmp_path / "z", make_zoo(n_models=2))
    f = tmp_path / "z" / WEIGHTS
    f.unlink()
    f.symlink_to("/dev/zero")  # the loader used to hang reading it
    with pytest.raises(ZooCorruptError, match="weights.safetensors: is a symbolic link"):
        load_zoo(tmp_path / "z")


def test_overwrite_replaces_atomically(tmp_path):
    save_zoo(tmp_path / "z", make_zoo(n_models=3))
    save_zoo(tmp_path / "z", make_zoo(n_models=4))
    assert load_zoo(tmp_path / "z").n_models == 4


def test_merge_and_select():
    a, b = make_zoo(3, first_id=0), make_zoo(2, first_id=3, seed=1)
    m = merge_zoos([a, b])
    assert m.n_models == 5 and list(m.model_ids) == [0, 1, 2, 3, 4]
    assert torch.equal(m.weights[3:], b.weights)
    assert torch.equal(m.select([4, 0]).weights, torch.stack([b.weights[1], a.weights[0]]))
    with pytest.raises(ValueError, match="share model ids"):
        merge_zoos([a, a])


def test_split_by_model_excludes_and_counts_diverged():
    zoo = make_zoo(n_models=40, diverged=[3, 17])
    s = split_models(zoo)
    assert s["diverged_excluded"] == [3, 17] and s["counts"]["diverged_excluded"] == 2
    parts = [set(s[k]) for k in ("train", "val", "test")]
    assert sum(map(len, parts)) == 38 and not (parts[0] & parts[1] or parts[0] & parts[2])
    assert s["counts"]["train"] == round(0.7 * 38)
    assert split_models(zoo) == s  # deterministic


def _irregular_zoo(epochs=(0, 1, 3, 20)):
    """A zoo whose checkpoints are at epochs 0, 1, 3 and 20 (as the Small CNN Zoo's are)."""
    from hyperreps.zoo import metadata_table

    zoo = make_zoo(n_models=5, n_epochs=len(epochs))
    metrics = {k: zoo.metric(k) for k in METRICS}
    rows = zoo.models()[["model_id", "seed", "activation"]].to_dict("records")
    meta = metadata_table(rows, metrics, np.full(5, -1), epochs)
    return Zoo(zoo.weights, meta, zoo.layout, zoo.dataset,
               dict(zoo.info, epochs=list(epochs)))


def test_irregular_epochs_round_trip_and_map_to_positions(tmp_path):
    zoo = _irregular_zoo()
    back = load_zoo(save_zoo(tmp_path / "z", zoo))
    assert back.epochs.tolist() == [0, 1, 3, 20] and back.n_epochs == 4
    assert back.position(20) == 3 and back.positions_between(1, 20).tolist() == [1, 2, 3]
    torch.testing.assert_close(back.finite_at(3)[0], zoo.weights[:, 2])
    np.testing.assert_allclose(back.metric("test_acc"), zoo.metric("test_acc"), rtol=1e-7)
    split = {"train": [0, 1, 2], "val": [3], "test": [4]}
    m, e = rows_by_split(back, split, (3, 20))["train"]
    assert e.tolist() == [2, 3] * 3 and m.tolist() == [0, 0, 1, 1, 2, 2]
    assert len(checkpoint_sets(back, split, (3, 20))["train"]) == 6
    with pytest.raises(ValueError, match="no checkpoint at epoch 5; its epochs: 0, 1, 3, 20"):
        back.position(5)
    with pytest.raises(ValueError, match=r"epoch window \[2, 20\].*epoch 2"):
        checkpoint_sets(back, split, (2, 20))


def test_a_regular_zoo_keeps_its_epochs_0_to_e():
    zoo = make_zoo(n_models=3, n_epochs=4)
    assert zoo.epochs.tolist() == [0, 1, 2, 3] and zoo.position(3) == 3


@pytest.mark.parametrize("epochs, message", [
    ([0, 1, 3], "'extra.epochs' must be 4"),
    ([0, 3, 1, 20], "increasing"),
    ([0, 1, 3, 21], "are not the zoo's"),
])
def test_manifest_epochs_are_checked(tmp_path, epochs, message):
    import json

    path = save_zoo(tmp_path / "z", _irregular_zoo())
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["extra"]["epochs"] = epochs
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ZooCorruptError, match=message):
        load_zoo(path)
