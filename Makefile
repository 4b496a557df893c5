# The two commands of the README (demo, test) and the developer's shortcuts. Each creates .venv
# and installs what it needs on first use.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell md5sum pyproject.toml | cut -c1-8)
PYTEST := $(VENV)/bin/python -m pytest

.PHONY: demo test unit e2e cluster lint rulegraph bench

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)  ## the whole DAG on bundled data (scikit-learn digits), CPU, minutes
	$(VENV)/bin/snakemake --cores all --configfile config/demo.yaml

# Two workers, each test file kept whole in one (--dist loadfile): the tiny end-to-end run
# (tests/test_workflow.py) and the SLURM run (tests/test_slurm.py, mostly waiting on status
# polls) are the long poles and run side by side, the unit tests beside the SLURM run.
test: $(STAMP)  ## everything CI runs: unit, end-to-end (config/test/tiny.yaml) and cluster tests
	$(PYTEST) -q -n 2 --dist loadfile --durations=15

unit: $(STAMP)  ## the library's unit tests, about a minute
	$(PYTEST) -q -m unit

e2e: $(STAMP)  ## Snakemake end to end on config/test/tiny.yaml (and the resume-after-kill test)
	$(PYTEST) -q -m e2e

cluster: $(STAMP)  ## the tiny pipeline through profiles/slurm on a real single-node SLURM (root, apt)
	$(PYTEST) -q -m cluster

lint: $(STAMP)  ## ruff and snakemake --lint, both clean
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakemake --lint --configfile config/demo.yaml
	$(VENV)/bin/snakemake --lint --configfile config/config.yaml

rulegraph: $(STAMP)  ## docs/rulegraph.png, the README's DAG (needs graphviz's dot)
	$(VENV)/bin/snakemake --configfile config/test/tiny.yaml --rulegraph | dot -Tpng -Gdpi=80 > docs/rulegraph.png

bench: $(STAMP)  ## zoo-training throughput vs M against one at a time (writes benchmarks/results/)
	$(VENV)/bin/python benchmarks/bench_m_curve.py
