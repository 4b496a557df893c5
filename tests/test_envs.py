"""envs/*.yaml pin the same versions as pyproject.toml, the one place versions are set."""

import re
import tomllib

import yaml

from helpers import ROOT, rule_bodies


def pins(specs):
    out = {}
    for s in specs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", s.strip())
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_conda_envs_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = pins(project["dependencies"])
    envs = list((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        deps = yaml.safe_load(env.read_text())["dependencies"]
        pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
        assert pins(pip) == wanted, env.name
        assert "python=3.11" in deps


def test_every_job_rule_names_an_env_and_a_log():
    for name, body in rule_bodies().items():
        assert "conda:" in body and "log:" in body, f"rule {name}"
