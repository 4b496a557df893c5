"""Issue 30: a job computes with the config's `threads`, never with the threads Snakemake
grants it, so that a table does not depend on --cores or --max-threads. The end-to-end proof
(the tiny config at two grants, byte for byte) is in tests/test_workflow.py, beside the run it
compares with; these are the parts that need no run."""

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from hyperreps.config.checks import validate_config
from hyperreps.config.schema import ConfigError
from hyperreps.jobs import job_threads
from helpers import rule_bodies


def threaded_rules():
    """The rules whose jobs compute with the config's `threads` (``params.threads``)."""
    return sorted(name for name, body in rule_bodies().items() if "threads=THREADS" in body)


def test_every_threaded_rule_computes_with_the_configs_threads():
    """A rule that asks for more than one thread takes the config's `threads` both as its
    `threads:` and as params.threads (what hyperreps.jobs.start computes with): a hard-coded
    `threads: 2` would make its results depend on the scheduler's grant again."""
    bodies = rule_bodies()
    for name, body in bodies.items():
        declared = re.findall(r"^    threads: (.+)$", body, re.M)
        assert declared in ([], ["THREADS"]), name
        assert bool(declared) == ("threads=THREADS" in body), name
    assert len(threaded_rules()) >= 15 and "train_zoo_shard" in threaded_rules()
    snake = SimpleNamespace
    assert job_threads(snake(params=snake(threads=1), threads=2)) == 1
    assert job_threads(snake(params=snake(threads=3), threads=1)) == 3
    assert job_threads(snake(params=snake(), threads=1)) == 1  # a rule without the param


def test_a_job_overrides_the_threads_snakemake_exports():
    """set_cpu_threads in a process started as Snakemake starts a job granted 4 threads:
    torch, the BLAS pools and the variables a later library or a child reads all say 2."""
    code = ("import os, torch, numpy, threadpoolctl\n"
            "from hyperreps.device import THREAD_ENV, set_cpu_threads\n"
            "set_cpu_threads(2)\n"
            "pools = {p['num_threads'] for p in threadpoolctl.threadpool_info()}\n"
            "print(torch.get_num_threads(), sorted(pools), {os.environ[k] for k in THREAD_ENV})")
    env = dict(os.environ, **{k: "4" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS")})
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[0] == "2 [2] {'2'}"


def config(**top):
    return {"zoos": {"z": {"dataset": "digits"}}, **top}


def test_threads_defaults_to_2_what_the_demo_was_computed_with():
    assert validate_config(config())["threads"] == 2
    assert validate_config(config(threads=1))["threads"] == 1


@pytest.mark.parametrize("value", [0, -1, 257, 2.0, "2", True, None])
def test_threads_out_of_range_or_not_an_integer_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match="'threads'"):
        validate_config(config(threads=value))
