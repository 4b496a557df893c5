"""The Snakemake workflow: end to end on config/test/tiny.yaml (trained + imported zoo), a
hard kill and resume, the 2021 demo (marker demo), and the checks before any job."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
import time

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.config.checks import load_config
from hyperreps.config.plan import plan_shards
from hyperreps.representation.embeddings import load_embeddings
from hyperreps.zoo import load_zoo
from helpers import ROOT, local_snakemake_env
from test_reproducible_cores import threaded_rules

SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
TINY_CONFIG = ROOT / "config/test/tiny.yaml"


def snakemake(args, cwd, timeout=600):
    env = local_snakemake_env()
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """config/test/tiny.yaml run in a fresh folder holding its relative import_from."""
    work = tiny_folder(tmp_path_factory.mktemp("wf"))
    r = snakemake(tiny_args(work), work)
    assert r.returncode == 0, r.stderr[-3000:]
    return work, r


def tiny_folder(work):
    """``work`` with the tiny config's relative import_from folders."""
    for folder in ("raytune", "checkpoints"):
        shutil.copytree(ROOT / "config/test" / folder, work / "config/test" / folder)
    return work


def tiny_args(work):
    # one thread a job (tiny.yaml's `threads: 1`, and Snakemake grants one): the tiny jobs are
    # interpreter start-up more than arithmetic, so two at a time on 2 cores beat one job with
    # two threads
    return ["--cores", "2", "--max-threads", "1", "--configfile", str(TINY_CONFIG),
            "--directory", str(work)]


def results(work):
    """Outputs of the tiny run: results/<config file stem>/ (no `name:` in its config)."""
    return work / "results" / "tiny"


