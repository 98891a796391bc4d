# Two commands for users: `make demo` and `make test`. Each builds the virtualenv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gridledger paper --chaos

test: $(STAMP)
	bash .ci/gates
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/ledger_bench.py
	$(BIN)/python bench/paper_bench.py
	$(BIN)/python bench/backtest_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
