"""Linear probes (ridge and logistic) on embeddings and weight statistics, their tables,
and probe transfer to other zoos."""

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from hyperreps.architecture import zoo_cnn_layout
from hyperreps.layout import Layer, ParameterLayout
from hyperreps.representation.probes import (LOGISTIC_CS, RIDGE_ALPHAS, ProbeResult, layer_slices,
                                             logistic_probe, probe_summary, probe_table,
                                             ridge_probe, run_probes, weight_statistics)

SIZES = {"train": 200, "val": 100, "test": 100}
CLASSES = np.array(["relu", "tanh", "gelu"])


@pytest.fixture(autouse=True)
def single_threaded_blas():
    # the matrices here are tiny: BLAS threads only add overhead, a lot of it on a busy machine
    with threadpool_limits(1):
        yield


def linear_data(seed=0, d=10, noise=0.1, sizes=SIZES):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    X = {s: rng.normal(size=(n, d)) for s, n in sizes.items()}
    y = {s: X[s] @ w + noise * rng.normal(size=len(X[s])) for s in X}
    return X, y


def class_labels(X, seed=0):
    W = np.random.default_rng(seed + 100).normal(size=(X["train"].shape[1], len(CLASSES)))
    return {s: CLASSES[np.argmax(x @ W, axis=1)] for s, x in X.items()}


def test_ridge_alpha_grid_is_the_reference_one():
    assert RIDGE_ALPHAS == (1e3, 3e2, 1e2, 3e1, 1e1, 3e0, 1e0, 3e-1, 1e-1, 3e-2, 1e-2, 3e-3, 1e-3,
                            3e-4, 1e-4, 3e-5, 1e-5)
    assert LOGISTIC_CS[0] == 1e-3 and LOGISTIC_CS[-1] == 1e3


def test_ridge_probe_recovers_a_linear_target_and_metrics_match_scipy_and_sklearn():
    X, y = linear_data()
    alpha, m = ridge_probe(X, y)
    assert alpha in RIDGE_ALPHAS
    for s in ("train", "val", "test"):
        assert m[s]["r2"] > 0.9 and m[s]["kendall_tau"] > 0.8 and m[s]["n"] == SIZES[s]
    model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(X["train"], y["train"])
    pred = model.predict(X["test"])
    tau = kendalltau(y["test"], pred).statistic
    assert m["test"]["kendall_tau"] == pytest.approx(tau, abs=1e-12)
    assert m["test"]["r2"] == pytest.approx(r2_score(y["test"], pred), abs=1e-12)


def test_ridge_probe_on_a_random_target_explains_nothing():
    X, _ = linear_data(seed=1)
    rng = np.random.default_rng(2)
    y = {s: rng.normal(size=len(x)) for s, x in X.items()}
    _, m = ridge_probe(X, y)
    assert m["test"]["r2"] < 0.1 and abs(m["test"]["kendall_tau"]) < 0.2


def per_alpha_r2(X, y, split):
    scores = []
    for a in RIDGE_ALPHAS:
        model = make_pipeline(StandardScaler(), Ridge(alpha=a)).fit(X["train"], y["train"])
        scores.append(r2_score(y[split], model.predict(X[split])))
    return np.array(scores)


def test_ridge_penalty_is_chosen_on_validation_only():
    # Few rows, many features: the penalty matters. val follows the train relation, test does not,
    # so test alone would favour heavy shrinkage.
    X, y = linear_data(seed=3, d=30, noise=1.0, sizes={"train": 40, "val": 60, "test": 60})
    y["test"] = np.random.default_rng(4).normal(size=60)
    val_r2, test_r2 = per_alpha_r2(X, y, "val"), per_alpha_r2(X, y, "test")
    alpha, m = ridge_probe(X, y)
    chosen = RIDGE_ALPHAS.index(alpha)
    assert val_r2[chosen] == pytest.approx(val_r2.max(), abs=1e-12)
    assert test_r2[chosen] < test_r2.max() - 0.05  # the test split would have picked another alpha
    # with val and test swapped, the probe follows the new validation split
    swapped_alpha, _ = ridge_probe({**X, "val": X["test"], "test": X["val"]},
                                   {**y, "val": y["test"], "test": y["val"]})
    assert test_r2[RIDGE_ALPHAS.index(swapped_alpha)] == pytest.approx(test_r2.max(), abs=1e-12)
    rng = np.random.default_rng(5)
    for n_test in (1, 17, 60):  # whatever the test split holds, choice and train/val numbers stay
        X2 = {**X, "test": rng.normal(size=(n_test, 30)) * 10}
        y2 = {**y, "test": rng.normal(size=n_test) + 3}
        alpha2, m2 = ridge_probe(X2, y2)
        assert alpha2 == alpha and m2["train"] == m["train"] and m2["val"] == m["val"]


