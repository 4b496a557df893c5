"""Fixtures several test modules use, and the `unit` marker.

Test groups (markers registered in pyproject.toml), each selected with `pytest -m <group>`:
`unit` (given here to every test without another group's marker), `e2e` (Snakemake end to end
on a config), `cluster` (starts a SLURM cluster) and `demo` (a whole demo config; left out of
the default run by pyproject's addopts, which a `-m` on the command line replaces).
"""

import subprocess
import sys

import pytest
import torch

from hyperreps.data import load_dataset
from helpers import ROOT, local_snakemake_env, small_dataset

NOT_UNIT = ("e2e", "cluster", "demo")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(m) for m in NOT_UNIT):
            item.add_marker(pytest.mark.unit)


def pytest_terminal_summary(terminalreporter):
    """What a test recorded with ``record_property("ci_log", text)`` (e.g. the SLURM run's job
    table), printed at the end of the run: under pytest-xdist a worker's own output never
    reaches the terminal, but its reports' properties do."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, text in getattr(report, "user_properties", []):
                if name == "ci_log":
                    terminalreporter.write_sep("-", f"{report.nodeid} ({outcome})")
                    terminalreporter.write_line(str(text))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The tests' tensors are small: one intra-op thread is several times faster than two
    that wait on each other (4-14x on 2 busy cores). Set before every test, as a UMAP fit
    (numba's OpenMP) resets the thread count torch shares with it. Snakemake subprocesses
    are not affected."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    """The bundled digits dataset (train/val/test)."""
    return load_dataset("digits")


@pytest.fixture(scope="session")
def small_digits(digits):
    """Every split of digits cut to 64 images: for tests whose assertions do not depend on
    how much data a model sees."""
    return small_dataset(digits, 64)


@pytest.fixture(scope="session")
def paper_dry_run(tmp_path_factory):
    """``snakemake -n`` of config/config.yaml (the papers' DAG), run once: a Snakemake start
    costs about 12 s on 2 cores."""
    work = tmp_path_factory.mktemp("paper_dry_run")
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
                           "-n", "--directory", str(work), "--configfile",
                           str(ROOT / "config/config.yaml")],
                          cwd=work, capture_output=True, text=True, timeout=600,
                          env=local_snakemake_env())
