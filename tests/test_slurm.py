"""The pipeline on a real SLURM cluster through profiles/slurm (issue 5).

A throw-away single-node cluster (tests/slurm/start-slurm.sh: Debian's slurm-wlm + munge, no
accounting, two partitions local_cpu/local_gpu and two fake GPUs) runs a tiny digits zoo:
2 shard jobs on the GPU partition, then merge, split and plot on the CPU partition, 5 sbatch
jobs in all. The config disables the autoencoder stage to keep the test short; its rules are
in GPU_RULES and the profile's set-resources like the shard's (tests/test_rules.py).

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
RUN_TIMEOUT = 600    # the tiny DAG: 1.5 min on 2 idle cores, 3.5 busy; the plugin can hang
FAIL_TIMEOUT = 300   # a failing job (submitted 1 + retries times) must end the run by then

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


def write_config(path: Path, zoo: dict, data_root: Path | None = None,
                 autoencoder: dict | None = None):
    # each job costs seconds of SLURM status polling: the zoo stage, plus one autoencoder job
    # where asked (requested as a target: its downstream jobs are not run)
    cfg = {"device": "cpu", "zoos": {"tiny": zoo},
           "autoencoder": autoencoder or {"enabled": False}}
    if data_root is not None:
        cfg["data"] = {"root": str(data_root)}
    path.write_text(yaml.safe_dump(cfg))


def test_tiny_zoo_runs_through_sbatch(slurm_cluster, tmp_path, capsys):
    work = tmp_path / "wf"
    work.mkdir()
    profile = local_profile(tmp_path / "profile", slurm_cluster)
    # 6 models (the fewest whose split has two train models and one in val and test), 3 per
    # shard: 2 shard jobs, then merge, split, plot and diagnostics, and one autoencoder job
    # beyond the zoo stage (7 SLURM jobs)
    write_config(work / "tiny.yaml", {"dataset": "digits", "seeds": {"first": 1, "count": 6},
                                      "epochs": 1, "shard_size": 3},
                 autoencoder=TINY_AUTOENCODER)
    out_dir = "results/tiny"
    targets = [f"{out_dir}/zoos/tiny/split.json",
               f"{out_dir}/figures/2021_appfig3_zoo_accuracy_tiny.png",
               f"{out_dir}/tables/zoo_diagnostics_tiny.md",
               f"{out_dir}/autoencoders/tiny/lwln/model"]
    rc, out, secs = run_snakemake(["--profile", str(profile), "--configfile", "tiny.yaml",
                                   "--directory", str(work), *targets], work, RUN_TIMEOUT)
    jobs = submitted_jobs(out)
    table = slurm_job_table(jobs) if jobs else {}
    with capsys.disabled():   # into the CI log even without -s
        print(f"\nSLURM run: rc={rc} in {secs:.1f} s, {len(jobs)} sbatch jobs:")
        for slurm_id, (rule, log) in sorted(jobs.items(), key=lambda kv: int(kv[0])):
            print(f"  SLURM job {slurm_id}: {rule:18s} {table.get(slurm_id)}  {log}")
    assert rc == 0, out[-4000:]

    # outputs exist and load
    zoo = load_zoo(work / "results/tiny/zoos/tiny/zoo")
    assert zoo.n_models == 6 and zoo.n_epochs == 2
    shards = work / "results/tiny/zoos/tiny/shards"
    assert sorted(p.name for p in shards.iterdir()) == ["0000", "0001"]
    assert (work / "results/tiny/zoos/tiny/split.json").stat().st_size > 0
    figure = work / "results/tiny/figures/2021_appfig3_zoo_accuracy_tiny.png"
    assert figure.stat().st_size > 10_000

    # every job went through sbatch: a SLURM job id each, a kept SLURM log each
    rules = sorted(rule for rule, _ in jobs.values())
    assert rules == ["merge_zoo_shards", "split_zoo", "train_autoencoder", "train_zoo_shard",
                     "train_zoo_shard", "zoo_accuracy", "zoo_diagnostics"], out[-4000:]
    assert (work / out_dir / "autoencoders/tiny/lwln/model/autoencoder.safetensors").is_file()
    for slurm_id, (rule, log) in jobs.items():
        assert log.is_file() and log.name == f"{slurm_id}.log", log   # kept: keep-successful-logs
        assert f"rule {rule}:" in log.read_text()
    assert "7 of 7 steps (100%) done" in out       # the 7 jobs (explicit targets: no `all`)

    # and slurmctld agrees: completed, shards and the autoencoder on the GPU partition with a
    # GPU, the rest on the CPU partition (profiles/default did not mask the profile's
    # set-resources)
    gpus = LOCAL_PARTITIONS["gpu"] in slurm_cluster
    for slurm_id, (rule, _) in jobs.items():
        info = table.get(slurm_id)
        assert info and info["state"] == "COMPLETED", (slurm_id, info)
        if gpus and rule in ("train_zoo_shard", "train_autoencoder"):
            assert info["partition"] == LOCAL_PARTITIONS["gpu"] and "gpu:1" in info["tres"]
        elif gpus:
            assert info["partition"] == LOCAL_PARTITIONS["cpu"] and "gpu" not in info["tres"]


def test_failing_job_fails_the_run_in_bounded_time(slurm_cluster, tmp_path, capsys):
    # A valid config whose dataset files exist but are corrupt: nothing fails before the shard
    # job reads them on the cluster (a bad config, or missing files, fail before any job -
    # onstart - and would test nothing here).
    work = tmp_path / "wf"
    garbage = tmp_path / "bad-data"
    work.mkdir()
    (garbage / "MNIST" / "raw").mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (garbage / "MNIST" / "raw" / name).write_bytes(b"not an idx file")
    profile = local_profile(tmp_path / "profile", slurm_cluster)
    write_config(work / "missing.yaml", {"dataset": "mnist", "seeds": {"first": 1, "count": 2},
                                         "epochs": 1, "shard_size": 2}, data_root=garbage)
    # the zoo as the target: the shard jobs only (not the other jobs that read the data)
    rc, out, secs = run_snakemake(["results/missing/zoos/tiny/zoo", "--profile", str(profile),
                                   "--configfile", "missing.yaml", "--directory", str(work)],
                                  work, FAIL_TIMEOUT)
    jobs = submitted_jobs(out)
    with capsys.disabled():
        print(f"\nfailing SLURM run: rc={rc} in {secs:.1f} s, SLURM jobs "
              f"{sorted(jobs, key=int)}")
    assert rc != 0, out[-4000:]
    assert secs < FAIL_TIMEOUT
    # the shard job was submitted (and resubmitted `retries` times) and failed each time
    attempts = 1 + yaml.safe_load(PROFILE.read_text()).get("retries", 0)
    assert [rule for rule, _ in jobs.values()] == ["train_zoo_shard"] * attempts, out[-4000:]
    assert re.search(r"SLURM-job '\d+' failed, SLURM status is: 'FAILED'", out), out[-4000:]
    assert "MNIST/raw: the idx files are unreadable" in out, out[-4000:]   # show-failed-logs
    assert not (work / "results/missing/zoos/tiny/zoo").exists()