@pytest.mark.e2e
def test_tiny_config_builds_zoo_split_and_figure(tiny_run):
    work, r = tiny_run
    zoo = load_zoo(results(work) / "zoos/tiny/zoo")
    assert zoo.n_models == 6 and zoo.n_epochs == 3
    assert len(list((results(work) / "zoos/tiny/shards").iterdir())) == 2
    split = json.loads((results(work) / "zoos/tiny/split.json").read_text())
    assert sum(len(split[k]) for k in ("train", "val", "test")) == 6
    assert (results(work) / "figures/2021_appfig3_zoo_accuracy_tiny.png").stat().st_size > 10_000
    assert load_zoo(results(work) / "zoos/imported/zoo").n_models == 2
    assert (results(work) / "figures/2021_appfig3_zoo_accuracy_imported.png").exists()
    assert "train_zoo_shard" in r.stderr and "import_zoo" in r.stderr
    report = json.loads((results(work) / "zoos/imported/import_report.json").read_text())
    assert report["imported"] == 2 and report["skipped"] == []
    # a Small CNN Zoo archive the run wrote itself, imported back (relu runs, steps 0 and 2)
    scz = load_zoo(results(work) / "zoos/scz/zoo")
    assert scz.epochs.tolist() == [0, 2] and set(scz.models()["activation"]) == {"tanh"}
    assert scz.layout.architecture == "zoo_cnn" and scz.n_models == 6
    tiny_zoo = load_zoo(results(work) / "zoos/tiny/zoo")
    torch.testing.assert_close(scz.weights, tiny_zoo.weights[:, [0, 2]])
    assert json.loads((results(work) / "zoos/scz/import_report.json").read_text())[
        "accuracy_check"]["mean_abs_difference"] < 1e-6
    # a folder of state dicts: epochs from the file names, accuracy measured on import
    ckpt = load_zoo(results(work) / "zoos/from_checkpoints/zoo")
    assert ckpt.epochs.tolist() == [0, 4] and ckpt.n_models == 3
    assert np.isfinite(ckpt.metric("test_acc")).all()
    # models out as plain PyTorch
    index = json.loads((results(work) / "export/zoos/scz/index.json").read_text())
    assert len(index["models"]) == 6 and index["epoch"] == 2
    # 2 imported models leave the validation split empty: said on the terminal, not only logged
    assert "WARNING: zoo imported: the split leaves 0 models in val" in r.stderr
    tetris = load_zoo(results(work) / "zoos/tetris/zoo")
    assert tetris.layout.architecture == "tetris_mlp" and tetris.layout.n_params == 100
    manifest = json.loads((results(work) / "zoos/tetris/zoo/manifest.json").read_text())
    assert manifest["architecture"] == "tetris_mlp"
    assert np.nanmax(tetris.metadata["test_acc"]) > 0.25  # 4 classes: it learns something
    for z in ("tiny", "tetris"):  # Fig. 3 for every zoo with autoencoders
        rob = pd.read_csv(results(work) / f"tables/2022_fig3_robustness_{z}.csv")
        assert set(rob.variant) == {"lwln", "baseline"} and list(rob.relative_noise[:2]) == [0, 0.1]
        assert (results(work) / f"figures/2022_fig3_robustness_{z}.png").stat().st_size > 10_000
    fig6 = pd.read_csv(results(work) / "tables/2022_fig6_reconstructed_finetuning_tiny.csv")
    assert list(fig6.epoch) == [0, 1] and np.isfinite(fig6.median_distance).all()
    assert (results(work) / "figures/2022_fig6_reconstructed_finetuning_tiny.png").exists()
    t3 = pd.read_csv(results(work) / "tables/2022_table3_unseen_zoos.csv")
    assert list(t3.epoch) == [0, 1] and t3["one model"].str.contains(" / ").all()
    t4 = pd.read_csv(results(work) / "tables/2022_table4_unseen_architectures.csv")
    assert list(t4.initialization) == ["r.i.", "gen."] and set(t4.architecture) == {"cnn3_resskip"}
    assert (results(work) / "figures/2022_table4_unseen_architectures.png").stat().st_size > 10_000
    t5 = pd.read_csv(results(work) / "tables/2021_table5_compression_ablation_tetris.csv")
    assert list(t5.objective) == ["E_c", "E_c", "E_cD", "E_cD", "W", "s(W)"]
    assert list(t5.latent_dim[:2]) == [50, 20] and t5.REC.isna()[:2].all()
    assert {"EPH", "ACC", "F_C0", "F_C3"} <= set(t5.columns) and np.isfinite(t5.REC[2])
    probes = pd.read_csv(results(work) / "tables/2021_table6_probes_tetris.csv")
    assert {"f_c0", "f_c3"} <= set(probes.property)
    transfer = pd.read_csv(results(work) / "tables/2021_appd3_probe_transfer_tiny.csv")
    assert set(transfer.evaluated_on) == {"test", "imported"}
    assert set(transfer.feature_set) == {"W", "s(W)", "lwln"}
    for z in ("tiny", "tetris"):
        figure = results(work) / f"figures/2021_appfig3_zoo_properties_{z}.png"
        assert figure.stat().st_size > 10_000
    t9 = pd.read_csv(results(work) / "tables/2022_table9_cross_zoo_reconstruction.csv")
    assert list(t9.test_zoo) == ["tiny"] and t9.variant.iloc[0] == "lwln"
    assert np.isfinite(t9.r2.iloc[0])
    for z in ("tiny", "imported"):  # diagnostics for every zoo, with or without autoencoder
        diag = json.loads((results(work) / f"zoos/{z}/diagnostics.json").read_text())
        assert diag["summary"]["n_models"] > 0
        assert (results(work) / f"figures/zoo_diagnostics_{z}.png").stat().st_size > 10_000
        assert "PCA ceiling" in (results(work) / f"tables/zoo_diagnostics_{z}.md").read_text()


