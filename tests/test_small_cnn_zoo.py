"""Unterthiner et al.'s Small CNN Zoo format (hyperreps.importers.small_cnn_zoo): an
archive written in
exactly the format (bias first, TF kernel order, irregular steps) reads back into our layout,
and the models, evaluated by the pipeline, reproduce the accuracies stored with them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hyperreps.architecture import get_architecture
from hyperreps.importers.errors import ZooImportError
from hyperreps.importers.small_cnn_zoo import read_runs, to_layout
from hyperreps.importers.small_cnn_zoo_archive import (from_layout, standard_layout,
                                                       write_small_cnn_zoo)
from hyperreps.importers.small_cnn_zoo_files import (LAYOUT_FILE, METRICS_FILE, WEIGHTS_FILE,
                                                     read_layout)
from hyperreps.trainer.evaluate import evaluate_weights
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings

LAYOUT = get_architecture("unterthiner_cnn").layout
STEPS = [0, 1, 3]


def test_standard_layout_is_the_format_s_columns():
    v = standard_layout(LAYOUT)
    # conv1 0:160, conv2 160:2480, conv3 2480:4800, dense 4800:4970; bias first in each
    assert [(x.start, x.end) for x in v[::2]] == [(0, 16), (160, 176), (2480, 2496),
                                                  (4800, 4810)]
    assert v[1].shape == (3, 3, 1, 16) and v[-1].shape == (16, 10)
    w = np.random.default_rng(0).standard_normal((4, LAYOUT.n_params)).astype(np.float32)
    np.testing.assert_array_equal(to_layout(from_layout(w, v, LAYOUT), v, LAYOUT), w)


@pytest.fixture(scope="module")
def archive(tmp_path_factory, digits, small_digits):
    """Three trained runs of the Unterthiner CNN, checkpoints at steps 0, 1 and 3 (of 3
    epochs), written as a Small CNN Zoo folder with the accuracies the pipeline measured."""
    res = train_population([ModelSpec(seed=s, lr=0.01, init="kaiming_uniform") for s in range(3)],
                           TrainSettings(epochs=3, activation="relu"), digits.train, {},
                           LAYOUT)
    rows, metrics = [], []
    for run in range(3):
        for step in STEPS:
            w = res.weights[run, step].float()
            loss, acc = evaluate_weights(w[None], "relu", small_digits.test, layout=LAYOUT)
            rows.append(w.numpy())
            metrics.append({"config.activation": "relu", "config.learning_rate": 0.01,
                            "config.random_seed": run, "modeldir": f"run_{run}", "step": step,
                            "test_accuracy": acc[0], "test_loss": loss[0],
                            "train_accuracy": np.nan, "train_loss": np.nan})
    folder = tmp_path_factory.mktemp("small_cnn_zoo") / "digits"
    write_small_cnn_zoo(folder, np.stack(rows), pd.DataFrame(metrics), LAYOUT)
    return folder


def test_imported_models_reproduce_their_recorded_accuracy(archive, small_digits):
    weights, metrics, hyper, steps = read_runs(archive, LAYOUT)
    assert weights.shape == (3, 3, LAYOUT.n_params) and steps == STEPS
    assert [h["activation"] for h in hyper] == ["relu"] * 3
    assert [h["random_seed"] for h in hyper] == [0, 1, 2]
    import torch

    _, acc = evaluate_weights(torch.from_numpy(weights.reshape(-1, LAYOUT.n_params)), "relu",
                              small_digits.test, layout=LAYOUT)
    np.testing.assert_allclose(acc.reshape(3, 3), metrics["test_acc"], atol=1e-6)
    # trained: the last step is better than chance, so a wrong transpose would show
    assert metrics["test_acc"][:, -1].mean() > 0.3


def test_a_transposed_kernel_is_caught_by_the_accuracies(archive, small_digits):
    import torch

    raw = np.load(archive / WEIGHTS_FILE)
    v = read_layout(archive / LAYOUT_FILE)
    wrong = raw.copy()
    k = v[3]  # conv2's kernel read as (out, in, h, w) instead of HWIO
    wrong[:, k.start:k.end] = raw[:, k.start:k.end].reshape(-1, 3, 3, 16, 16) \
        .transpose(0, 4, 3, 1, 2).reshape(len(raw), -1)
    w = to_layout(wrong, v, LAYOUT)
    _, acc = evaluate_weights(torch.from_numpy(w), "relu", small_digits.test, layout=LAYOUT)
    recorded = pd.read_csv(archive / METRICS_FILE)["test_accuracy"].to_numpy()
    assert np.abs(acc - recorded)[2::3].max() > 0.05  # the trained checkpoints disagree


def test_filter_runs_and_steps(archive):
    weights, _, hyper, steps = read_runs(archive, LAYOUT, where={"config.random_seed": [1, 2]},
                                         runs=1, steps=[1, 3])
    assert weights.shape == (1, 2, LAYOUT.n_params) and steps == [1, 3]
    assert hyper[0]["modeldir"] == "run_1"
    with pytest.raises(ZooImportError, match="no row matches"):
        read_runs(archive, LAYOUT, where={"config.activation": "tanh"})
    with pytest.raises(ZooImportError, match="not found"):
        read_runs(archive, LAYOUT, where={"config.nope": 1})
    with pytest.raises(ZooImportError, match="no run has every step"):
        read_runs(archive, LAYOUT, steps=[0, 86])


def test_layout_that_does_not_cover_the_row(archive, tmp_path):
    bad = pd.read_csv(archive / LAYOUT_FILE)
    # conv3's kernel at 2320, as the 2021 authors' index file has it: the row is not tiled
    bad.loc[5, ["start_idx", "end_idx"]] = [2320, 2320 + 2304]
    bad.to_csv(tmp_path / LAYOUT_FILE, index=False)
    with pytest.raises(ZooImportError, match=f"{LAYOUT_FILE}.*starts at 2320"):
        read_layout(tmp_path / LAYOUT_FILE)


def test_weights_rows_must_match_metrics(archive, tmp_path):
    import shutil

    for name in (LAYOUT_FILE, METRICS_FILE):
        shutil.copy(archive / name, tmp_path / name)
    np.save(tmp_path / WEIGHTS_FILE, np.load(archive / WEIGHTS_FILE)[:-1])
    with pytest.raises(ZooImportError, match=f"{WEIGHTS_FILE}.*8 rows.*9"):
        read_runs(tmp_path, LAYOUT)
    np.save(tmp_path / WEIGHTS_FILE, np.array([{"a": 1}], dtype=object))
    with pytest.raises(ZooImportError, match="holds Python objects"):
        read_runs(tmp_path, LAYOUT)


def test_archive_imports_as_a_zoo_with_real_epochs(archive, tmp_path):
    from hyperreps.importers.small_cnn_zoo import import_small_cnn_zoo
    from hyperreps.zoo import load_zoo, save_zoo

    zoo = import_small_cnn_zoo(archive, "digits", steps=[1, 3])
    back = load_zoo(save_zoo(tmp_path / "zoo", zoo))
    assert back.epochs.tolist() == [1, 3] and back.n_models == 3
    models = back.models()
    assert models["activation"].tolist() == ["relu"] * 3
    assert models["lr"].tolist() == [0.01] * 3 and models["seed"].tolist() == [0, 1, 2]
    recorded = pd.read_csv(archive / METRICS_FILE)
    recorded = recorded[recorded.step.isin([1, 3])]["test_accuracy"].to_numpy().reshape(3, 2)
    np.testing.assert_allclose(back.metric("test_acc"), recorded, rtol=1e-6)


def test_non_finite_checkpoint_is_recorded_as_diverged(archive, tmp_path):
    import shutil

    from hyperreps.importers.small_cnn_zoo import import_small_cnn_zoo

    for name in (LAYOUT_FILE, METRICS_FILE):
        shutil.copy(archive / name, tmp_path / name)
    raw = np.load(archive / WEIGHTS_FILE)
    raw[4, 100] = np.nan  # run 1, step 1
    np.save(tmp_path / WEIGHTS_FILE, raw)
    zoo = import_small_cnn_zoo(tmp_path, "digits")
    models = zoo.models()
    assert models["diverged_epoch"].tolist() == [-1, 1, -1]
    assert bool(models["diverged"][1]) and np.isnan(zoo.metric("test_acc")[1, 1:]).all()
    assert torch.isfinite(zoo.weights[1, 0]).all() and torch.isnan(zoo.weights[1, 1:]).all()


def test_small_cnn_datasets_are_the_papers_preprocessing():
    from hyperreps.architecture import get_architecture as arch
    from hyperreps.data import dataset_info
    from hyperreps.dataset_files import prep_gray_mean

    rgb = torch.tensor([[[[0]], [[255]], [[255]]]], dtype=torch.uint8)  # mean 170
    np.testing.assert_allclose(prep_gray_mean(rgb).flatten().item(), 170 / 255 * 2 - 1, rtol=1e-6)
    for name, size in (("small_cnn_mnist", 28), ("small_cnn_fashion_mnist", 28),
                       ("small_cnn_cifar10", 32), ("small_cnn_svhn", 32)):
        info = dataset_info(name)
        assert info.channels == 1 and info.image_size == size
        assert arch(info.architecture).input_shape == (1, size, size)
        assert arch(info.architecture).layout == LAYOUT  # the same weights at either size


def test_a_zoo_written_as_an_archive_imports_back(archive, tmp_path):
    from hyperreps.importers.small_cnn_zoo import import_small_cnn_zoo
    from hyperreps.importers.small_cnn_zoo_archive import zoo_rows

    zoo = import_small_cnn_zoo(archive, "digits")
    weights, metrics = zoo_rows(zoo, steps=[0, 3])
    write_small_cnn_zoo(tmp_path / "again", weights, metrics, LAYOUT)
    back = import_small_cnn_zoo(tmp_path / "again", "digits")
    assert back.epochs.tolist() == [0, 3]
    torch.testing.assert_close(back.weights, zoo.weights[:, [0, 2]])
    np.testing.assert_allclose(back.metric("test_acc"), zoo.metric("test_acc")[:, [0, 2]])
    assert back.models()[["activation", "lr", "seed"]].equals(zoo.models()[["activation", "lr",
                                                                             "seed"]])


def test_the_fields_split_with_its_header_line(tmp_path):
    import random

    from hyperreps.importers.small_cnn_zoo import import_small_cnn_zoo, read_split_order
    from hyperreps.splits import split_models

    rng = np.random.default_rng(0)
    n_runs = 6
    metrics = pd.DataFrame([{"config.activation": "relu", "modeldir": f"run_{r}", "step": s,
                             "test_accuracy": 0.5} for r in range(n_runs) for s in (0, 86)])
    write_small_cnn_zoo(tmp_path / "z", rng.standard_normal((2 * n_runs, LAYOUT.n_params)),
                        metrics, LAYOUT)
    perm = rng.permutation(2 * n_runs)
    # the field's files: a header line "0" that the loaders read as a row index
    (tmp_path / "split.csv").write_text("0\n" + "\n".join(map(str, perm)) + "\n")
    np.testing.assert_array_equal(read_split_order(tmp_path / "split.csv", 2 * n_runs), perm)
    zoo = import_small_cnn_zoo(tmp_path / "z", "digits", split_csv=tmp_path / "split.csv")
    final = [f"run_{i // 2}" for i in perm if i % 2 == 1]  # rows at step 86, in file order
    trainval = list(range(3))
    random.Random(0).shuffle(trainval)
    ids = {f"run_{r}": r for r in range(n_runs)}
    split = split_models(zoo)
    assert split["test"] == sorted(ids[r] for r in final[3:])
    assert split["train"] == sorted(ids[final[i]] for i in trainval[:2])
    assert split["val"] == [ids[final[trainval[2]]]]
    (tmp_path / "bad.csv").write_text("0\n1\n99\n")
    with pytest.raises(ZooImportError, match=r"integer in \[0, 11\]"):
        read_split_order(tmp_path / "bad.csv", 12)


def test_accuracy_check_catches_a_wrong_preprocessing(archive, small_digits):
    from types import SimpleNamespace

    from hyperreps.data import SplitData
    from hyperreps.importers.small_cnn_zoo import accuracy_check, import_small_cnn_zoo

    zoo = import_small_cnn_zoo(archive, "digits")
    same = accuracy_check(zoo, small_digits)
    assert same["n"] == 3 and same["mean_abs_difference"] < 1e-6
    other = SplitData((small_digits.test.x + 1) / 2, small_digits.test.y)  # [0, 1], not [-1, 1]
    assert accuracy_check(zoo, SimpleNamespace(test=other))["mean_abs_difference"] > 0.02
