# Everything bootstraps from a bare machine with python3 and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PEERS  := benchmarks/.venv-peers

.PHONY: demo test fast lint types imports unit services bench-setup bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run pip only when pyproject.toml changes.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.demo-installed

# The demo runs from this folder and keeps everything in ./.alambic, the home that the
# README's commands, run from here, find.
demo: export ALAMBIC_HOME ?= $(CURDIR)/.alambic
demo: $(VENV)/.demo-installed
	@for old in examples/*/.alambic; do test ! -d $$old || echo "note: $$old is an older demo's home; the demo now keeps everything in ./.alambic (remove $$old)"; done
	$(BIN)/alambic run examples/quickstart/pipeline.py:quickstart
	test -f examples/fraud/data/listings.parquet || $(BIN)/python examples/fraud/generate.py
	$(BIN)/alambic run examples/fraud/pipeline.py:fraud
	$(BIN)/alambic models list
	$(BIN)/alambic models approve fraud-auto/1 --comment "reviewed in the demo"
	$(BIN)/alambic models show fraud-auto
	$(BIN)/python examples/fraud/serve_demo.py
	$(BIN)/python examples/fraud/monitor_demo.py
	$(BIN)/python examples/fraud/loop_demo.py
	$(BIN)/python examples/automl/digits.py
	@printf "\nalambic is in .venv/bin: source .venv/bin/activate puts it on the PATH\n"

services:
	@# PostgreSQL for the store tests (trust auth, database `test`); start it when it is down.
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

types: $(VENV)/.dev-installed
	$(BIN)/mypy

imports: $(VENV)/.dev-installed
	$(BIN)/lint-imports

# One pytest worker per core; a module's tests stay on one worker (its fixtures start once),
# modules in the order tests/conftest.py gives them (the minutes-long ones first).
unit: $(VENV)/.dev-installed services
	$(BIN)/pytest -n auto --dist loadscope --no-loadscope-reorder

test: lint types imports unit

# The edit-test loop: lint and the unit tier (no PostgreSQL, Ray, served apps or e2e).
fast: lint
	$(BIN)/pytest -q -x -m "not integration and not e2e"

# MLServer's pins (fastapi<0.116) clash with Prefect's: it gets a venv of its own; so does
# Evidently (it needs pandas 2, alambic has pandas 3).
bench-setup:
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet -r benchmarks/peers/requirements.txt
	test -x benchmarks/.venv-mlserver/bin/python || $(PYTHON) -m venv benchmarks/.venv-mlserver
	echo '*' > benchmarks/.venv-mlserver/.gitignore  # not in the repository's .gitignore
	benchmarks/.venv-mlserver/bin/python -m pip install --quiet --upgrade pip
	benchmarks/.venv-mlserver/bin/python -m pip install --quiet -r benchmarks/peers/requirements-mlserver.txt
	test -x benchmarks/.venv-evidently/bin/python || $(PYTHON) -m venv benchmarks/.venv-evidently
	echo '*' > benchmarks/.venv-evidently/.gitignore  # not in the repository's .gitignore
	benchmarks/.venv-evidently/bin/python -m pip install --quiet --upgrade pip
	benchmarks/.venv-evidently/bin/python -m pip install --quiet -r benchmarks/peers/requirements-evidently.txt
	test -x benchmarks/.venv-flaml/bin/python || $(PYTHON) -m venv benchmarks/.venv-flaml
	echo '*' > benchmarks/.venv-flaml/.gitignore  # not in the repository's .gitignore
	benchmarks/.venv-flaml/bin/python -m pip install --quiet --upgrade pip
	benchmarks/.venv-flaml/bin/python -m pip install --quiet -r benchmarks/peers/requirements-flaml.txt
	test -x benchmarks/.venv-autogluon/bin/python || $(PYTHON) -m venv benchmarks/.venv-autogluon
	echo '*' > benchmarks/.venv-autogluon/.gitignore  # not in the repository's .gitignore
	benchmarks/.venv-autogluon/bin/python -m pip install --quiet --upgrade pip
	benchmarks/.venv-autogluon/bin/python -m pip install --quiet -r benchmarks/peers/requirements-autogluon.txt
	# h2load (nghttp2's C load generator) drives benchmarks/serving.py when it is there
	command -v h2load >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& apt-get install -y -qq nghttp2-client >/dev/null) \
		|| echo "h2load not installed: benchmarks/serving.py falls back to its Python client"

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/orchestration.py
	$(BIN)/python benchmarks/tracking.py
	$(BIN)/python benchmarks/tuning.py
	$(BIN)/python benchmarks/registry.py
	$(BIN)/python benchmarks/serving.py
	$(BIN)/python benchmarks/batch.py
	$(BIN)/python benchmarks/monitoring.py
	$(BIN)/python benchmarks/scheduler.py
	$(BIN)/python benchmarks/automl.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .alambic examples/*/.alambic