@pytest.mark.e2e
def test_tiny_config_trains_both_autoencoders_embeds_and_probes(tiny_run):
    work, r = tiny_run
    for variant in ("lwln", "baseline"):
        model, info, _ = load_autoencoder(results(work) / f"autoencoders/tiny/{variant}/model")
        assert info["variant"] == variant and info["window"] == [1, 2]
        emb = load_embeddings(results(work) / f"autoencoders/tiny/{variant}/embeddings.safetensors",
                              load_zoo(results(work) / "zoos/tiny/zoo"))
        assert emb.z.shape == (6, 3, 4) and torch.isfinite(emb.z).all()
    table = pd.read_csv(results(work) / "tables/reconstruction_tiny.csv")
    assert table["population"].tolist() == ["original", "lwln", "baseline"]
    assert (table["code_width"].iloc[1:] == 4).all() and table["pca_ceiling"].iloc[1:].notna().all()
    assert table["acc_mean"].notna().all()
    probes = pd.read_csv(results(work) / "tables/2021_table6_probes_tiny.csv")
    assert set(probes["property"]) == {"test_acc", "epoch", "ggap"}
    assert {"W", "s(W)", "lwln", "baseline"} <= set(probes.columns)
    for f in ("2021_table6_probes_tiny.md", "2021_table6_probes_tiny.tex",
              "reconstruction_tiny.tex"):
        assert (results(work) / "tables" / f).stat().st_size > 100
    for f in ("2022_fig9_reconstruction_layers_tiny.png", "2022_fig11_embedding_geometry_tiny.png"):
        assert (results(work) / "figures" / f).stat().st_size > 10_000
    assert not (results(work) / "autoencoders/imported").exists()  # autoencoder: enabled: false


@pytest.mark.e2e
def test_tiny_config_samples_finetunes_and_writes_the_paper_tables(tiny_run):
    work, _ = tiny_run
    out = results(work)
    acc = pd.read_csv(out / "finetune/tiny/tiny/accuracy.csv")
    pops = ["S_U", "S_KDE", "S_KDE30", "S_KDE30_ref", "S_GAN30", "B_KDE30", "S_Gauss30",
            "S_GMM30", "S_Flow30", "S_Near30", "S_Edit30", "S_EditP30", "S_LatMix30",
            "S_LatMixEdit30", "W_PCA", "W_Mix2", "W_Mix3", "W_Mix2_QD", "N_noise", "N_avg",
            "N_noise_QD", "B_F"]
    assert set(acc["population"]) == set(pops) | {"B_T"}
    assert set(acc.loc[acc["population"] != "B_T", "epoch"]) == {0, 1}
    assert not (out / "populations/imported").exists()  # not in generative.in_dataset
    table1 = pd.read_csv(out / "tables/2022_table1_in_dataset.csv")
    assert table1["population"].tolist() == pops + ["B_T"]
    assert {"epoch 0", "epoch 1", "B_T epoch 2", "nn_distance",
            "nn_agreement"} <= set(table1.columns)
    # Tables 10-13 compare the configured epochs: samples at 1 against B_T at 2
    mwu = pd.read_csv(out / "tables/2022_tables11_13_mwu_cles.csv")
    assert set(mwu["reference"]) <= {"B_T", "B_F", "N_noise", "N_avg"} and len(mwu) > 0
    assert set(mwu["epoch"]) == {1}
    assert set(mwu.loc[mwu["reference"] == "B_T", "reference_epoch"]) == {2}
    assert set(mwu.loc[mwu["reference"] != "B_T", "reference_epoch"]) == {1}
    vs_noise = mwu[mwu["reference"] == "N_noise"]
    assert set(vs_noise["population"]) == {"S_U", "S_KDE", "S_KDE30", "S_KDE30_ref", "S_GAN30",
                                           "B_KDE30", "S_Gauss30", "S_GMM30", "S_Flow30",
                                           "S_Near30", "S_Edit30", "S_EditP30", "S_LatMix30",
                                           "S_LatMixEdit30"}
    # the novelty frontier: every generated population but B_F, the zoo's own models
    frontier = pd.read_csv(out / "tables/2025_novelty_frontier_tiny.csv")
    assert set(frontier["population"]) == (set(pops) - {"B_F"}) | {"zoo_train", "zoo_test",
                                                                   "zoo_independent"}
    assert set(frontier["curve"]) == {"noise_raw", "noise_reconstructed"}
    assert (out / "figures/2025_fig6a_novelty_frontier_tiny.png").stat().st_size > 10_000
    median = pd.read_csv(out / "tables/2022_tables10_12_median_ci.csv")
    bt = median[median["population"] == "B_T"].iloc[0]
    assert (bt["epoch"], bt["reference_epoch"], bt["at_epoch"]) == (1, 2, 2)
    assert (out / "finetune/tiny/tiny/ensembles.csv").exists()
    figures = out / "figures/generative"
    assert any(figures.glob("sampler_comparison_*.png"))
    # the latent GAN's losses per epoch, recorded and drawn
    losses = pd.read_csv(out / "populations/tiny/gan_losses_S_GAN30.csv")
    assert losses["epoch"].tolist() == [1, 2, 3]
    assert (figures / "gan_losses_tiny_S_GAN30.png").stat().st_size > 10_000
    info = json.loads((out / "finetune/tiny/tiny/info.json").read_text())
    assert info["hyperparameters"]["activation"] == "tanh" and info["epochs"] == 1
    recon = pd.read_csv(out / "tables/reconstruction_tiny.csv")
    assert {"r2_test", "r2_lwln_test", "r2_lwln_epoch"} <= set(recon.columns)


