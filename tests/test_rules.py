"""The rules' contracts that no single run shows: which jobs ask for a GPU, and that every rule
of the paper config's DAG is indexed in docs/outputs.md."""

import re

import yaml

from helpers import ROOT, rule_bodies


def gpu_rules_list():
    text = (ROOT / "rules/resources.smk").read_text()
    block = re.search(r"^GPU_RULES = \[(.*?)^\]", text, flags=re.M | re.S).group(1)
    return re.findall(r'"(\w+)"', block)


def test_the_rules_asking_for_a_gpu_are_gpu_rules_and_the_profiles_gpu_partition():
    declared = {name for name, body in rule_bodies().items() if re.search(r"\bgpu=GPU\b", body)}
    listed = gpu_rules_list()
    assert len(listed) == len(set(listed))
    assert declared == set(listed)
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    to_gpu = {rule for rule, res in profile["set-resources"].items()
              if res.get("slurm_partition") == "gpu" and res.get("gpu") == 1}
    assert to_gpu == set(listed)
    assert set(profile["set-resources"]) == to_gpu  # nothing else is sent anywhere special


def test_no_rule_decides_the_gpu_on_its_own():
    for name, body in rule_bodies().items():
        for line in re.findall(r"^\s*gpu=.*$", body, flags=re.M):
            assert line.strip() == "gpu=GPU,", f"rule {name}: {line.strip()}"


def test_every_rule_of_the_paper_dag_is_indexed_in_docs_outputs(paper_dry_run):
    r = paper_dry_run
    assert r.returncode == 0, r.stderr[-2000:]
    stats = (r.stdout + r.stderr).split("Job stats:")[1].split("total")[0]
    rules = set(re.findall(r"^(\w+)\s+\d+$", stats, flags=re.M)) - {"all", "job"}
    bodies = rule_bodies()
    assert len(rules) > 20 and rules <= set(bodies)
    index = (ROOT / "docs/outputs.md").read_text()
    every_rule = set(bodies) - {"all"}
    indexed = set(re.findall(r"^\| `(\w+)` \|", index, flags=re.M))
    assert rules <= indexed, f"rules missing from docs/outputs.md: {sorted(rules - indexed)}"
    assert indexed == every_rule, f"not in both: {sorted(indexed ^ every_rule)}"
    for rule in every_rule:  # one script per rule, named after it
        assert f'"../workflow/scripts/{rule}.py"' in bodies[rule], rule
