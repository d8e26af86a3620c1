# Two commands for a fresh clone: `make run` and `make test`. Both bootstrap .venv first; the
# stamp file depends on pyproject.toml, so a second call installs nothing until it changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra arguments: `make test PYTEST_ARGS="-k devstack -x"`, `make run ARGS="--no-worker"`,
# `make bench ARGS="--n 500 --concurrency 100"`, `make faults ARGS=--quick`.
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (0: one process, no xdist). Most tests wait on servers
# more than they compute, so a worker per core and one more keeps both cores busy. A module goes
# to one worker whole (its module-scoped fixtures are made once), in collection order: the
# modules with `slow` tests first (tests/conftest.py), so the long ones overlap.
PYTEST_WORKERS ?= 3
PYTEST_DIST := --dist loadscope --no-loadscope-reorder
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt bench faults clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

# uv installs in a few seconds what pip takes ~25 s over. It comes from PyPI into the venv itself
# (with the interpreter's own pip); where it cannot be had, or fails, pip does the install. Both
# compile the bytecode at install time, as pip always did: where PYTHONDONTWRITEBYTECODE is set,
# nothing else ever writes it, and every Python process would compile its imports again.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(BIN)/python -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip --python $(BIN)/python install --disable-pip-version-check --quiet uv || true
	$(BIN)/python -m uv pip install --python $(BIN)/python --quiet --compile-bytecode -e '.[dev]' pip || \
	  { $(BIN)/python -m ensurepip --upgrade --default-pip >/dev/null && \
	    $(BIN)/python -m pip install --disable-pip-version-check --quiet -e '.[dev]'; }
	touch $@

# The worker runs this repository's example processors, named explicitly: the package does not
# ship them, and the CLI imports them from this directory (the source tree).
EXAMPLES := --import workflows --import activities

run: $(STAMP)  ## start Temporal, PocketBase and a worker running the examples (durable-tasks dev)
	$(BIN)/durable-tasks dev $(EXAMPLES) $(ARGS)

lint: $(STAMP)  ## ruff lint, ruff format check, mypy (strict) on the package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint, then the whole test suite
	$(BIN)/python .ci/pytest_guard.py -n $(PYTEST_WORKERS) $(PYTEST_DIST) $(PYTEST_ARGS)

fmt: $(STAMP)  ## format and auto-fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## bare Temporal vs durable-tasks on real servers, side by side (bench/README.md)
	$(BIN)/python -m bench.run $(ARGS)

faults: $(STAMP)  ## the fault and bad-input campaign on real servers (faults/run.py; ARGS=--quick)
	$(BIN)/python -m faults.run $(ARGS)

clean:  ## remove .venv and .data (the dev stack's state)
	rm -rf $(VENV) .data
