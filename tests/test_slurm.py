"""The pipeline on a real SLURM cluster through profiles/slurm (issue 5).

A throw-away single-node cluster (tests/slurm/start-slurm.sh: Debian's slurm-wlm + munge, no
accounting, two partitions local_cpu/local_gpu and two fake GPUs) runs, in one Snakemake run,
a tiny digits zoo (2 shard jobs and an autoencoder job on the GPU partition; merge, split
and plot on the CPU partition) and a zoo whose shard job fails on corrupt data (submitted
twice, as the profile's retries say): 8 sbatch jobs. The other autoencoder rules
are in GPU_RULES and the profile's set-resources like these (tests/test_rules.py).

The test uses the shipped profile with only the site-specific values replaced (the
partition placeholders, and a shorter first status poll); profiles/default is loaded on top
as for every user, so the test also guards against the profile merge pitfall (a
set-resources in profiles/default would send the shards to the wrong partition).

Needs root (apt-get install slurm-wlm munge, starting the daemons); skipped otherwise. The
daemons are stopped by PID afterwards, whatever happens. Every Snakemake run has a hard
timeout: the SLURM plugin can wait forever on a status command that never answers.
"""

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hyperreps.zoo import load_zoo
from helpers import ROOT

PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
START = ROOT / "tests" / "slurm" / "start-slurm.sh"
STOP = ROOT / "tests" / "slurm" / "stop-slurm.sh"
# the profile's placeholder partitions -> the partitions start-slurm.sh creates
LOCAL_PARTITIONS = {"cpu": "local_cpu", "gpu": "local_gpu"}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
RUN_TIMEOUT = 600    # the tiny DAG: 2 min on 2 idle cores, 3.5 busy; the plugin can hang

pytestmark = pytest.mark.cluster


def skip_reason():
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')"
    if os.geteuid() != 0:
        return "needs root to install and start a local SLURM (slurm-wlm, munge)"
    if not (shutil.which("slurmctld") or shutil.which("apt-get")):
        return "SLURM is not installed and there is no apt-get to install it"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    """Start the local cluster; always stop the daemons it started (by PID) afterwards."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        t0 = time.monotonic()
        r = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=900)
        print(f"\nstart-slurm.sh: rc={r.returncode} in {time.monotonic() - t0:.1f} s\n"
              f"{r.stdout}{r.stderr[-2000:]}")
        assert r.returncode == 0, f"start-slurm.sh failed:\n{r.stdout}\n{r.stderr}"
        parts = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True,
                               timeout=30).stdout.split()
        yield {p.rstrip("*") for p in parts}
    finally:
        t0 = time.monotonic()
        r = subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=180)
        print(f"stop-slurm.sh: rc={r.returncode} in {time.monotonic() - t0:.1f} s\n"
              f"{r.stdout}{r.stderr}")


def local_profile(dest: Path, partitions: set[str]) -> Path:
    """profiles/slurm with the site values replaced for the local cluster."""
    prof = yaml.safe_load(PROFILE.read_text())
    # a cluster that start-slurm.sh found already running has neither our partitions nor our
    # fake GPUs: send everything to its default partition, without GPUs
    gpus = LOCAL_PARTITIONS["gpu"] in partitions
    default = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True,
                             timeout=30).stdout.split("*")[0].split()[-1]

    def local(name):
        assert name in LOCAL_PARTITIONS, f"profile partition {name!r} is not a known placeholder"
        return LOCAL_PARTITIONS[name] if gpus else default

    res = prof["default-resources"]
    res["slurm_partition"] = local(res["slurm_partition"])
    res.pop("slurm_account", None)        # no accounting here: an account cannot be checked
    for r in prof.get("set-resources", {}).values():
        if "slurm_partition" in r:
            r["slurm_partition"] = local(r["slurm_partition"])
        if not gpus:
            r.pop("gpu", None)
            r.pop("gpu_model", None)
    # the first status poll after 2 s, not 40: the jobs here take seconds (squeue mode needs
    # MinJobAge >= 3 x this; start-slurm.sh sets 3600)
    prof["slurm-init-seconds-before-status-checks"] = 2
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    return dest


def run_snakemake(args, cwd: Path, timeout: int):
    """snakemake from this venv (the jobs inherit PATH via sbatch --export=ALL and run
    sys.executable), killed with its process group after `timeout` s."""
    env = dict(os.environ, PYTHONWARNINGS="ignore",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("SNAKEMAKE_PROFILE", None)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), *args]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except BaseException as e:   # the timeout, or Ctrl-C: no Snakemake left polling
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        ids = [m.group(2) for m in SUBMITTED.finditer(out)]
        if ids:
            subprocess.run(["scancel", *ids], timeout=30)
        if not isinstance(e, subprocess.TimeoutExpired):
            raise
        pytest.fail(f"snakemake did not finish within {timeout} s (killed; SLURM jobs "
                    f"{ids} cancelled):\n{out[-4000:]}")
    (cwd / "snakemake.out").write_text(out)
    return p.returncode, out, time.monotonic() - t0


def submitted_jobs(out: str) -> dict[str, tuple[str, Path]]:
    """SLURM job id -> (rule, SLURM log) of every job the run submitted with sbatch; the
    plugin writes each job's log to .snakemake/slurm_logs/rule_<rule>/<wildcards>/<id>.log."""
    jobs = {}
    for _, slurm_id, log in SUBMITTED.findall(out):
        rule = next(p[5:] for p in reversed(Path(log).parts) if p.startswith("rule_"))
        jobs[slurm_id] = (rule, Path(log))
    return jobs


