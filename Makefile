# The README's commands. Everything starts from a bare Python 3: `make demo` and `make test`
# create .venv on first use. torch is pinned to the CPU build first (a bare `torch` requirement
# would pull a multi-GB CUDA build); pyproject keeps `torch>=2.3` for users elsewhere.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TORCH  := torch==2.13.0
LINT_TREE := .lint-imports

.PHONY: setup demo test test-cluster lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet --quiet -e ".[ray,tune,postgres,dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/rl-lr bench --suite quick --out runs/quick
	@echo "Next: source $(BIN)/activate  (then rl-lr works in this shell; or call $(BIN)/rl-lr)"

test: setup lint
	$(BIN)/python -m pytest -q

# A Ray cluster of separate nodes without a shared filesystem, and a PostgreSQL study (both
# started by the tests; root needed, as on CI): a few minutes, so not part of `make test`.
test-cluster: setup
	$(BIN)/python -m pytest -q -m cluster tests/test_cluster.py tests/test_postgres.py

lint: setup
	$(BIN)/ruff check rl_lr envs agents tests benchmarks
	$(BIN)/mypy
	@# import-linter reads the package from disk: give it rl_lr/ as installed, envs/ and agents/
	@# inside it (symlinked files), then check the layer contracts of pyproject.toml.
	rm -rf $(LINT_TREE) && mkdir -p $(LINT_TREE)
	cp -rs $(CURDIR)/rl_lr $(LINT_TREE)/rl_lr
	cp -rs $(CURDIR)/envs $(LINT_TREE)/rl_lr/envs
	cp -rs $(CURDIR)/agents $(LINT_TREE)/rl_lr/agents
	cd $(LINT_TREE) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --no-cache $(CURDIR)/pyproject.toml

bench: setup
	$(BIN)/python benchmarks/bench_lr_overhead.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache $(LINT_TREE)
