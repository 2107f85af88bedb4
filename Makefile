# Set-up and the main jobs. `make demo` and `make test` each build .venv from scratch if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_ASSETS := $(abspath ../shared/assets/silent-face)
export XFAS_ASSETS ?= $(if $(wildcard $(SHARED_ASSETS)),$(SHARED_ASSETS),)
SHARED_FACES := $(abspath ../shared/faces/london)
export XFAS_FACES ?= $(if $(wildcard $(SHARED_FACES)),$(SHARED_FACES),)

.PHONY: demo test test-quick bench install clean

# torch and torchvision first, pinned: timm and onnx2torch (the backbones and onnx extras) need
# torchvision, and an unpinned one makes pip replace the CPU torch with a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0 torchvision==0.28.0
	$(BIN)/pip install --quiet -e '.[serve,dask,test,backbones,onnx]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/xfas demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The edit-test loop: the suite without the tests marked slow (`make test` runs them all, as CI).
test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Timings and measurements (never in tests): each script writes a Markdown table to
# benchmarks/results/.
bench: $(STAMP)
	$(BIN)/pip install --quiet --no-deps craft-xai dianna
	$(BIN)/pip install --quiet xarray
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_explainers.py
	$(BIN)/python benchmarks/bench_sped.py
	$(BIN)/python benchmarks/load_service.py
	$(BIN)/python benchmarks/bench_realism.py

clean:
	rm -rf $(VENV) runs