def slurm_job_table(ids) -> dict[str, dict]:
    """What slurmctld knows of these jobs (it keeps them MinJobAge=3600 s after they end)."""
    r = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(ids),
                        "-O", "JobID:20,Partition:20,State:20,tres-per-job:40"],
                       capture_output=True, text=True, timeout=30)
    table = {}
    for line in r.stdout.splitlines():
        f = line.split()
        table[f[0]] = {"partition": f[1], "state": f[2], "tres": f[3] if len(f) > 3 else ""}
    return table


TINY_AUTOENCODER = {
    "variants": ["lwln"], "window": {"first": 0, "last": 1},
    "architecture": {"d_model": 8, "n_layers": 1, "n_heads": 2, "d_ff": 16, "latent_dim": 4,
                     "projection_layers": 1, "projection_width": 8, "projection_dim": 4},
    "training": {"epochs": 1, "batch_size": 2, "eval_every": 1}}


def write_config(path: Path, zoos: dict, data_root: Path | None = None,
                 autoencoder: dict | None = None):
    # each job costs seconds of SLURM status polling: the zoo stage, plus one autoencoder job
    # where asked (requested as a target: its downstream jobs are not run)
    cfg = {"device": "cpu", "zoos": zoos, "autoencoder": autoencoder or {"enabled": False}}
    if data_root is not None:
        cfg["data"] = {"root": str(data_root)}
    path.write_text(yaml.safe_dump(cfg))


def corrupt_mnist(root: Path) -> Path:
    """An MNIST folder whose files exist but are not idx files: nothing fails before the shard
    job reads them on the cluster (a bad config, or missing files, fail before any job -
    onstart - and would test nothing here)."""
    (root / "MNIST" / "raw").mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (root / "MNIST" / "raw" / name).write_bytes(b"not an idx file")
    return root


