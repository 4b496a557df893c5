"""Prose that a test keeps true: every library function that docs/outputs.md names exists where
it says, the README's Layout names every package of the library, and the schema's description
of ``import_from.format`` names every registered format."""

import importlib
import re

import pytest
import yaml

from helpers import ROOT

SRC = ROOT / "src/hyperreps"


def _named_functions():
    """``module.function`` references of the library-function column of docs/outputs.md; a
    bare name continues the module named before it in the same cell."""
    refs = []
    for line in (ROOT / "docs/outputs.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 5 or not cells[1].startswith("`") or cells[3] == "library function":
            continue
        module = None
        for ref in re.findall(r"`([A-Za-z_][\w.*]*)`", cells[3]):
            if "." in ref:
                module, name = ref.rsplit(".", 1)
            elif module is None:
                raise AssertionError(f"{cells[1]}: {ref!r} names no module")
            else:
                name = ref
            refs.append((cells[1].strip("`"), module, name))
    return refs


REFS = _named_functions()


def test_outputs_md_names_functions():
    assert len(REFS) > 40


@pytest.mark.parametrize("rule,module,name", REFS, ids=[f"{r}:{m}.{n}" for r, m, n in REFS])
def test_every_function_docs_outputs_names_exists_where_it_says(rule, module, name):
    mod = importlib.import_module(f"hyperreps.{module}")
    if name != "*":
        assert callable(getattr(mod, name, None)), f"{rule}: hyperreps.{module}.{name} not found"


def test_the_readme_layout_names_every_package_and_no_missing_one():
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    layout = layout.split("\n## ", 1)[0]
    packages = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").exists())
    missing = [p for p in packages if f"`{p}/`" not in layout]
    assert not missing, f"README's Layout lacks the packages {missing}"
    for named in re.findall(r"`(\w+)/`", layout):
        if named in ("src", "rules", "config", "envs", "profiles", "report", "benchmarks",
                     "experiments", "docs", "tests", "results", "workflow", "scripts"):
            continue
        assert (SRC / named).is_dir(), f"README's Layout names {named}/, not a package"


def test_the_schema_describes_every_registered_format():
    from hyperreps.config.schema import load_schema
    from hyperreps.importers.registry import FORMATS

    raw = yaml.safe_load((SRC / "config.schema.yaml").read_text())
    branch = raw["$defs"]["zoo"]["properties"]["import_from"]["oneOf"][1]["properties"]
    assert "enum" not in branch["format"]  # filled in from the registry, never written twice
    for name in FORMATS:
        assert name in branch["format"]["description"]
    loaded = load_schema()["$defs"]["zoo"]["properties"]["import_from"]["oneOf"][1]
    assert loaded["properties"]["format"]["enum"] == list(FORMATS)
