"""Damaged or hostile zoos (issue 25): ``load_zoo`` refuses each with a ZooCorruptError whose
message starts with the path of the file at fault, fast, and without hashing or parsing what
it cannot bound; the zoos every writer of the format produces, diverged models included,
still load.

Each damaged zoo starts as a valid one; "re-signed" means the damaged file's sha256 and size
are written into the manifest again, as a forger (or a buggy writer) would, so the checksums
pass and only the new checks stand between the damage and the caller."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

import hyperreps.zoo as zoo_module
from hyperreps.data import file_sha256
from hyperreps.zoo import MANIFEST, METADATA, WEIGHTS, ZooCorruptError, load_zoo, save_zoo
from helpers import make_zoo

GIB = 2**30


def _saved(tmp_path, **kw):
    """A valid tiny zoo saved under ``tmp_path/z`` (make_zoo's arguments)."""
    return save_zoo(tmp_path / "z", make_zoo(**kw))


def _manifest(path) -> dict:
    return json.loads((path / MANIFEST).read_text())


def _resign(path, name, sha256=None):
    """Write file ``name``'s size and sha256 (or the given one) into the manifest."""
    manifest = _manifest(path)
    f = path / name
    manifest["files"][name] = {"bytes": f.stat().st_size,
                               "sha256": sha256 or file_sha256(f)}
    (path / MANIFEST).write_text(json.dumps(manifest))


def _refused(path, name, match: str) -> str:
    """Load ``path``; require a ZooCorruptError naming file ``name`` first and matching
    ``match``; return the message."""
    with pytest.raises(ZooCorruptError, match=match) as err:
        load_zoo(path)
    message = str(err.value)
    assert message.startswith(f"{path / name}: "), message
    return message


def _no_hashing(monkeypatch):
    def refuse(f):
        raise AssertionError(f"hashed {f}: the size checks must refuse it first")
    monkeypatch.setattr(zoo_module, "file_sha256", refuse)


# --- 1. a file far larger than the layout implies: refused before any hashing ---------------

def _sparse_zeros(path):
    """weights.safetensors replaced by 200 GiB of (sparse) zeros."""
    f = path / WEIGHTS
    f.unlink()
    with open(f, "wb") as out:
        out.truncate(200 * GIB)


def _valid_then_huge(path):
    """weights.safetensors with its valid header and data, then zeros up to 200 GiB."""
    os.truncate(path / WEIGHTS, 200 * GIB)


def _huge_metadata(path):
    """metadata.csv with its valid rows, then zeros up to 50 GiB."""
    os.truncate(path / METADATA, 50 * GIB)


@pytest.mark.parametrize("damage, name, match", [
    (_sparse_zeros, WEIGHTS, "safetensors header of 0 bytes"),
    (_valid_then_huge, WEIGHTS, f"{200 * GIB} bytes, but its header and the manifest make it"),
    (_huge_metadata, METADATA, f"{50 * GIB} bytes, more than the"),
], ids=["weights_zeros", "weights_valid_then_zeros", "metadata_valid_then_zeros"])
def test_a_huge_sparse_file_is_refused_at_once_without_hashing(tmp_path, monkeypatch, damage,
                                                              name, match):
    path = _saved(tmp_path, n_models=2)
    damage(path)
    _resign(path, name, sha256="0" * 64)  # the size matches; the hash could be anything
    _no_hashing(monkeypatch)
    start = time.perf_counter()
    _refused(path, name, match)
    assert time.perf_counter() - start < 2.0


def test_a_safetensors_file_with_an_extra_tensor_is_refused(tmp_path):
    path = _saved(tmp_path, n_models=2)
    w = load_zoo(path).weights
    save_file({"weights": w, "extra": torch.zeros(3)}, str(path / WEIGHTS))
    _resign(path, WEIGHTS)
    _refused(path, WEIGHTS, r"exactly one tensor, 'weights'; holds 2 \('extra', 'weights'\)")


def test_a_weights_tensor_of_another_dtype_or_offset_is_refused_from_its_header(tmp_path):
    path = _saved(tmp_path, n_models=2)
    w = load_zoo(path).weights
    save_file({"weights": w.half()}, str(path / WEIGHTS))
    _resign(path, WEIGHTS)
    _refused(path, WEIGHTS, "tensor 'weights' is .*'F16'.*the manifest's counts and layout")


# --- 2. a manifest that would exhaust the parser -------------------------------------------

def _deep(text):
    return text[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _long_int(text):
    return text.replace('"n_models": 2', '"n_models": ' + "9" * 5000)


def _nan(text):
    return text[:-1] + ', "lr": NaN}'


def _overflow(text):
    return text[:-1] + ', "lr": 1e999}'


def _twice(text):  # the second "format" would win: a key given twice is ambiguous
    return '{"format": "pickle", ' + text[1:]


@pytest.mark.parametrize("damage, match", [
    (_deep, "manifest.json: JSON nests more than 32 deep"),
    (_long_int, "manifest.json: JSON holds an integer of 5000 digits"),
    (_nan, "manifest.json: JSON holds NaN, which is not JSON"),
    (_overflow, "manifest.json: JSON holds the number '1e999', beyond the float range"),
    (_twice, "manifest.json: JSON holds the key 'format' given twice"),
], ids=["deep", "long_int", "nan", "overflow", "key_twice"])
def test_a_manifest_that_would_exhaust_the_parser_is_refused(tmp_path, damage, match):
    path = _saved(tmp_path, n_models=2)
    (path / MANIFEST).write_text(damage(json.dumps(_manifest(path))))
    _refused(path, MANIFEST, match)


def test_an_oversized_manifest_is_refused_unread(tmp_path):
    path = _saved(tmp_path, n_models=2)
    os.truncate(path / MANIFEST, 64 * 2**20)
    _refused(path, MANIFEST, f"{64 * 2**20:,} bytes, more than the {16 * 2**20:,} this file")


# --- 3. a metadata table of the wrong types, epochs or rows (re-signed) ---------------------

def _edit_cell(column, rows, value):
    """Set data row(s) ``rows`` (0-based: an int or a range) of ``column`` to the text
    ``value``."""
    def edit(path):
        lines = (path / METADATA).read_text().splitlines()
        col = lines[0].split(",").index(column)
        for row in [rows] if isinstance(rows, int) else rows:
            fields = lines[row + 1].split(",")
            fields[col] = value
            lines[row + 1] = ",".join(fields)
        (path / METADATA).write_text("\n".join(lines) + "\n")
    return edit


def _duplicate_row(path):
    """Model 0's epoch-2 row replaced by a second copy of its epoch-1 row (same row count)."""
    lines = (path / METADATA).read_text().splitlines()
    lines[3] = lines[2]
    (path / METADATA).write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("damage, match", [
    (_edit_cell("epoch", 5, "NaN"), "column 'epoch' must hold integers; data row 6 holds 'nan'"),
    (_edit_cell("epoch", 5, "999"), r"its epochs 0, 1, .*, 10, 999 are not the zoo's \(0..10\); "
                                    "data row 6 holds '999'"),
    (_duplicate_row, r"model 0 has 2 rows at epoch 1 \(data rows 2, 3\)"),
    (_edit_cell("diverged", 4, "no"), "column 'diverged' must hold True or False; data row 5 "
                                      "holds 'no'"),
    (_edit_cell("lr", 0, "fast"), "column 'lr' must hold numbers; data row 1 holds 'fast'"),
    (_edit_cell("test_acc", 7, "high"), "column 'test_acc' must hold numbers; data row 8"),
    (_edit_cell("activation", 3, "relu"), "model 0 has different values of 'activation'"),
    (_edit_cell("diverged_epoch", range(11), "4"), "model 0: diverged=False with "
                                                   "diverged_epoch=4"),
], ids=["epoch_nan", "epoch_999", "duplicate_row", "diverged_no", "lr_text", "metric_text",
        "setting_varies", "flag_vs_epoch"])
def test_a_metadata_table_of_wrong_types_epochs_or_rows_is_refused(tmp_path, damage, match):
    path = _saved(tmp_path, n_models=2, n_epochs=11)
    damage(path)
    _resign(path, METADATA)
    _refused(path, METADATA, match)


# --- 4. weights that contradict the metadata (re-signed) ------------------------------------

def _set_weights(index, value):
    def edit(path):
        w = load_zoo(path).weights.clone()
        w[index] = value
        save_file({"weights": w}, str(path / WEIGHTS))
    return edit


@pytest.mark.parametrize("damage, match", [
    (_set_weights((0, 2, 5), float("inf")), "model 0's checkpoint at epoch 2 is not finite "
                                             r"\(NaN or inf\), but metadata.csv records the "
                                             "model as never diverged"),
    (_set_weights((1, 1), float("nan")), "model 1's checkpoint at epoch 1 is not finite"),
    (_set_weights((2, 2), 0.5), "model 2's checkpoint at epoch 2 is finite, but metadata.csv "
                                "records the model as diverged from epoch 1"),
], ids=["inf_never_diverged", "nan_epoch_never_diverged", "finite_after_diverging"])
def test_weights_that_contradict_the_metadata_are_refused(tmp_path, damage, match):
    path = _saved(tmp_path, n_models=3, n_epochs=3, diverged=[2])
    damage(path)
    _resign(path, WEIGHTS)
    _refused(path, WEIGHTS, match)


def _drop_diverged_epoch(flag_model=None):
    """metadata.csv without its diverged_epoch column; ``flag_model``'s rows (data rows
    3*m .. 3*m+2 of the 3-epoch zoo) flagged diverged."""
    def edit(path):
        meta = pd.read_csv(path / METADATA).drop(columns="diverged_epoch")
        if flag_model is not None:
            meta.loc[meta["model_id"] == flag_model, "diverged"] = True
        meta.to_csv(path / METADATA, index=False)
    return edit


@pytest.mark.parametrize("damage, match", [
    (_drop_diverged_epoch(), None),  # valid: the flag and the weights agree
    (_drop_diverged_epoch(flag_model=0), "model 0's checkpoint at epoch 2 is finite, but "
                                         "metadata.csv records the model as diverged;"),
], ids=["valid", "flagged_yet_finite"])
def test_without_a_diverged_epoch_column_the_flag_must_match_the_weights(tmp_path, damage,
                                                                         match):
    path = _saved(tmp_path, n_models=3, n_epochs=3, diverged=[2])
    damage(path)
    _resign(path, METADATA)
    if match is None:
        assert load_zoo(path).models()["diverged"].tolist() == [False, False, True]
    else:
        _refused(path, WEIGHTS, match)


# --- 5. a dataset the registry does not know ------------------------------------------------

@pytest.mark.parametrize("dataset", ["../../etc/imagenet", "imagenet", 7])
def test_an_unknown_dataset_is_refused(tmp_path, dataset):
    path = _saved(tmp_path, n_models=2)
    manifest = _manifest(path)
    manifest["dataset"] = dataset
    (path / MANIFEST).write_text(json.dumps(manifest))
    _refused(path, MANIFEST, f"unknown dataset {str(dataset)!r}; known: .*'digits'")


# --- what the writers produce still loads ---------------------------------------------------

def _diverging_training_zoo():
    """Two models trained by the trainer, the second with a learning rate that diverges."""
    from hyperreps.architecture import zoo_cnn_layout
    from hyperreps.data import SplitData
    from hyperreps.trainer.loop import train_population
    from hyperreps.trainer.specs import ModelSpec, TrainSettings
    from hyperreps.zoo import Zoo, metadata_table

    g = torch.Generator().manual_seed(0)
    data = SplitData(torch.randn(20, 1, 28, 28, generator=g), torch.randint(0, 10, (20,),
                                                                           generator=g))
    specs = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3),
             ModelSpec(seed=2, init="normal", lr=1e30)]
    layout = zoo_cnn_layout(1)
    res = train_population(specs, TrainSettings(optimizer="sgd", epochs=3, activation="relu",
                                                batch_size=10), data, {}, layout)
    assert res.diverged_epoch.tolist()[0] == -1 and res.diverged_epoch[1] >= 1
    rows = [dict(model_id=i, seed=s.seed, activation="relu", init=s.init, optimizer="sgd",
                 lr=s.lr, weight_decay=0.0, dropout=0.0, batch_size=10)
            for i, s in enumerate(specs)]
    return Zoo(res.weights.float(), metadata_table(rows, res.metrics, res.diverged_epoch),
               layout, "digits", {"model_ids": [0, 1]})


