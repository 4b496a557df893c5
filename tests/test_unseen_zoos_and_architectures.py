"""Unseen zoos (2022 Table 3) and unseen architectures (Table 4)."""

import numpy as np
import pandas as pd
import pytest
import torch

from hyperreps.architecture import get_architecture, init_parameters
from hyperreps.autoencoder.model import HyperAutoencoder
from hyperreps.autoencoder.train import decode_latents, encode_weights
from hyperreps.config.checks import validate_config
from hyperreps.config.schema import ConfigError
from hyperreps.generative.finetune import finetune_settings
from hyperreps.generative.unseen_architectures import (GENERATED, RANDOM_INIT, transplant,
                                                       unseen_architecture_accuracy,
                                                       unseen_architecture_run,
                                                       unseen_architecture_table)
from hyperreps.generative.unseen_zoos import samples_for_zoo, unseen_zoo_accuracy, unseen_zoo_table
from helpers import TINY, make_zoo, small_split

CNN = get_architecture("zoo_cnn")


def test_resskip_gets_the_cnn_in_its_main_path_and_keeps_its_branch_init():
    arch = get_architecture("cnn3_resskip")
    w = torch.randn(3, CNN.n_params)
    out = transplant(w, arch, "uniform", [5, 6, 7])
    assert out.shape == (3, arch.n_params)
    named = arch.layout.unflatten(out)
    for name, t in CNN.layout.unflatten(w).items():  # every zoo-CNN tensor, same name and shape
        assert torch.equal(named[name], t)
    init = init_parameters(arch.layout, "uniform", 6)
    assert torch.equal(out[1, CNN.n_params:], init[CNN.n_params:])
    branch = [layer for layer in arch.layout.layers if layer.init]
    assert branch and all(layer.init == "kaiming_uniform" for layer in branch)


@pytest.mark.parametrize("name", ["cnn4", "cnn4_idskip"])
def test_equal_sized_architectures_get_the_vector_redistributed(name):
    arch = get_architecture(name)
    assert arch.n_params == CNN.n_params
    w = torch.randn(2, CNN.n_params)
    assert torch.equal(transplant(w, arch, "uniform", [0, 1]), w)
    with pytest.raises(ValueError, match="fewer"):
        transplant(torch.randn(1, 3000), arch, "uniform", [0])


def test_unseen_architecture_run_trains_both_populations_from_their_starts(digits):
    arch = get_architecture("cnn4")
    gen = torch.stack([init_parameters(CNN.layout, "kaiming_uniform", s) for s in range(2)])
    small = type(digits)(digits.name, small_split(digits.train, 40), digits.val, digits.test)
    hp = finetune_settings(make_zoo(n_models=2))
    run = unseen_architecture_run(gen, arch, hp, small, epochs=1, seed=3)
    assert run.layout == arch.layout
    assert torch.equal(run.weights[:2, 0], gen)
    assert torch.equal(run.weights[2, 0], init_parameters(arch.layout, hp["init"], 3))
    acc = unseen_architecture_accuracy(run)
    assert acc.groupby("population").size().to_dict() == {GENERATED: 4, RANDOM_INIT: 4}


def test_table4_bolds_the_better_population_and_tests_it():
    rows = []
    for pop, base in ((GENERATED, 0.8), (RANDOM_INIT, 0.3)):
        for m in range(6):
            for e in (1, 5):
                rows.append(dict(source="a", target="b", architecture="cnn4", population=pop,
                                 model=m, epoch=e, test_acc=base + 0.01 * m + 0.01 * e,
                                 diverged=False))
    table, stats = unseen_architecture_table(pd.DataFrame(rows), [1, 5])
    gen = table[table.initialization == GENERATED].iloc[0]
    ri = table[table.initialization == RANDOM_INIT].iloc[0]
    assert gen["epoch 1"].startswith("**83.5") and not ri["epoch 1"].startswith("**")
    assert list(stats.epoch) == [1, 5] and (stats["CLES (gen. > r.i.)"] == 1).all()
    assert (stats.p < 0.01).all()