def test_logistic_probe_classifies_string_labels_and_ignores_test_for_C():
    X, _ = linear_data(seed=6)
    y = class_labels(X)
    C, m = logistic_probe(X, y)
    assert C in LOGISTIC_CS
    assert all(m[s]["accuracy"] > 0.9 and m[s]["n"] == SIZES[s] for s in m)
    rng = np.random.default_rng(7)
    y_flipped = {**y, "test": rng.permutation(CLASSES[rng.integers(0, 3, 100)])}
    X_noise = {**X, "test": rng.normal(size=(100, 10))}
    C2, m2 = logistic_probe(X_noise, y_flipped)
    assert C2 == C and m2["train"] == m["train"] and m2["val"] == m["val"]
    assert m2["test"]["accuracy"] < 0.6


def test_non_finite_rows_are_dropped_and_counted():
    X, y = linear_data(seed=8)
    labels = {s: t.astype(object) for s, t in class_labels(X).items()}
    X = {s: x.copy() for s, x in X.items()}
    y = {s: t.copy() for s, t in y.items()}
    X["train"][3, 0] = np.nan
    X["train"][4, 2] = np.inf
    y["train"][[4, 5]] = [np.nan, -np.inf]  # row 4 is bad twice
    y["val"][1] = np.nan
    X["test"][[0, 9]] = np.inf
    alpha, m = ridge_probe(X, y)
    assert (m["train"]["n"], m["val"]["n"], m["test"]["n"]) == (197, 99, 98)
    dropped = {"train": [3, 4, 5], "val": [1], "test": [0, 9]}
    keep = {s: np.setdiff1d(np.arange(SIZES[s]), rows) for s, rows in dropped.items()}
    clean = ridge_probe({s: X[s][k] for s, k in keep.items()},
                        {s: y[s][k] for s, k in keep.items()})
    assert (alpha, m) == clean

    labels["val"][[2, 3]] = None
    _, mc = logistic_probe(X, labels)
    assert (mc["train"]["n"], mc["val"]["n"], mc["test"]["n"]) == (198, 98, 98)


def test_run_probes_skips_constant_properties():
    X, y = linear_data(seed=9)
    X_noise = {s: np.random.default_rng(10).normal(size=x.shape) for s, x in X.items()}
    features = {"W": X, "noise": X_noise}
    properties = {
        "test_acc": y,
        # constant in train, varying elsewhere: skipped
        "dropout": {"train": np.full(200, 0.1), "val": np.linspace(0, 0.5, 100),
                    "test": np.full(100, 0.2)},
        "activation": {"train": np.full(200, "relu"), "val": np.full(100, "tanh"),
                       "test": np.full(100, "relu")},
        "optimizer": {s: np.where(t > np.median(y["train"]), "adam", "sgd") for s, t in y.items()},
        # a single finite value in train: skipped too
        "lr": {"train": np.r_[np.full(199, np.nan), 1e-3], "val": np.full(100, 1e-3),
               "test": np.full(100, 1e-2)},
    }
    results = run_probes(features, properties, categorical={"activation", "optimizer"})
    assert results.skipped == ["dropout", "activation", "lr"]
    assert [(r.feature_set, r.prop, r.kind) for r in results] == [
        ("W", "test_acc", "regression"), ("noise", "test_acc", "regression"),
        ("W", "optimizer", "classification"), ("noise", "optimizer", "classification")]
    assert all(isinstance(r, ProbeResult) for r in results)
    by = {(r.feature_set, r.prop): r for r in results}
    assert by["W", "test_acc"].test["r2"] > 0.9 and by["noise", "test_acc"].test["r2"] < 0.1
    assert by["W", "optimizer"].test["accuracy"] > 0.8


