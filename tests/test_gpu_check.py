"""benchmarks/gpu_check.py in its CPU quick mode, with the packages the GPU machine lacks made
unimportable: the prepared GPU command cannot rot between GPU runs (issue 24)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import ROOT

BLOCK = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('snakemake', 'pingouin', 'umap', 'jsonschema'):
            raise ImportError('not on the GPU machine: ' + name)
sys.meta_path.insert(0, Block())
sys.argv = ['gpu_check.py'] + sys.argv[1:]
runpy.run_path('benchmarks/gpu_check.py', run_name='__main__')
"""


def test_gpu_check_quick_mode_runs_without_the_workflow_packages(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    r = subprocess.run([sys.executable, "-c", BLOCK, "--device", "cpu", "--quick", "--out",
                        str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert set(result["parts"]) == {"correctness", "zoo_training", "autoencoder", "finetune",
                                    "gan"}
    assert result["failures"] == [] and result["crashed"] == []
    checks = result["parts"]["correctness"]
    assert all(v["ok"] for v in checks.values())
    assert {k.removeprefix("vectorised_vs_one_at_a_time_") for k in checks
            if k.startswith("vectorised")} >= {"zoo_cnn", "unterthiner_cnn", "tetris_mlp"}
    assert result["parts"]["zoo_training"]["curve"][0]["speedup_vs_one_at_a_time"] > 0
    assert "# GPU check" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_parts_are_skippable(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    r = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--quick",
                        "--only", "gan", "--out", str(tmp_path)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert set(json.loads((tmp_path / "gpu_check.json").read_text())["parts"]) == {"gan"}