def _imported_raytune_zoo(root):
    from hyperreps.importers.raytune import import_raytune_zoo
    from helpers import write_raytune_model

    write_raytune_model(root, "m0", 1)
    write_raytune_model(root, "m1", 2, nan_from=1)
    return import_raytune_zoo(root, "mnist")


def _population_zoo():
    from hyperreps.architecture import zoo_cnn_layout
    from hyperreps.generative.populations import population_zoo

    layout = zoo_cnn_layout(1)
    w = torch.randn(3, layout.n_params)
    w[1, 0], w[2, 7] = float("nan"), float("inf")  # as decoded: partly non-finite
    return population_zoo(w, "S_KDE", layout, "digits", "tanh")


def _imported_small_cnn_zoo(root):
    from hyperreps.architecture import get_architecture
    from hyperreps.importers.small_cnn_zoo import import_small_cnn_zoo
    from hyperreps.importers.small_cnn_zoo_archive import write_small_cnn_zoo

    layout = get_architecture("unterthiner_cnn").layout
    steps = [0, 1, 3, 20]
    w = np.random.default_rng(0).standard_normal((2 * len(steps), layout.n_params))
    w = w.astype(np.float32) * 0.1
    w[len(steps) + 2, 9] = np.nan  # run 1 turns non-finite at step 3
    metrics = pd.DataFrame([{"config.activation": "relu", "config.learning_rate": 0.01,
                             "config.random_seed": run, "modeldir": f"run_{run}", "step": s,
                             "test_accuracy": 0.5, "test_loss": 1.0, "train_accuracy": 0.5,
                             "train_loss": 1.0} for run in range(2) for s in steps])
    write_small_cnn_zoo(root, w, metrics, layout)
    return import_small_cnn_zoo(root, "small_cnn_mnist")


