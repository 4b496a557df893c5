from pathlib import Path

import pytest
import yaml

from hyperreps.config import ConfigError, expand_models, load_config, plan_shards, validate_config
from hyperreps.data import DATASETS

ROOT = Path(__file__).resolve().parents[1]


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
    ({**cfg(), "autoencoder": {"training": {"select": "best_train"}}}, "autoencoder.training.select"),
    ({**cfg(), "autoencoder": {"training": {"reconstruction_target": "noisy"}}},
     "autoencoder.training.reconstruction_target"),
    ({**cfg(), "generative": {"noise_match": "N_avg"}}, "generative.noise_match"),
    ({**cfg(), "generative": {"noise_match": "S_KDE30", "populations": ["S_KDE30"]}},
     "generative.noise_match"),
])
def test_bad_config_names_the_key(bad, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate_config(bad)


def test_defaults_are_filled():
    c = validate_config(cfg())
    z = c["zoos"]["z"]
    assert z["epochs"] == 50 and z["batch_size"] == 10 and z["seeds"] == {"first": 1, "count": 1000, "random": False}
    assert c["data"]["root"] == "data" and c["device"] == "auto"


def test_dataset_defaults_are_the_papers():
    m = expand_models(validate_config({"zoos": {"z": {"dataset": "svhn", "seeds": {"count": 2}}}})["zoos"]["z"])
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


def test_shards_share_activation_and_optimizer():
    z = validate_config(cfg(seeds={"count": 3}, shard_size=4, hyperparameters={
        "activation": ["tanh", "relu"], "lr": [1e-3, 1e-4], "optimizer": ["adam", "sgd"]}))["zoos"]["z"]
    models = {m["model_id"]: m for m in expand_models(z)}
    shards = plan_shards(z)
    assert sorted(i for s in shards for i in s.model_ids) == list(range(24))
    for s in shards:
        assert len(s.model_ids) <= 4
        assert len({(models[i]["activation"], models[i]["optimizer"]) for i in s.model_ids}) == 1