def test_probe_table_and_summary():
    X, y = linear_data(seed=11)
    features = {"W": X, "s(W)": {s: x[:, :3] for s, x in X.items()}}
    properties = {"test_acc": y, "activation": class_labels(X),
                  "epoch": {s: np.zeros(len(t)) for s, t in y.items()}}
    results = run_probes(features, properties, categorical={"activation"})
    table = probe_table(results)
    assert list(table.columns[:4]) == ["feature_set", "property", "kind", "penalty"]
    assert {"train_r2", "val_kendall_tau", "test_accuracy", "test_n"} <= set(table.columns)
    assert len(table) == 4 and table.attrs["skipped"] == ["epoch"]
    reg = table[table["kind"] == "regression"]
    assert reg["test_accuracy"].isna().all() and reg["test_r2"].notna().all()

    summary = probe_summary(results)
    assert list(summary.index) == ["test_acc", "activation"]
    assert list(summary.columns) == ["metric", "W", "s(W)", "τ W", "τ s(W)"]
    by = {(r.feature_set, r.prop): r for r in results}
    assert summary.loc["test_acc", "W"] == pytest.approx(100 * by["W", "test_acc"].test["r2"])
    acc = by["s(W)", "activation"].test["accuracy"]
    assert summary.loc["activation", "s(W)"] == pytest.approx(100 * acc)
    tau = by["s(W)", "test_acc"].test["kendall_tau"]
    assert summary.loc["test_acc", "τ s(W)"] == pytest.approx(tau)
    assert np.isnan(summary.loc["activation", "τ W"])
    assert list(summary["metric"]) == ["R² %", "acc %"]
    assert probe_summary(results, split="val").loc["test_acc", "W"] == pytest.approx(
        100 * by["W", "test_acc"].val["r2"])

    nothing = run_probes(features, {"epoch": properties["epoch"]}, categorical=set())
    assert list(nothing) == [] and nothing.skipped == ["epoch"]
    assert probe_table(nothing).empty and probe_summary(nothing).empty
    assert probe_summary(nothing).attrs["skipped"] == ["epoch"]


def test_weight_statistics_on_a_two_layer_example():
    layout = ParameterLayout([Layer("a", "linear", 3, 2), Layer("b", "linear", 2, 1)])  # 6+2, 2+1
    slices = layer_slices(layout)
    assert slices == [(slice(0, 6), slice(6, 8)), (slice(8, 10), slice(10, 11))]
    flat = np.random.default_rng(12).normal(size=(4, layout.n_params))
    flat[0, :6] = [1, 2, 3, 4, 5, 6]
    stats = weight_statistics(flat, slices)
    assert stats.shape == (4, 28)
    expected = []
    for row in flat:
        feats = []
        for part in (row[0:6], row[6:8], row[8:10], row[10:11]):
            feats += [part.mean(), part.var(), *np.percentile(part, [1, 25, 50, 75, 99])]
        expected.append(feats)
    np.testing.assert_allclose(stats, np.array(expected), rtol=1e-12)
    np.testing.assert_allclose(stats[0, :7], [3.5, 35 / 12, 1.05, 2.25, 3.5, 4.75, 5.95])
    # layer b has a single bias: its mean is that bias, its variance 0
    assert np.all(stats[:, 21] == flat[:, 10]) and np.all(stats[:, 22] == 0)
    zoo = zoo_cnn_layout(1)
    assert weight_statistics(np.zeros((2, zoo.n_params)), layer_slices(zoo)).shape == (2, 70)


def test_probe_transfer_evaluates_on_other_zoos_with_the_source_probe():
    from hyperreps.representation.probes import probe_transfer
    rng = np.random.default_rng(0)
    w = rng.normal(size=5)
    X = {s: rng.normal(size=(n, 5)) for s, n in (("train", 80), ("val", 30), ("test", 30),
                                                  ("other", 40))}
    X["other"][:, 0] += 3.0  # shifted inputs: the same linear law still holds
    y = {s: x @ w for s, x in X.items()}
    props = {"test_acc": y, "epoch": {s: v * 0 + np.arange(len(v)) % 3 for s, v in y.items()},
             "ggap": {s: rng.normal(size=len(v)) for s, v in y.items()}}
    table, preds = probe_transfer({"E": X}, props)
    assert set(table.evaluated_on) == {"test", "other"}
    acc = table[(table.property == "test_acc")].set_index("evaluated_on")
    assert acc.loc["test", "r2"] > 0.99 and acc.loc["other", "r2"] > 0.99
    true, pred = preds["test_acc", "E", "other"]
    np.testing.assert_allclose(true, y["other"])
    assert len(pred) == 40