@pytest.mark.e2e
def test_auditing_an_exported_population_gives_its_row_of_the_frontier_table(tiny_run,
                                                                             tmp_path):
    """hyperreps audit, installed from a wheel, on the exported S_KDE30 folder against the run's
    frontier: the same measures and the same bootstrap CIs as the pipeline's table."""
    work, _ = tiny_run
    out = results(work)
    # from a wheel, as `pip install` gives it: no checkout, no Snakemake
    wheels, site, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info"))  # built elsewhere: nothing is left in the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    def pip(*args):
        done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]

    pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source))
    built = sorted(wheels.glob("hyperreps-*.whl"))  # after the build, not before
    assert len(built) == 1, built
    pip("install", "--no-deps", "-q", "--target", str(site), str(built[0]))
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import hyperreps; print(hyperreps.__file__)"],
                           capture_output=True, text=True, env=env, cwd=work)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    run = subprocess.run([sys.executable, "-m", "hyperreps.cli", "audit",
                          str(out / "export/populations/tiny/S_KDE30"), "--run", str(out),
                          "--zoo", "tiny", "--out", str(tmp_path / "audit"), "--name",
                          "S_KDE30"], capture_output=True, text=True, timeout=600, cwd=work,
                         env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    audited = pd.read_csv(tmp_path / "audit/audit_tiny.csv").set_index(["population", "curve"])
    table = pd.read_csv(out / "tables/2025_novelty_frontier_tiny.csv") \
        .set_index(["population", "curve"])
    for key in audited.index:
        pd.testing.assert_series_equal(audited.loc[key], table.loc[key], check_names=False,
                                       rtol=1e-6)
    assert (tmp_path / "audit/audit_tiny.png").stat().st_size > 10_000


def markdown_rows(text):
    """The cells of every row of the pipe tables in ``text``, table by table."""
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line.strip().strip("|").split("|"))
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def test_markdown_rows_counts_cells():
    assert [len(r) for r in markdown_rows("cap\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")[0]] == [2] * 3
    bad = markdown_rows("| p | CLES |\n|---|---|\n| 1 | 0.5 | extra |\n")[0]
    assert len({len(r) for r in bad}) == 2


