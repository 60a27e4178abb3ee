# Pipeline Warden: every target does its own set-up. `make demo` and `make test` on a fresh machine.
PY ?= /root/.pyenv/versions/3.13.0/bin/python
PYBIN := $(dir $(PY))
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
SAM_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30

export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Local work never needs an account: region and dummy credentials for the embedded AWS.
LOCAL_AWS := AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
	AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_EC2_METADATA_DISABLED=true
# sam build finds python3.13 on PATH (no Docker needed).
SAM_PATH := PATH=$(PYBIN):$$PATH

.PHONY: demo test lint build bench deploy clean venv

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	touch $@

$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q "aws-sam-cli==$(SAM_VERSION)"
	touch $@

$(CHECKOV_VENV)/.installed:
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q "checkov==$(CHECKOV_VERSION)"
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(LOCAL_AWS) $(VENV)/bin/warden demo

lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(LOCAL_AWS) $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

build: $(SAM_VENV)/.installed
	$(LOCAL_AWS) $(SAM_PATH) $(SAM_VENV)/bin/sam build --template-file template.yaml

test: lint build
	$(LOCAL_AWS) $(VENV)/bin/python -m pytest -n 2 tests/unit tests/integration tests/faults

bench: $(VENV)/.installed
	$(LOCAL_AWS) $(VENV)/bin/python -m tests.benchmarks.bench

# Real account: standard AWS credentials, parameters in samconfig.toml.
deploy: build
	$(SAM_VENV)/bin/sam deploy --config-file samconfig.toml

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam bench.json
