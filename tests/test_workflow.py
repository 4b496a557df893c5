"""The Snakemake workflow end to end on a tiny config (trained + imported zoo)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from hyperreps.autoencoder import load_autoencoder
from hyperreps.config import load_config, plan_shards
from hyperreps.embeddings import load_embeddings
from hyperreps.zoo import load_zoo
from test_importers import write_model

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def snakemake(args, cwd, timeout=600):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("wf")
    write_model(work / "raytune", "model_a", 1)
    write_model(work / "raytune", "model_b", 2)
    cfg = {"device": "cpu",
           "autoencoder": {"window": {"first": 1, "last": 2},
                           "architecture": {"d_model": 8, "n_layers": 1, "n_heads": 2,
                                            "d_ff": 16, "latent_dim": 4, "projection_layers": 1,
                                            "projection_width": 8, "projection_dim": 4},
                           "training": {"epochs": 2, "batch_size": 4, "eval_every": 1}},
           "generative": {"n_models": 2, "finetune_epochs": 1, "statistics_epochs": [0, 1],
                          "populations": ["S_U", "S_KDE", "S_KDE30", "S_KDE30_ref", "B_KDE30",
                                          "N_noise", "N_avg", "B_F"],
                          "noise_match": "S_KDE30",
                          "ensembles": {"max_size": 2, "draws": 2}},
           "zoos": {"tiny": {"dataset": "digits", "seeds": {"first": 1, "count": 6},
                             "epochs": 2, "shard_size": 3},
                    "imported": {"dataset": "mnist", "import_from": str(work / "raytune"),
                                 "autoencoder": {"enabled": False}}}}
    (work / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    r = snakemake(["--cores", "2", "--configfile", "tiny.yaml", "--directory", str(work)], work)
    assert r.returncode == 0, r.stderr[-3000:]
    return work, r


@pytest.mark.slow
def test_tiny_config_builds_zoo_split_and_figure(tiny_run):
    work, r = tiny_run
    zoo = load_zoo(work / "results/zoos/tiny/zoo")
    assert zoo.n_models == 6 and zoo.n_epochs == 3
    assert len(list((work / "results/zoos/tiny/shards").iterdir())) == 2
    split = json.loads((work / "results/zoos/tiny/split.json").read_text())
    assert sum(len(split[k]) for k in ("train", "val", "test")) == 6
    assert (work / "results/figures/zoo_tiny_accuracy.png").stat().st_size > 10_000
    assert load_zoo(work / "results/zoos/imported/zoo").n_models == 2
    assert (work / "results/figures/zoo_imported_accuracy.png").exists()
    assert "train_zoo_shard" in r.stderr and "import_zoo" in r.stderr
    for z in ("tiny", "imported"):  # diagnostics for every zoo, with or without autoencoder
        diag = json.loads((work / f"results/zoos/{z}/diagnostics.json").read_text())
        assert diag["summary"]["n_models"] > 0
        assert (work / f"results/figures/zoo_{z}_diagnostics.png").stat().st_size > 10_000
        assert "PCA ceiling" in (work / f"results/tables/zoo_diagnostics_{z}.md").read_text()


@pytest.mark.slow
def test_tiny_config_trains_both_autoencoders_embeds_and_probes(tiny_run):
    work, r = tiny_run
    for variant in ("lwln", "baseline"):
        model, info, _ = load_autoencoder(work / f"results/autoencoders/tiny/{variant}/model")
        assert info["variant"] == variant and info["window"] == [1, 2]
        emb = load_embeddings(work / f"results/autoencoders/tiny/{variant}/embeddings.safetensors",
                              load_zoo(work / "results/zoos/tiny/zoo"))
        assert emb.z.shape == (6, 3, 4) and torch.isfinite(emb.z).all()
    table = pd.read_csv(work / "results/tables/reconstruction_tiny.csv")
    assert table["population"].tolist() == ["original", "lwln", "baseline"]
    assert (table["code_width"].iloc[1:] == 4).all() and table["pca_ceiling"].iloc[1:].notna().all()
    assert table["acc_mean"].notna().all()
    probes = pd.read_csv(work / "results/tables/probes_tiny.csv")
    assert set(probes["property"]) == {"test_acc", "epoch", "ggap"}
    assert {"W", "s(W)", "lwln", "baseline"} <= set(probes.columns)
    for f in ("probes_tiny.md", "probes_tiny.tex", "reconstruction_tiny.tex"):
        assert (work / "results/tables" / f).stat().st_size > 100
    for f in ("reconstruction_tiny_layers.png", "embeddings_tiny_geometry.png"):
        assert (work / "results/figures" / f).stat().st_size > 10_000
    assert not (work / "results/autoencoders/imported").exists()  # autoencoder: enabled: false


@pytest.mark.slow
def test_tiny_config_samples_finetunes_and_writes_the_paper_tables(tiny_run):
    work, _ = tiny_run
    acc = pd.read_csv(work / "results/finetune/tiny/tiny/accuracy.csv")
    pops = ["S_U", "S_KDE", "S_KDE30", "S_KDE30_ref", "B_KDE30", "N_noise", "N_avg", "B_F"]
    assert set(acc["population"]) == set(pops) | {"B_T"}
    assert set(acc.loc[acc["population"] != "B_T", "epoch"]) == {0, 1}
    table1 = pd.read_csv(work / "results/tables/table1_in_dataset.csv")
    assert table1["population"].tolist() == pops + ["B_T"]
    assert {"epoch 0", "epoch 1", "nn_distance", "nn_agreement"} <= set(table1.columns)
    mwu = pd.read_csv(work / "results/tables/tables11_13_mwu_cles.csv")
    assert set(mwu["reference"]) <= {"B_T", "B_F", "N_noise", "N_avg"} and len(mwu) > 0
    vs_noise = mwu[mwu["reference"] == "N_noise"]
    assert set(vs_noise["population"]) == {"S_U", "S_KDE", "S_KDE30", "S_KDE30_ref", "B_KDE30"}
    assert (work / "results/finetune/tiny/tiny/ensembles.csv").exists()
    assert any((work / "results/figures/generative").glob("sampler_comparison_*.png"))


@pytest.mark.slow
def test_rerun_does_nothing(tiny_run):
    work, _ = tiny_run
    r = snakemake(["--cores", "2", "--configfile", "tiny.yaml", "--directory", str(work)], work)
    assert r.returncode == 0 and "Nothing to be done" in r.stderr


def test_bad_config_fails_before_any_job(tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(
        {"zoos": {"z": {"dataset": "digits", "epochs": "many"}}}))
    r = snakemake(["--cores", "1", "--configfile", "bad.yaml", "--directory", str(tmp_path)],
                  tmp_path)
    assert r.returncode != 0 and "zoos.z.epochs" in r.stderr
    assert not (tmp_path / "results").exists()


def test_paper_config_dry_run_lists_every_shard(tmp_path):
    r = snakemake(["-n", "--directory", str(tmp_path), "--configfile",
                   str(ROOT / "config" / "config.yaml")], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    zoos = load_config(ROOT / "config" / "config.yaml")["zoos"]
    expected = sum(len(plan_shards(z)) for z in zoos.values())
    m = re.search(r"^train_zoo_shard\s+(\d+)$", r.stdout + r.stderr, re.M)
    assert m and int(m.group(1)) == expected


def test_lint_is_clean():
    r = subprocess.run(SNAKEMAKE + ["--lint", "--configfile", str(ROOT / "config/demo.yaml")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
