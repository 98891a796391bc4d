# Two commands for users: `make demo` and `make test`. Each builds the virtualenv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench wheel clean

# An editable install: always the pure core (buildtools/backend.py says why).
$(STAMP): pyproject.toml setup.py buildtools/backend.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The spot session, then the same grid as a neutral grid on the simulated USDⓈ-M perpetual
# (long below the start price, short above it), half a day with one funding payment, chaos on.
demo: $(STAMP)
	$(BIN)/gridledger paper --chaos
	$(BIN)/gridledger paper --chaos --market perp --direction neutral --duration 12h

test: $(STAMP)
	bash .ci/gates
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/ledger_bench.py
	$(BIN)/python bench/paper_bench.py
	$(BIN)/python bench/backtest_bench.py
	$(BIN)/python bench/compiled_bench.py

# A wheel with the core compiled by mypyc (pure Python where there is no C compiler), in dist/.
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