@pytest.mark.e2e
def test_every_markdown_table_parses(tiny_run):
    """Every row of every Markdown table the pipeline writes has the header's cell count."""
    work, _ = tiny_run
    paths = sorted((results(work) / "tables").glob("*.md"))
    assert len(paths) >= 8
    for path in paths:
        tables = markdown_rows(path.read_text())
        assert tables, path.name
        for rows in tables:
            widths = {len(r) for r in rows}
            assert len(widths) == 1, f"{path.name}: rows with {sorted(widths)} cells"
            assert all(set(c.strip()) <= set("-:") for c in rows[1]), path.name


@pytest.mark.e2e
def test_no_result_table_carries_a_timing(tiny_run):
    """Issue 25: speeds and durations live in the job benchmarks and logs; a table holds only
    what the same config and seeds reproduce byte for byte."""
    work, _ = tiny_run
    timing = re.compile(r"per_s(ec(ond)?)?$|seconds|throughput|_time$|^time|wall", re.I)
    for path in sorted((results(work) / "tables").glob("*.csv")):
        columns = pd.read_csv(path, nrows=0).columns
        assert not [c for c in columns if timing.search(c)], path.name


@pytest.mark.e2e
def test_rerun_does_nothing(tiny_run):
    work, _ = tiny_run
    r = snakemake(tiny_args(work), work)
    assert r.returncode == 0 and "Nothing to be done" in r.stderr


def result_files(work):
    """Every file of a run's results/ but Snakemake's benchmark TSVs (timings)."""
    root = results(work)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).parts[0] != "benchmarks")


# the numeric core of the DAG: zoo training, both autoencoders, embedding, probes, diagnostics,
# reconstruction, sampling, fine-tuning, ensembles and the statistics tables (15 jobs)
CORE_TABLES = ("reconstruction_tiny.csv", "2021_table6_probes_tiny.csv",
               "2022_table1_in_dataset.csv")


@pytest.mark.e2e
def test_tiny_results_are_the_same_bytes_whatever_threads_snakemake_grants(tiny_run, tmp_path):
    """Issue 30: the tables must not depend on --cores. The fixture's run grants every job one
    thread; this one grants each rule that computes with the config's `threads` two
    (--set-threads, two such jobs side by side on --cores 4), as `--cores 2` grants them
    under the default `threads: 2`. Jobs computed with their grant before the `threads` key:
    this pair then differed in 17 of the 31 table CSVs of the whole DAG (fine-tuned accuracy
    by 2.8 points, docs/experiments.md). The second run makes the numeric core of the DAG
    (CORE_TABLES and what they are made from: zoos, autoencoders, codes, probes, populations,
    fine-tuning, the statistics tables; 15 jobs), and every file of it is the same bytes as
    the first run's, benchmarks aside."""
    first, run = tiny_run
    rules = threaded_rules()
    assert len(rules) >= 15 and "train_zoo_shard" in rules and "finetune_populations" in rules
    second = tiny_folder(tmp_path)
    r = snakemake(["--cores", "4", "--set-threads", *(f"{name}=2" for name in rules),
                   "--configfile", str(TINY_CONFIG), "--directory", str(second),
                   *(f"results/tiny/tables/{t}" for t in CORE_TABLES)], second)
    assert r.returncode == 0, r.stderr[-3000:]
    # the grants differ (Snakemake prints a job's threads when they are more than one) ...
    assert "threads: 2" in r.stderr and "threads: 2" not in run.stderr
    for work, granted in ((first, 1), (second, 2)):
        log = (work / "logs/tiny/zoos/tiny/train_0000.log").read_text()
        assert f"computing with 1 thread(s); Snakemake granted {granted}" in log
    # ... the results do not
    files = result_files(second)
    assert set(files) <= set(result_files(first))
    made = {f.removeprefix("tables/") for f in files if f.startswith("tables/")}
    assert set(CORE_TABLES) <= made and len(made) >= 15  # every table of the core's rules
    for part in ("zoos/tiny/zoo/", "autoencoders/tiny/lwln/", "populations/", "finetune/"):
        assert any(f.startswith(part) for f in files), part
    differ = [f for f in files
              if (results(first) / f).read_bytes() != (results(second) / f).read_bytes()]
    assert not differ, f"{len(differ)} of {len(files)} files differ: {differ}"


