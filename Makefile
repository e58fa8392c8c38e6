# Two entry points: `make demo` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch installs from local disk; override with TORCH_SPEC="torch" for a CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test test-all lint venv clean

$(BIN)/advisor: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(BIN)/advisor

venv: $(BIN)/advisor

demo: $(BIN)/advisor
	$(BIN)/advisor demo

# The fast tier: unit tests, the KB and engine (golden facts of the examples included),
# the command line, a handful of step-bounded probes. Everything else is marked slow.
test: $(BIN)/advisor
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow" -n auto

# The full suite (CI): every example end to end, the worker process, Pilot and snapshot tests
# of the TUI, the wheel.
test-all: $(BIN)/advisor
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(BIN)/advisor
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build dist *.egg-info