def test_tiny_zoo_runs_through_sbatch_and_a_failing_job_fails_the_run(slurm_cluster, tmp_path,
                                                                       record_property):
    """One SLURM run, two zoos (one run instead of two halves the polling this test waits
    on): `tiny` goes through every stage it is asked for; `broken`'s shard job fails on its
    corrupt data, is resubmitted `retries` times, fails each time, and ends the run (rc != 0)
    in bounded time while --keep-going lets `tiny` finish."""
    work = tmp_path / "wf"
    work.mkdir()
    profile = local_profile(tmp_path / "profile", slurm_cluster)
    # tiny: 6 models (the fewest whose split has two train models and one in val and test), 3
    # per shard: 2 shard jobs, then merge, split and plot, and one autoencoder job beyond the
    # zoo stage (6 SLURM jobs; the zoo's diagnostics, tested end to end in test_workflow.py,
    # would add 14 s of polling); broken: one shard job on the corrupt MNIST files
    write_config(work / "tiny.yaml",
                 {"tiny": {"dataset": "digits", "seeds": {"first": 1, "count": 6},
                           "epochs": 1, "shard_size": 3},
                  "broken": {"dataset": "mnist", "seeds": {"first": 1, "count": 2},
                             "epochs": 1, "shard_size": 2, "autoencoder": {"enabled": False}}},
                 data_root=corrupt_mnist(tmp_path / "bad-data"), autoencoder=TINY_AUTOENCODER)
    out_dir = "results/tiny"
    targets = [f"{out_dir}/zoos/tiny/split.json",
               f"{out_dir}/figures/2021_appfig3_zoo_accuracy_tiny.png",
               f"{out_dir}/autoencoders/tiny/lwln/model",
               f"{out_dir}/zoos/broken/zoo"]
    rc, out, secs = run_snakemake(["--profile", str(profile), "--configfile", "tiny.yaml",
                                   "--keep-going", "--directory", str(work), *targets], work,
                                  RUN_TIMEOUT)
    jobs = submitted_jobs(out)
    table = slurm_job_table(jobs) if jobs else {}
    # into the CI log (tests/conftest.py prints it at the end, also under pytest-xdist)
    record_property("ci_log", "\n".join(
        [f"SLURM run: rc={rc} in {secs:.1f} s, {len(jobs)} sbatch jobs:"]
        + [f"  SLURM job {slurm_id}: {rule:18s} {table.get(slurm_id)}  {log}"
           for slurm_id, (rule, log) in sorted(jobs.items(), key=lambda kv: int(kv[0]))]))
    broken = {i: j for i, j in jobs.items() if "broken" in j[1].parts[-2]}
    good = {i: j for i, j in jobs.items() if i not in broken}

    # the failing zoo ended the run, in bounded time, after 1 + retries attempts
    assert rc != 0, out[-4000:]
    assert secs < RUN_TIMEOUT
    attempts = 1 + yaml.safe_load(PROFILE.read_text()).get("retries", 0)
    assert [rule for rule, _ in broken.values()] == ["train_zoo_shard"] * attempts, out[-4000:]
    assert re.search(r"SLURM-job '\d+' failed, SLURM status is: 'FAILED'", out), out[-4000:]
    assert "MNIST/raw/train-images-idx3-ubyte: not an idx file" in out, \
        out[-4000:]  # show-failed-logs
    assert not (work / out_dir / "zoos/broken/zoo").exists()

    # the other zoo's outputs exist and load
    zoo = load_zoo(work / out_dir / "zoos/tiny/zoo")
    assert zoo.n_models == 6 and zoo.n_epochs == 2
    shards = work / out_dir / "zoos/tiny/shards"
    assert sorted(p.name for p in shards.iterdir()) == ["0000", "0001"]
    assert (work / out_dir / "zoos/tiny/split.json").stat().st_size > 0
    figure = work / out_dir / "figures/2021_appfig3_zoo_accuracy_tiny.png"
    assert figure.stat().st_size > 10_000
    assert (work / out_dir / "autoencoders/tiny/lwln/model/autoencoder.safetensors").is_file()

    # every job went through sbatch: a SLURM job id each, a kept SLURM log each
    rules = sorted(rule for rule, _ in good.values())
    assert rules == ["merge_zoo_shards", "split_zoo", "train_autoencoder", "train_zoo_shard",
                     "train_zoo_shard", "zoo_accuracy"], out[-4000:]
    for slurm_id, (rule, log) in good.items():
        assert log.is_file() and log.name == f"{slurm_id}.log", log   # kept: keep-successful-logs
        assert f"rule {rule}:" in log.read_text()

    # and slurmctld agrees: completed (the broken shard failed), shards and the autoencoder on
    # the GPU partition with a GPU, the rest on the CPU partition (profiles/default did not
    # mask the profile's set-resources)
    gpus = LOCAL_PARTITIONS["gpu"] in slurm_cluster
    for slurm_id, (rule, _) in jobs.items():
        info = table.get(slurm_id)
        assert info and info["state"] == ("FAILED" if slurm_id in broken else "COMPLETED"), (
            slurm_id, info)
        if gpus and rule in ("train_zoo_shard", "train_autoencoder"):
            assert info["partition"] == LOCAL_PARTITIONS["gpu"] and "gpu:1" in info["tres"]
        elif gpus:
            assert info["partition"] == LOCAL_PARTITIONS["cpu"] and "gpu" not in info["tres"]