def test_samples_for_an_unseen_zoo_use_its_anchors_and_refuse_another_architecture():
    zoo = make_zoo(n_models=10, n_epochs=3, seed=1)
    split = {"train": list(range(7)), "val": [7], "test": [8, 9]}
    torch.manual_seed(0)  # the model's init: not whatever state earlier tests left behind
    model = HyperAutoencoder(CNN.layout, TINY).eval()
    w, counts = samples_for_zoo(model, zoo, split, (1, 2), 5, 0, {"bandwidth": 0.002})
    assert w.shape == (5, CNN.n_params) and counts["anchors"] == 14
    acc = zoo.metric("test_acc")[:7, 1:3].flatten()
    assert counts["top_anchors"] == int((acc >= np.quantile(acc, 0.7)).sum())
    # decoded from the KDE around the encoded anchors: near the decoded anchors
    z = encode_weights(model, zoo.weights[:7, 1:3].reshape(-1, CNN.n_params))
    ref = decode_latents(model, z)
    assert torch.cdist(w, ref).min(dim=1).values.max() < 0.5 * torch.cdist(ref, ref).max()
    other = HyperAutoencoder(get_architecture("tetris_mlp").layout, TINY).eval()
    with pytest.raises(ValueError, match="another architecture"):
        samples_for_zoo(other, zoo, split, (1, 2), 5, 0, {"bandwidth": 0.002})


def test_table3_reports_mean_and_max_of_models_and_ensembles(digits):
    target = make_zoo(n_models=6, n_epochs=3, seed=2)
    tuned = make_zoo(n_models=4, n_epochs=3, seed=3)
    test = small_split(digits.test, 50)
    models, ens = unseen_zoo_accuracy(tuned, target, {"test": [0, 1, 2]}, test, [0, 2], "tanh",
                                      2, 3, 0)
    assert set(models.population) == {"S_KDE30", "B_T"} and set(models.epoch) == {0, 2}
    assert len(models[models.population == "B_T"]) == 2 * 3
    for t in (models, ens):
        t.insert(0, "target", "b")
        t.insert(0, "source", "a")
    table = unseen_zoo_table(models, ens)
    assert list(table.epoch) == [0, 2]
    s = models[(models.population == "S_KDE30") & (models.epoch == 2)].test_acc
    assert table["one model"].iloc[1] == f"{100 * s.mean():.1f} / {100 * s.max():.1f}"
    assert (table["ensemble size"] == 2).all() and table["n_B_T"].iloc[0] == 3
    e = ens[(ens.population == "B_T") & (ens.epoch == 2)].iloc[0]  # mean and max over draws
    assert table["B_T ensemble"].iloc[1] == (f"{100 * e.accuracy_mean:.1f} / "
                                             f"{100 * e.accuracy_max:.1f}")


def _cfg(**extra):
    zoos = {"a": {"dataset": "digits", "epochs": 50},
            "b": {"dataset": "digits_rot90", "epochs": 50, "autoencoder": {"enabled": False}},
            "t": {"dataset": "tetris", "epochs": 50}}
    return {"zoos": zoos, "autoencoder": {"window": {"first": 1, "last": 5}},
            "generative": {"in_dataset": ["a"]}, **extra}


@pytest.mark.parametrize("extra,key", [
    ({"unseen_zoos": {"pairs": [{"autoencoder": "b", "zoo": "a"}]}},
     "unseen_zoos.pairs.0.autoencoder"),
    ({"unseen_zoos": {"pairs": [{"autoencoder": "a", "zoo": "t"}]}}, "unseen_zoos.pairs.0"),
    ({"unseen_zoos": {"pairs": [{"autoencoder": "a", "zoo": "b"}], "epochs": [0, 51]}},
     "unseen_zoos.epochs"),
    ({"unseen_architectures": {"pairs": [{"source": "b", "target": "a"}]}},
     "unseen_architectures.pairs.0.source"),
    ({"unseen_architectures": {"pairs": [{"source": "a", "target": "b"}],
                               "architectures": ["tetris_mlp"]}},
     "unseen_architectures.architectures.0"),
])
def test_bad_unseen_config_names_the_key(extra, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate_config(_cfg(**extra))


def test_unseen_config_defaults_are_the_papers():
    c = validate_config(_cfg(unseen_architectures={"pairs": [{"source": "a", "target": "b"}]}))
    assert c["unseen_architectures"]["architectures"] == ["cnn3_resskip", "cnn4", "cnn4_idskip"]
    assert c["unseen_architectures"]["epochs"] == [1, 5, 50]
    assert c["unseen_zoos"]["pairs"] == []
