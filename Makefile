# gtchain's development targets. `make help` lists every target with a `## description`.
# Each tool lives in its own virtual environment, created on first use:
#   .venv          the code, its tests, ruff and mypy (requirements-dev.txt), Python from .python-version
#   .venvs/sam     SAM CLI, cfn-lint and the serverless rules (tools/sam.txt)
#   .venvs/checkov checkov on Python 3.12 (tools/checkov.txt)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo "$$HOME/.pyenv")
PYTHON_VERSION := $(shell cat .python-version)
CHECKOV_PYTHON_VERSION := 3.12.1
PYTHON := $(PYENV_ROOT)/versions/$(PYTHON_VERSION)/bin/python3
CHECKOV_PYTHON := $(PYENV_ROOT)/versions/$(CHECKOV_PYTHON_VERSION)/bin/python3

VENV := .venv
SAM_VENV := .venvs/sam
CHECKOV_VENV := .venvs/checkov
SAM := $(SAM_VENV)/bin/sam
TEMPLATE := template.yaml
LAMBDA_CODE := functions layers local cli

export SAM_CLI_TELEMETRY := 0

.PHONY: help venv test test-fast lint validate build ci clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---- environments -------------------------------------------------------------------------------

$(PYTHON) $(CHECKOV_PYTHON):
	@echo "$@ is missing: install it with pyenv (pyenv install $(notdir $(patsubst %/bin/python3,%,$@)))" >&2
	@exit 1

venv: $(VENV)/.installed ## Create .venv (Python from .python-version), install requirements-dev.txt and gtchain (editable)

$(VENV)/.installed: requirements-dev.txt pyproject.toml .python-version | $(PYTHON)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

$(SAM_VENV)/.installed: tools/sam.txt | $(PYTHON)
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r tools/sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: tools/checkov.txt | $(CHECKOV_PYTHON)
	test -x $(CHECKOV_VENV)/bin/python || $(CHECKOV_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tools/checkov.txt
	touch $@

# ---- gates (what .ci/run runs) ------------------------------------------------------------------

test: venv .venvs/awscli/.installed ## Run the whole test suite (pytest, in parallel): what CI runs
	$(VENV)/bin/python -m pytest -n auto

test-fast: venv ## The inner loop: unit and contract tests on in-memory fakes (no emulator, no figures, no browser)
	$(VENV)/bin/python -m pytest -n auto -m "not slow" tests/unit tests/contract

lint: venv ## ruff check, ruff format --check, mypy --strict over functions/ layers/ local/, the layers contract (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(LAMBDA_CODE)
	$(VENV)/bin/lint-imports --no-cache

validate: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## sam validate --lint, cfn-lint + serverless rules, checkov
	$(SAM) validate --lint --template $(TEMPLATE)
	$(SAM_VENV)/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- $(TEMPLATE)
	@echo "cfn-lint (with cfn-lint-serverless rules): no findings"
	skips="$$($(CHECKOV_VENV)/bin/python tools/checkov_skips.py $(TEMPLATE))"; \
	$(CHECKOV_VENV)/bin/checkov --file $(TEMPLATE) --framework cloudformation --skip-download --compact \
		--quiet --skip-check "$$skips"
	@echo "checkov: no failed checks (skips, each with its reason, are in $(TEMPLATE)'s Metadata)"

# The runtime's Python must be on PATH for SAM's pip builder; pyenv's interpreter for .python-version is.
build: $(SAM_VENV)/.installed | $(PYTHON) ## sam build (no containers); print each function's unzipped size with its layers, fail over 250 MiB
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM) build --template $(TEMPLATE) --cached --parallel
	@# Lambda's code directories are read-only, so without shipped bytecode every cold start compiles the
	@# package from source (`make bench` measures the difference); unchecked-hash pyc survive zipping.
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build
	$(SAM_VENV)/bin/python tools/package_sizes.py .aws-sam/build

ci: lint validate build test ## Every gate, as .ci/run runs them

clean: ## Remove build output (.aws-sam); the environments stay
	rm -rf .aws-sam

# Further targets (demo, bench, ...) go below; give each a `## description` so `make help` lists it.

.PHONY: demo
demo: venv ## Run the seed experiment on the embedded emulator (no AWS account); reports land in out/ (ARGS="--seed 3 ...")
	$(VENV)/bin/python -m local.demo $(ARGS)

.PHONY: bench
bench: venv ## Measure against the targets; table + bench/results.json (`make build` first, for sizes and cold start)
	$(VENV)/bin/python -m bench.run

# The local endpoint (local/endpoint.py; see docs/local.md). .venvs/awscli holds the AWS CLI its tests drive.
AWSCLI_VENV := .venvs/awscli

$(AWSCLI_VENV)/.installed: tools/awscli.txt | $(PYTHON)
	test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet -r tools/awscli.txt
	touch $@

.PHONY: local invoke
local: venv ## Serve the embedded stack on 127.0.0.1:4566 for any AWS client, until Ctrl-C (ARGS="--port 4567 --speed 600")
	$(VENV)/bin/python -m local.endpoint $(ARGS)

invoke: venv ## Run one function with one event against `make local` (FUNCTION=StartFunction EVENT=events/<file>.json)
	$(VENV)/bin/python -m local.invoke $(FUNCTION) $(EVENT) $(ARGS)

# The chain report in a real browser (tools/report_check.py, docs/reports.md): Debian's chromium, installed on first
# use (apt-get, as root). Screenshots and A4 prints of every checked report stay in out/report-check/ for CI to keep.
.PHONY: report-check
report-check: venv ## Open sample chain reports (and out/report.html) in headless Chromium: fail on console errors, figures at zero size, fetches, broken names, A4 overflow
	command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }
	GTCHAIN_REQUIRE_CHROMIUM=1 $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit/report/test_report_browser.py
	$(VENV)/bin/python -m tools.report_check --out out/report-check

# The seeded chaos test (tests/e2e/test_e2e_chaos.py; docs/development.md#chaos) at a larger size than CI's one seed
# of 6 chains: SEEDS seeds from FIRST_SEED, CHAINS chains each, the reconciler at the template's 10 minutes.
SEEDS ?= 10
CHAINS ?= 40
FIRST_SEED ?= 1
.PHONY: chaos
chaos: venv ## The chaos test, longer: SEEDS seeds (from FIRST_SEED) of CHAINS chains each, in parallel (SEEDS=10 CHAINS=40)
	GTCHAIN_CHAOS_SEEDS=$(SEEDS) GTCHAIN_CHAOS_FIRST_SEED=$(FIRST_SEED) GTCHAIN_CHAOS_CHAINS=$(CHAINS) \
	GTCHAIN_CHAOS_RECONCILE_MINUTES=10 \
		$(VENV)/bin/python -m pytest -n auto -p no:cacheprovider -p no:logging -rA tests/e2e/test_e2e_chaos.py
