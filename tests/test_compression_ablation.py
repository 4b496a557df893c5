"""2021 compression-ratio ablation (Table 5) and per-class F-score targets."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from hyperreps.representation.compression_ablation import (ablation_autoencoder_config,
                                                           ablation_row, ablation_table,
                                                           latent_width, ratio_name)
from hyperreps.config.checks import validate_config
from hyperreps.config.queries import autoencoder_config
from hyperreps.config.schema import ConfigError
from hyperreps.representation.embeddings import checkpoint_properties
from hyperreps.representation.probes import class_f_scores
from helpers import make_zoo


def test_class_f_scores_equal_sklearns_per_model():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 50)
    pred = rng.integers(0, 4, (3, 7, 50))
    pred[0, 0] = 0  # classes never predicted: F1 0, as zero_division=0
    got = class_f_scores(pred, labels, 4)
    assert got.shape == (3, 7, 4)
    for i in range(3):
        for j in range(7):
            want = f1_score(labels, pred[i, j], labels=range(4), average=None, zero_division=0)
            np.testing.assert_allclose(got[i, j], want)


def test_f_scores_become_probe_targets():
    zoo = make_zoo(n_models=2, n_epochs=3)
    f = np.random.default_rng(1).uniform(size=(2, 3, 4))
    props, categorical = checkpoint_properties(zoo, f)
    assert [k for k in props if k.startswith("f_c")] == ["f_c0", "f_c1", "f_c2", "f_c3"]
    np.testing.assert_array_equal(props["f_c2"], f[..., 2])
    assert "f_c0" not in categorical
    assert not any(k.startswith("f_c") for k in checkpoint_properties(zoo)[0])


def _ae(**over):
    c = validate_config({"zoos": {"t": {"dataset": "tetris"}},
                         "autoencoder": {"training": {"beta": 0.5}}, **over})
    return c, autoencoder_config(c, "t")


@pytest.mark.parametrize("objective,beta,select", [("E_c", 0.0, "last"), ("ED", 1.0, "best_val"),
                                                    ("E_cD", 0.5, "best_val")])
def test_each_objective_sets_beta_and_the_ratio_the_code_width(objective, beta, select):
    _, ae = _ae()
    out = ablation_autoencoder_config(ae, objective, 3, 100)
    assert out["training"]["beta"] == beta and out["training"]["select"] == select
    assert out["architecture"]["latent_dim"] == 33 and ae["architecture"]["latent_dim"] == 700
    assert out["architecture"]["d_model"] == ae["architecture"]["d_model"]
    assert latent_width(100, 2) == 50 and latent_width(100, 5) == 20
    assert ratio_name(2.0) == "2" and ratio_name(2.5) == "2.5"


def test_table5_rows_in_the_papers_order_with_rec_undefined_for_e_c():
    summary = pd.DataFrame({"E": [90.0, 80.0, 70.0, 60.0]},
                           index=["epoch", "test_acc", "ggap", "f_c0"])
    rows = [ablation_row(o, c, int(100 / c), 0.9, summary, "E")
            for o in ("E_cD", "E_c", "ED") for c in (5, 2)]
    table = ablation_table(rows)
    assert list(zip(table.objective, table.c)) == [("E_c", 2), ("E_c", 5), ("ED", 2), ("ED", 5),
                                                  ("E_cD", 2), ("E_cD", 5)]
    assert np.isnan(table.REC[0]) and table.REC[2] == pytest.approx(90.0)
    assert list(table.columns[3:]) == ["REC", "EPH", "ACC", "GGAP", "F_C0"]


@pytest.mark.parametrize("over,key", [
    ({"compression_ablation": {"zoo": "x"}}, "compression_ablation.zoo"),
    ({"probes": {"class_f_scores": ["x"]}}, "probes.class_f_scores.0"),
    ({"compression_ablation": {"zoo": "t", "ratios": [0.5]}}, "compression_ablation.ratios.0"),
])
def test_bad_ablation_config_names_the_key(over, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        _ae(**over)


@pytest.mark.parametrize("entry,key", [
    ({"autoencoder": "x", "zoos": ["t"]}, "probe_transfer.0.autoencoder"),
    ({"autoencoder": "t", "zoos": ["x"]}, "probe_transfer.0.zoos.0"),
    ({"autoencoder": "t", "zoos": ["d"]}, "probe_transfer.0.zoos.0"),  # another architecture
])
def test_bad_probe_transfer_config_names_the_key(entry, key):
    cfg = {"zoos": {"t": {"dataset": "tetris"}, "d": {"dataset": "digits"}},
           "probe_transfer": [entry]}
    with pytest.raises(ConfigError, match=f"'{key}"):
        validate_config(cfg)
