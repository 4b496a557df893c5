# The two commands of the README. Each creates .venv and installs what it needs on first use.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell md5sum pyproject.toml | cut -c1-8)

.PHONY: demo test lint bench

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)  ## the whole DAG on bundled data (scikit-learn digits), CPU, minutes
	$(VENV)/bin/snakemake --cores all --configfile config/demo.yaml

test: $(STAMP)  ## the test suite, including an end-to-end Snakemake run on a tiny config
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/snakemake --lint --configfile config/demo.yaml

bench: $(STAMP)  ## zoo-training throughput vs M against one at a time (writes benchmarks/results/)
	$(VENV)/bin/python benchmarks/bench_m_curve.py
