"""Config validation (every bad key named), defaults, the shipped configs, shard planning
and the input checks run before any job."""

import pytest
import yaml

from hyperreps.config.checks import load_config, validate_config
from hyperreps.config.inputs import check_inputs
from hyperreps.config.plan import expand_models, plan_shards
from hyperreps.config.schema import ConfigError
from hyperreps.data import DATASETS
from helpers import ROOT, write_raytune_model


def cfg(**zoo):
    return {"zoos": {"z": {"dataset": "digits", **zoo}}}


@pytest.mark.parametrize("bad,key", [
    (cfg(epochs="ten"), "zoos.z.epochs"),
    (cfg(dataset="imagenet"), "zoos.z.dataset"),
    (cfg(epoch=3), "zoos.z"),
    (cfg(hyperparameters={"activation": "swish"}), "zoos.z.hyperparameters.activation"),
    ({**cfg(), "device": "tpu"}, "device"),
    ({**cfg(), "split": {"train": 0.5, "val": 0.1, "test": 0.1}}, "split"),
    ({"zoos": {}}, "zoos"),
    ({**cfg(), "autoencoder": {"architecture": {"compression": "average"}}},
     "autoencoder.architecture.compression"),
    ({**cfg(), "autoencoder": {"training": {"select": "best_train"}}},
     "autoencoder.training.select"),
    ({**cfg(), "autoencoder": {"training": {"reconstruction_target": "noisy"}}},
     "autoencoder.training.reconstruction_target"),
    ({**cfg(), "generative": {"noise_match": "N_avg"}}, "generative.noise_match"),
    ({**cfg(), "generative": {"noise_match": "S_KDE30", "populations": ["S_KDE30"]}},
     "generative.noise_match"),
    ({**cfg(), "name": "../elsewhere"}, "name"),
    # numbers have bounds (issue 11): these used to train meaningless zoos with exit 0
    (cfg(hyperparameters={"lr": -0.1}), "zoos.z.hyperparameters.lr"),
    (cfg(hyperparameters={"lr": [0.001, 0.0]}), "zoos.z.hyperparameters.lr.1"),
    (cfg(hyperparameters={"dropout": 1.5}), "zoos.z.hyperparameters.dropout"),
    (cfg(hyperparameters={"weight_decay": -1e-3}), "zoos.z.hyperparameters.weight_decay"),
    (cfg(batch_size=0), "zoos.z.batch_size"),
    ({**cfg(), "autoencoder": {"training": {"lr": 0}}}, "autoencoder.training.lr"),
    ({**cfg(), "autoencoder": {"architecture": {"dropout": 1.0}}},
     "autoencoder.architecture.dropout"),
    ({**cfg(), "autoencoder": {"augment": {"noise": -0.1}}}, "autoencoder.augment.noise"),
    ({**cfg(), "generative": {"noise_std": -1}}, "generative.noise_std"),
    ({**cfg(), "generative": {"kde": {"bandwidth": 0}}}, "generative.kde.bandwidth"),
    ({**cfg(), "generative": {"ensembles": {"populations": ["S_KDE3O"]}}},
     "generative.ensembles.populations.0"),
    ({**cfg(), "generative": {"populations": ["S_KDE30"],
                              "ensembles": {"populations": ["S_KDE30", "B_KDE30"]}}},
     "generative.ensembles.populations.1"),
    ({**cfg(), "generative": {"in_dataset": ["y"]}}, "generative.in_dataset.0"),
    ({**cfg(hyperparameters={"activation": ["tanh", "relu"]}),
      "generative": {"in_dataset": ["z"]}}, "generative.in_dataset.0"),
    ({**cfg(epochs=30), "generative": {"in_dataset": ["z"], "finetune_epochs": 5,
                                       "comparisons": {"in_dataset": [
                                           {"epoch": 6, "reference_epoch": 10}]}}},
     "generative.comparisons.in_dataset.0.epoch"),
    ({**cfg(epochs=30), "generative": {"in_dataset": ["z"], "finetune_epochs": 5,
                                       "comparisons": {"in_dataset": [
                                           {"epoch": 5, "reference_epoch": 31}]}}},
     "generative.comparisons.in_dataset.0.reference_epoch"),
    ({**cfg(), "generative": {"comparisons": {"transfer": [{"epoch": 5}]}}},
     "generative.comparisons.transfer.0"),
    ({**cfg(), "generative": {"gan": {"lr_generator": 0}}}, "generative.gan.lr_generator"),
    ({**cfg(), "generative": {"finetune_epochs": 0}}, "generative.finetune_epochs"),
])
def test_bad_config_names_the_key(bad, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate_config(bad)


def test_defaults_are_filled():
    c = validate_config(cfg())
    z = c["zoos"]["z"]
    assert z["epochs"] == 50 and z["batch_size"] == 10
    assert z["seeds"] == {"first": 1, "count": 1000, "random": False}
    assert c["data"]["root"] == "data" and c["device"] == "auto"


def test_dataset_defaults_are_the_papers():
    c = validate_config({"zoos": {"z": {"dataset": "svhn", "seeds": {"count": 10}}}})
    m = expand_models(c["zoos"]["z"])
    assert m[0] == dict(model_id=0, seed=1, activation="tanh", init="uniform", optimizer="adam",
                        lr=3e-3, weight_decay=0.0, dropout=0.0, batch_size=10)
    assert DATASETS["cifar10"].defaults["activation"] == "gelu"
    assert DATASETS["cifar10"].defaults["init"] == "kaiming_uniform"


def test_schema_dataset_enum_matches_registry():
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    assert set(schema["$defs"]["zoo"]["properties"]["dataset"]["enum"]) == set(DATASETS)


def test_every_shipped_config_validates_and_paper_grids_have_paper_sizes():
    for path in (ROOT / "config").glob("*.yaml"):
        if path.name != "schema.yaml":
            load_config(path)
    paper = load_config(ROOT / "config" / "config.yaml")["zoos"]
    assert len(expand_models(paper["mnist_hyp_1_fix_seed"])) == 1152  # 2021 Table 4
    assert len(expand_models(paper["mnist_hyp_5_fix_seed"])) == 1280
    assert len(expand_models(paper["mnist"])) == 1000
    rand = expand_models(paper["mnist_hyp_1_rand_seed"])
    assert len({m["seed"] for m in rand}) > 1000


def test_the_tiny_end_to_end_config_validates_and_needs_only_the_repository(monkeypatch):
    """config/test/tiny.yaml (the e2e tests' config): valid, and run from the repository root
    its inputs are there (bundled data, the committed config/test/raytune models)."""
    tiny = load_config(ROOT / "config/test/tiny.yaml")
    assert set(tiny["zoos"]) == {"tiny", "imported", "tetris", "scz", "from_checkpoints"}
    assert tiny["zoos"]["imported"]["import_from"] == "config/test/raytune"
    monkeypatch.chdir(ROOT)
    # scz reads the archive the run writes itself
    assert check_inputs(tiny, produced={"results/tiny/small_cnn_zoo/tiny"}) == []


def test_generative_stage_runs_where_the_config_says():
    from hyperreps.config.queries import comparisons, finetune_epochs, transfer_pairs

    grid = {"dataset": "digits", "epochs": 30,
            "hyperparameters": {"activation": ["tanh", "relu"]}}
    c = validate_config({"zoos": {"seed": {"dataset": "digits", "epochs": 30}, "grid": grid}})
    assert transfer_pairs(c) == []  # nothing sampled unless listed
    c = validate_config({"zoos": {"seed": {"dataset": "digits", "epochs": 30}, "grid": grid},
                         "generative": {"in_dataset": ["seed"], "finetune_epochs": 5,
                                        "comparisons": {"in_dataset": [
                                            {"epoch": 5, "reference_epoch": 10}]}}})
    assert transfer_pairs(c) == [("seed", "seed")]
    # the paper config: Table 1's four zoos and the transfer grid; the grid zoos only get
    # autoencoders and probes
    paper = load_config(ROOT / "config" / "config.yaml")
    pairs = transfer_pairs(paper)
    assert [s for s, t in pairs if s == t] == ["mnist", "svhn", "cifar10", "stl10"]
    assert {(s, t) for s, t in pairs if s != t} == {("svhn", "mnist"), ("mnist", "svhn"),
                                                    ("stl10", "cifar10"), ("cifar10", "stl10")}
    sampled = {z for pair in pairs for z in pair}
    assert not sampled & {"svhn_diverse2", "svhn_diverse3", "mnist_hyp_1_fix_seed", "usps"}
    # 25 fine-tuning epochs vs B_T 50 in-dataset, 50 vs 50 in transfer
    assert finetune_epochs(paper, "mnist", "mnist") == 25
    assert finetune_epochs(paper, "svhn", "mnist") == 50
    assert comparisons(paper, "mnist", "mnist") == [{"epoch": 25, "reference_epoch": 50}]
    assert comparisons(paper, "svhn", "mnist") == [{"epoch": 50, "reference_epoch": 50}]


def test_paper_config_follows_the_papers_where_the_reference_disagrees():
    from hyperreps.config.queries import autoencoder_config

    paper = load_config(ROOT / "config" / "config.yaml")
    # 2021 App. D.1: the autoencoder (and the probes) use the checkpoints of all 25 epochs
    for zoo in ("fashion_seed", "mnist_hyp_1_fix_seed", "mnist_hyp_5_rand_seed"):
        assert autoencoder_config(paper, zoo)["window"] == {"first": 1, "last": 25}
    assert autoencoder_config(paper, "mnist")["window"] == {"first": 21, "last": 25}
    # 000 Table 4: USPS is kaiming_uniform, lr 1e-4, weight decay 1e-3
    usps = expand_models(paper["zoos"]["usps"])[0]
    assert (usps["init"], usps["lr"], usps["weight_decay"]) == ("kaiming_uniform", 1e-4, 1e-3)
    assert DATASETS["usps"].defaults["init"] == "kaiming_uniform"


def test_shards_share_activation_and_optimizer():
    z = validate_config(cfg(seeds={"count": 3}, shard_size=4, hyperparameters={
        "activation": ["tanh", "relu"], "lr": [1e-3, 1e-4],
        "optimizer": ["adam", "sgd"]}))["zoos"]["z"]
    models = {m["model_id"]: m for m in expand_models(z)}
    shards = plan_shards(z)
    assert sorted(i for s in shards for i in s.model_ids) == list(range(24))
    for s in shards:
        assert len(s.model_ids) <= 4
        assert len({(models[i]["activation"], models[i]["optimizer"]) for i in s.model_ids}) == 1


def test_inputs_are_checked_before_any_job(tmp_path):
    """Missing datasets, a missing import folder and an import too short for the window are
    named up front (they used to surface only when a job ran)."""
    write_raytune_model(tmp_path / "rt", "m0", 1, epochs=3)  # epochs 0..2
    c = validate_config({
        "data": {"root": str(tmp_path / "no-data")},
        "zoos": {"m": {"dataset": "mnist", "epochs": 30},
                 "gone": {"dataset": "digits", "import_from": str(tmp_path / "absent")},
                 "short": {"dataset": "digits", "import_from": str(tmp_path / "rt")},
                 "quiet": {"dataset": "svhn", "import_from": str(tmp_path / "rt"),
                           "autoencoder": {"enabled": False}}}})
    problems = check_inputs(c)
    assert len(problems) == 3, problems
    assert problems[0].startswith("config key 'zoos.m.dataset': dataset 'mnist' not found")
    assert "How to get it" in problems[0]
    assert problems[1] == f"config key 'zoos.gone.import_from': {tmp_path / 'absent'}: missing"
    assert problems[2] == ("config key 'autoencoder.window': first epoch 21 and last epoch 25 "
                           "but the imported zoo has epochs 0..2 (3 checkpoints in the first "
                           f"model of {tmp_path / 'rt'})")
    # an imported zoo that no job reads data for (no autoencoder, not sampled) needs no dataset
    assert not any("svhn" in p for p in problems)
    assert check_inputs(validate_config({"zoos": {"d": {"dataset": "digits"}}})) == []


def test_small_cnn_zoo_imports_are_checked_before_any_job(tmp_path):
    (tmp_path / "scz").mkdir()
    (tmp_path / "scz" / "layout.csv").write_text("varname,start_idx,end_idx,shape\n")
    source = {"path": str(tmp_path / "scz"), "format": "small_cnn_zoo",
              "where": {"config.activation": "relu"}, "steps": [0, 20, 86]}
    c = validate_config({"zoos": {"s": {"dataset": "digits", "import_from": source}}})
    assert c["zoos"]["s"]["import_from"]["format"] == "small_cnn_zoo"
    problems = check_inputs(c)
    scz = tmp_path / "scz"
    assert problems == [f"config key 'zoos.s.import_from': {scz / 'weights.npy'}: missing; "
                        f"{scz / 'metrics.csv.gz'}: missing (a Small CNN Zoo folder holds the "
                        "regular files weights.npy, metrics.csv.gz, layout.csv)"]
    for name in ("weights.npy", "metrics.csv.gz"):
        (tmp_path / "scz" / name).write_bytes(b"")
    problems = check_inputs(c)  # the paper window 21..25 is not among the steps
    assert problems == ["config key 'autoencoder.window': first epoch 21 and last epoch 25 but "
                        "the imported zoo has the steps [0, 20, 86] of zoos.s.import_from.steps"]
    with pytest.raises(ConfigError, match="import_from"):
        validate_config({"zoos": {"s": {"dataset": "digits",
                                        "import_from": dict(source, format="tfrecord")}}})


def test_audited_models_need_a_frontier_a_free_name_and_their_files(tmp_path):
    def tiny(audit):
        cfg = yaml.safe_load((ROOT / "config/test/tiny.yaml").read_text())
        cfg.setdefault("novelty_frontier", {})["audit"] = audit
        return cfg

    np_path = tmp_path / "mine.npy"
    ok = validate_config(tiny([{"name": "mine", "path": str(np_path), "zoo": "tiny"}]))
    problems = check_inputs(ok)
    assert any("novelty_frontier.audit.0.path" in p and "mine.npy" in p for p in problems)
    np_path.write_bytes(b"")
    assert not any("novelty_frontier.audit" in p for p in check_inputs(ok))
    for audit, key in (([{"name": "mine", "path": "x", "zoo": "imported"}], "audit.0.zoo"),
                       ([{"name": "S_KDE30", "path": "x", "zoo": "tiny"}], "audit.0.name"),
                       ([{"name": "zoo_test", "path": "x", "zoo": "tiny"}], "audit.0.name"),
                       ([{"name": "m", "path": "x", "zoo": "tiny"}] * 2, "audit.1")):
        with pytest.raises(ConfigError, match=f"novelty_frontier.{key}"):
            validate_config(tiny(audit))
