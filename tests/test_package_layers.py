"""The library's floors: each package imports only the floors below it, a stage never imports
another stage (stages talk through files, as the workflow's rules do), and the trainer knows
nothing of the config. Read from the import statements of every module."""

import ast

import pytest

from helpers import ROOT

SRC = ROOT / "src/hyperreps"
STAGES = ("zoos", "representation", "generative")
FLOORS = {  # unit -> floor; a top-level module not listed is the ground floor (0)
    "trainer": 1, "autoencoder": 1, "sampling": 1,
    "importers": 2, "resources": 2,
    "config": 3,
    **{stage: 4 for stage in STAGES},
    "figures": 5,
    "cli": 6,
}


def _unit(module: str) -> str:
    return module.split(".")[0]


def _imports(path):
    """(importing module's unit, imported module) for every import of hyperreps in ``path``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    package = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        elif node.module and node.module.startswith("hyperreps."):
            target = node.module[len("hyperreps."):]
        else:
            continue
        for alias in node.names:  # `from . import stats`, `from ..importers import registry`
            name = f"{target}.{alias.name}" if target else alias.name
            yield name if (SRC / name.replace(".", "/")).with_suffix(".py").exists() or \
                (SRC / name.replace(".", "/")).is_dir() else target


MODULES = sorted(p for p in SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_each_module_imports_only_floors_below_its_own(path):
    own = _unit(".".join(path.relative_to(SRC).with_suffix("").parts))
    floor = FLOORS.get(own, 0)
    for target in _imports(path):
        other = _unit(target)
        if not other or other == own:
            continue
        assert FLOORS.get(other, 0) < floor or (floor == 0 and FLOORS.get(other, 0) == 0), \
            f"{path.relative_to(SRC)} (floor {floor}) imports {target} (floor " \
            f"{FLOORS.get(other, 0)})"


def test_the_stages_are_the_rules_files_and_packages():
    rules = sorted(p.stem for p in (ROOT / "rules").glob("*.smk")
                   if p.stem not in ("common", "resources"))
    assert rules == sorted(STAGES), rules
    assert all((SRC / s / "__init__.py").exists() for s in STAGES)
    assert set(FLOORS) <= {p.stem for p in SRC.iterdir() if p.is_dir() or p.suffix == ".py"}