@pytest.mark.e2e
def test_a_hard_kill_resumes_with_the_readme_commands(tmp_path):
    """SIGKILL of the whole run mid-shard: the same command stops on the lock; the README's
    `--unlock`, then the same command, finishes, the shard resuming from its last epoch."""
    readme = (ROOT / "README.md").read_text()
    assert "snakemake --unlock --configfile" in readme and "LockException" in readme
    (tmp_path / "k.yaml").write_text(yaml.safe_dump(
        {"device": "cpu", "autoencoder": {"enabled": False},
         "zoos": {"k": {"dataset": "digits", "seeds": {"first": 1, "count": 4}, "epochs": 12,
                        "shard_size": 4}}}))
    # the zoo as the target (the same in every command): the resume is what is tested, not the
    # zoo's figures, whose UMAP alone compiles for 15 s
    args = ["--cores", "1", "--configfile", "k.yaml", "--directory", str(tmp_path),
            "results/k/zoos/k/zoo"]
    run = subprocess.Popen(SNAKEMAKE + args, cwd=tmp_path, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=local_snakemake_env())
    state = tmp_path / "results/k/zoos/k/resume/0000.safetensors"
    deadline = time.time() + 180
    while not state.exists() and time.time() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert state.exists(), "the shard never saved its state"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    # what a write killed mid-way leaves (issue 30): removed when the next run starts
    stale = tmp_path / f"results/k/zoos/k/.zoo.{run.pid}.k2_x9zq1.tmp"
    (stale / "inner").mkdir(parents=True)
    kept = tmp_path / "results/k/zoos/k/notes.tmp"
    kept.write_text("not written by the pipeline")
    again = snakemake(args, tmp_path)
    assert again.returncode != 0 and "LockException" in again.stderr + again.stdout
    assert snakemake(["--unlock", *args[2:6]], tmp_path).returncode == 0
    done = snakemake(args, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in (tmp_path / "logs/k/zoos/k/train_0000.log").read_text()
    assert not state.exists()  # removed once the shard is published
    assert not stale.exists() and kept.exists()
    assert "temporary file(s) of killed writes under results/k" in done.stderr
    assert not list((tmp_path / "results").rglob(".*.tmp"))


def test_bad_config_fails_before_any_job(tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(
        {"zoos": {"z": {"dataset": "digits", "epochs": "many"}}}))
    r = snakemake(["--cores", "1", "--configfile", "bad.yaml", "--directory", str(tmp_path)],
                  tmp_path)
    assert r.returncode != 0 and "zoos.z.epochs" in r.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: device: cuda is fine")
def test_cuda_without_a_gpu_fails_before_any_job_saying_what_to_do(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(
        {"device": "cuda", "zoos": {"z": {"dataset": "digits", "seeds": {"count": 6}}}}))
    args = ["--cores", "1", "--configfile", "c.yaml", "--directory", str(tmp_path)]
    dry = snakemake(["-n", *args], tmp_path)
    assert dry.returncode == 0 and "warning: config 'device: cuda'" in dry.stderr
    r = snakemake(args, tmp_path)
    assert r.returncode != 0 and "no CUDA device is visible" in r.stderr
    assert "device: auto" in r.stderr and "cluster profile" in r.stderr
    assert not (tmp_path / "results").exists()


def test_missing_inputs_fail_before_any_job(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(
        {"data": {"root": str(tmp_path / "data")},
         "zoos": {"m": {"dataset": "mnist", "epochs": 30},
                  "imp": {"dataset": "digits", "import_from": str(tmp_path / "absent")}}}))
    r = snakemake(["--cores", "1", "--configfile", "c.yaml", "--directory", str(tmp_path)],
                  tmp_path)
    assert r.returncode != 0
    assert "config key 'zoos.m.dataset': dataset 'mnist' not found" in r.stderr
    assert "config key 'zoos.imp.import_from'" in r.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_paper_config_dry_run_lists_every_shard(paper_dry_run):
    r = paper_dry_run
    assert r.returncode == 0, r.stderr[-2000:]
    zoos = load_config(ROOT / "config" / "config.yaml")["zoos"]
    expected = sum(len(plan_shards(z)) for z in zoos.values() if "import_from" not in z)
    m = re.search(r"^train_zoo_shard\s+(\d+)$", r.stdout + r.stderr, re.M)
    assert m and int(m.group(1)) == expected

    def jobs(rule):
        m = re.search(rf"^{rule}\s+(\d+)$", r.stdout + r.stderr, re.M)
        return int(m.group(1)) if m else 0

    # sampled: Table 1's four zoos; fine-tuned: those in-dataset and the four transfer pairs;
    # the grid zoos (diverse SVHN, 2021 HYP) and USPS are not sampled
    assert jobs("sample_populations") == 4 and jobs("finetune_populations") == 8
    assert "results/paper/" in r.stdout and "results/zoos/" not in r.stdout


def test_lint_is_clean():
    r = subprocess.run(SNAKEMAKE + ["--lint", "--configfile", str(ROOT / "config/demo.yaml")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=local_snakemake_env())
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_is_clean():
    """`make lint`'s other half: the library, scripts, tests, benchmarks and experiments."""
    ruff = Path(sys.executable).parent / "ruff"
    r = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.demo
def test_2021_demo_autoencoders_reconstruct_and_their_codes_predict_the_epoch(tmp_path):
    """The README's second demo (config/demo_2021.yaml: the 2021 Tetris experiments), whole:
    what needs its training (the tiny run covers Table 5's and the F-score probes' plumbing):
    ED reconstructs and less so when compressed more, every code predicts the epoch."""
    r = snakemake(["--cores", "2", "--configfile", str(ROOT / "config/demo_2021.yaml"),
                   "--directory", str(tmp_path)], tmp_path, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "results/demo_2021"
    t5 = pd.read_csv(out / "tables/2021_table5_compression_ablation_tetris_seed.csv")
    learned = t5[~t5.objective.isin(["W", "s(W)"])]
    assert len(learned) == 9 and list(learned.latent_dim[:3]) == [50, 33, 20]
    ed = learned[learned.objective == "ED"].REC.to_numpy()
    assert ed[0] > 50 and ed[0] > ed[-1]  # reconstructs, and less so when compressed more
    assert (learned.EPH > 50).all()  # every code predicts the epoch
    probes = pd.read_csv(out / "tables/2021_table6_probes_tetris_seed.csv")
    assert {"f_c0", "f_c1", "f_c2", "f_c3"} <= set(probes.property)
    # App. Figs. 7-9 on HYP zoos the demo writes as Small CNN Zoo archives and imports back:
    # the digits zoo's probes predict accuracy, epoch and generalisation gap in distribution,
    # and are evaluated on the rotated-digits zoo
    hyp = pd.read_csv(out / "tables/2021_appd3_probe_transfer_digits_hyp.csv")
    assert {"test_acc", "epoch", "ggap"} <= set(hyp.property)
    assert set(hyp.evaluated_on) == {"test", "digits_rot90_hyp"}
    acc = hyp[hyp.property == "test_acc"].set_index(["feature_set", "evaluated_on"]).r2
    assert acc["s(W)", "test"] > 0.5 and acc["lwln", "test"] > 0  # 2026-11-27: 0.75, 0.33
    assert acc["lwln", "digits_rot90_hyp"] > 0  # out of distribution: 0.39
