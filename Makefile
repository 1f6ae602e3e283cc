# Two commands do all the set-up on a fresh machine:
#   make run    creates .venv, installs MinerPlan, opens the desktop app on the shipped default scenario
#   make test   creates .venv if needed, installs, runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/minerplan

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The whole fuzz corpus (tests/fuzz): prints tried / clear / traceback / wrong-exit / silent-acceptance.
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/run.py

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/optimizer.py
	$(BIN)/python benchmarks/gui.py
	$(BIN)/python benchmarks/export.py
	$(BIN)/python benchmarks/scenario_paths.py

screenshots: $(STAMP)
	$(BIN)/python -m ui.screenshots

clean:
	rm -rf $(VENV) build *.egg-info