def _imported_checkpoint_folder(root):
    from hyperreps.architecture import SingleModel, get_architecture
    from hyperreps.importers.checkpoint_folder import import_checkpoint_folder

    arch = get_architecture("unterthiner_cnn")
    for m in range(2):
        for e in (0, 4, 8):
            torch.manual_seed(10 * m + e)
            state = SingleModel(arch, "relu").state_dict()
            if m == 1 and e == 4:
                state["conv1.weight"][0, 0, 0, 0] = float("inf")
            (root / f"run{m}").mkdir(exist_ok=True)
            torch.save(state, root / f"run{m}" / f"epoch_{e}.pt")
    return import_checkpoint_folder(root, "run{model}/epoch_{epoch}.pt", "digits", arch.layout,
                                    "relu")


@pytest.mark.parametrize("writer, diverged", [
    (lambda root: make_zoo(n_models=3, diverged=[1]), [False, True, False]),
    (lambda root: _diverging_training_zoo(), [False, True]),
    (_imported_raytune_zoo, [False, True]),
    (lambda root: _population_zoo(), [False, True, True]),
    (_imported_small_cnn_zoo, [False, True]),
    (_imported_checkpoint_folder, [False, True]),
], ids=["make_zoo", "trainer", "raytune_import", "population", "small_cnn_zoo_import",
        "checkpoint_folder_import"])
def test_every_writer_s_zoo_with_diverged_models_still_loads(tmp_path, writer, diverged):
    (tmp_path / "source").mkdir()
    zoo = writer(tmp_path / "source")
    back = load_zoo(save_zoo(tmp_path / "z", zoo))
    assert back.models()["diverged"].tolist() == diverged
    assert torch.equal(torch.nan_to_num(back.weights, 7.0, 8.0, 9.0),
                       torch.nan_to_num(zoo.weights.float(), 7.0, 8.0, 9.0))
