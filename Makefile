# The README's two commands: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_CORE := $(VENV)/.stamp-core
STAMP_DEMO := $(VENV)/.stamp-demo
STAMP_DEV := $(VENV)/.stamp-dev
DEMO_EXTRAS := train,tools,embodied,langchain,ray,eval,openspiel,scienceworld
# torch is pinned so pip takes the local CPU build instead of downloading a multi-GB CUDA one.
TORCH := torch==2.13.0
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck setup setup-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(STAMP_CORE): pyproject.toml setup.py | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(STAMP_DEMO): pyproject.toml setup.py | $(BIN)/python
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[$(DEMO_EXTRAS)]"
	$(PIP) install -e ".[serve]" && $(PIP) install --no-deps openenv==0.10.0
	touch $@ $(STAMP_CORE)

$(STAMP_DEV): $(STAMP_DEMO) examples/plugin_env/pyproject.toml
	$(PIP) install -e ".[$(DEMO_EXTRAS),dev,trl,textworld,textarena]"
	$(PIP) install ./examples/plugin_env
	touch $@

setup: $(STAMP_CORE)

setup-dev: $(STAMP_DEV)

demo: $(STAMP_DEMO)
	@bash scripts/ensure-java.sh
	@$(BIN)/python scripts/demo.py

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy envalign envs agents training sandbox

test: $(STAMP_DEV)
	bash scripts/ensure-docker.sh
	bash scripts/ensure-browser.sh
	bash scripts/ensure-java.sh
	@if docker info >/dev/null 2>&1; then $(BIN)/envalign sandbox build-image; fi
	$(MAKE) --no-print-directory lint typecheck
	$(BIN)/python -m pytest -p no:cacheprovider -q -ra $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
