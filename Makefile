# Pipeline Warden: every target does its own set-up. `make demo` and `make test` on a fresh machine.
# Everything installed comes from lock files: uv.lock (app, tests, dev tools), tools/sam.txt and
# tools/checkov.txt (SAM CLI and checkov, each in its own environment) and layers/warden/requirements.txt
# (what `sam build` puts in the layer). `make lock` rewrites them; nothing else resolves versions.
# PY: the Python 3.13 every environment is built with. `make PY=/path/to/python3.13 ...` to choose one;
# otherwise tools/find-python finds one that runs (python3.13 on PATH, pyenv's 3.13, /usr/local/bin, /usr/bin).
ifndef PY
PY := $(shell sh tools/find-python)
endif
PY_MISSING := no Python 3.13 found (tried python3.13 on PATH, $$(pyenv root)/versions/3.13*/bin/python, \
	/usr/local/bin/python3.13, /usr/bin/python3.13): install Python 3.13 (for example: pyenv install 3.13; \
	or the python3.13 package of the system), or run make with PY=/path/to/python3.13
PYBIN := $(dir $(PY))
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov

export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# uv uses this interpreter and never downloads one.
export UV_PYTHON := $(PY)
export UV_PYTHON_DOWNLOADS := never
# Local work never needs an account: region and dummy credentials for the embedded AWS.
LOCAL_AWS := AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
	AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_EC2_METADATA_DISABLED=true
# sam build finds python3.13 on PATH (no Docker needed).
SAM_PATH := PATH=$(PYBIN):$$PATH

.PHONY: architecture readme-demo demo test faults fuzz lint lint-code lint-templates lint-checkov build bench deploy clean venv lock \
	python browser

# The interpreter make uses (tools/find-python), or what to install.
python:
	@test -n "$(PY)" || { echo 'make: $(PY_MISSING)' >&2; exit 1; }
	@echo $(PY)

# uv itself, pinned, bootstrapped with the interpreter's own pip.
$(UV):
	@test -n "$(PY)" || { echo 'make: $(PY_MISSING)' >&2; exit 1; }
	test -x $(UV_VENV)/bin/python || $(PY) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install -q "uv==$(UV_VERSION)"

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra dev -q
	touch $@

$(SAM_VENV)/.installed: tools/sam.txt | $(UV)
	test -x $(SAM_VENV)/bin/python || $(UV) venv -q $(SAM_VENV)
	$(UV) pip sync -q --python $(SAM_VENV)/bin/python --require-hashes tools/sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: tools/checkov.txt | $(UV)
	test -x $(CHECKOV_VENV)/bin/python || $(UV) venv -q $(CHECKOV_VENV)
	$(UV) pip sync -q --python $(CHECKOV_VENV)/bin/python --require-hashes tools/checkov.txt
	touch $@

venv: $(VENV)/.installed

# Re-resolve every lock from the ranges in pyproject.toml, tools/*.in and layers/warden/requirements.in.
# The layer is compiled against uv.lock, so Lambda runs the versions the tests ran.
lock: | $(UV)
	$(UV) lock --upgrade
	$(UV) export --frozen --extra dev --no-hashes --no-emit-project -q -o .lock-constraints.txt
	$(UV) pip compile -q --python-version 3.13 --python-platform aarch64-manylinux2014 --generate-hashes \
		--no-header -c .lock-constraints.txt layers/warden/requirements.in -o layers/warden/requirements.txt
	rm -f .lock-constraints.txt
	$(UV) pip compile -q --python-version 3.13 --generate-hashes --no-header --upgrade tools/sam.in -o tools/sam.txt
	$(UV) pip compile -q --python-version 3.13 --generate-hashes --no-header --upgrade tools/checkov.in -o tools/checkov.txt

demo: $(VENV)/.installed
	$(LOCAL_AWS) $(VENV)/bin/warden demo

# Redraw docs/architecture.svg and docs/accounts.svg from template.yaml and workload-account.yaml (after either
# changes; tests/integration/template/test_architecture_picture.py fails while they differ).
architecture: $(VENV)/.installed
	$(VENV)/bin/python docs/architecture.py

# Rewrite the README's excerpt of `make demo` from its real output (after the story or the timeline changes;
# tests/integration/local/test_demo_story.py fails while they differ).
readme-demo: $(VENV)/.installed
	$(LOCAL_AWS) $(VENV)/bin/python -m warden_local.demo --readme README.md

# Three targets, so that `make -j2` (as `make test` runs them) checks with checkov beside the rest.
lint: lint-code lint-templates lint-checkov

lint-code: $(VENV)/.installed
	$(VENV)/bin/ruff check .

lint-templates: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/cfn-lint template.yaml workload-account.yaml
	$(LOCAL_AWS) $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

lint-checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -f template.yaml -f workload-account.yaml --framework cloudformation --skip-download \
		--compact --quiet

build: $(SAM_VENV)/.installed
	$(LOCAL_AWS) $(SAM_PATH) $(SAM_VENV)/bin/sam build --template-file template.yaml

# lint, build and browser side by side on two cores (each target's output kept together), then the tests.
test:
	$(MAKE) -j2 --output-sync=target --no-print-directory lint build browser
	$(LOCAL_AWS) $(VENV)/bin/python -m pytest -n 2 --durations=15 tests/unit tests/integration tests/faults

# The headless browser the DORA report's test opens (tests/integration/ledger/test_dora_report_browser.py):
# Debian's chromium, installed when missing (as root, or through sudo); CI reaches the package registries.
CHROMIUM := /usr/bin/chromium
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
browser:
	@test -x $(CHROMIUM) || { $(APT) update -qq && $(APT) install -y -qq chromium; }

# Every fault mode of every call in every story (`make test` runs each call and mode once).
faults: $(VENV)/.installed
	WARDEN_FAULTS=all $(LOCAL_AWS) $(VENV)/bin/python -m pytest -n 2 tests/faults

# 13,650 seeded hostile inputs over the seven functions (tests/fuzz.py): prints how many were handled,
# dead-lettered and ignored (by reason) and unhandled; fails on any unhandled input, any dead letter
# without a known reason and any input ignored without one. `make test` runs 2,100 of them.
fuzz: $(VENV)/.installed
	$(LOCAL_AWS) $(VENV)/bin/python -m tests.fuzz $(FUZZ_ARGS)

bench: $(VENV)/.installed
	$(LOCAL_AWS) $(VENV)/bin/python -m tests.benchmarks.bench

# Real account: standard AWS credentials, parameters in samconfig.toml ([staging] or [prod]).
# `make deploy ENV=prod`; a plain assignment, so that a shell's own $ENV (sh's start-up file) is never taken for it.
ENV = staging
deploy: build
	$(SAM_VENV)/bin/sam deploy --config-file samconfig.toml --config-env $(ENV)

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(UV_VENV) .aws-sam bench.json
