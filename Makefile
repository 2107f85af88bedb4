# Set-up and the main jobs. `make demo` and `make test` each build .venv from scratch if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_ASSETS := $(abspath ../shared/assets/silent-face)
export XFAS_ASSETS ?= $(if $(wildcard $(SHARED_ASSETS)),$(SHARED_ASSETS),)

.PHONY: demo test test-quick bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[serve,dask,test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/xfas demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The edit-test loop: the suite without the tests marked slow (`make test` runs them all, as CI).
test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Timings (never in tests): each script writes a Markdown table to benchmarks/results/.
bench: $(STAMP)
	$(BIN)/pip install --quiet --no-deps craft-xai
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_explainers.py
	$(BIN)/python benchmarks/bench_sped.py
	$(BIN)/python benchmarks/load_service.py

clean:
	rm -rf $(VENV) runs
