# authhooks: `make dev` runs the whole service locally; `make test` runs every check and test.
# Both install what they need first. The Python version is the template's Lambda runtime (one place).

PYTHON_VERSION := $(shell sed -n 's/^ *Runtime: python\([0-9.]*\) *$$/\1/p' template.yaml | head -n 1)
PYTHON ?= python$(PYTHON_VERSION)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser dev test lint build invoke bench audit clean secret secrets-check

$(BIN)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# Debian's Chromium for the landing-page browser tests (no browser download: the network is closed), a Japanese
# font for the CJK screenshots, and the pinned axe-core accessibility checker from the npm registry (git-ignored).
AXE_CORE_VERSION := 4.14.1
AXE_DIR := tests/e2e/.axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

browser: $(AXE)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@fc-list :lang=ja | grep -q . || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fonts-noto-cjk; }

$(AXE): Makefile
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	npm install --prefix $(AXE_DIR) --no-save --no-package-lock --no-audit --no-fund axe-core@$(AXE_CORE_VERSION)
	touch $@

dev: install
	$(BIN)/python -m local

lint: install
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

build: install
	$(BIN)/sam build

test: install browser lint build
	AUTHHOOKS_ARTIFACT=build $(BIN)/python -m pytest

# make secret VENDOR=livevox FILE=livevox.json STACK=authhooks-staging: merge, check, never print a value.
secret: install
	$(BIN)/python -m scripts.vendor_secrets put $(VENDOR) --stack $(STACK) --file $(FILE)

secrets-check: install
	$(BIN)/python -m scripts.vendor_secrets check --stack $(STACK)

# make invoke FN=LoudVoiceSessionFunction EVENT=events/loudvoice_start_session.json
invoke: install
	$(BIN)/python -m local.invoke $(FN) $(EVENT)

bench: install build
	AUTHHOOKS_ARTIFACT=build $(BIN)/python -m bench

# OpenAPI, fuzzing, fault matrix, hostile transport, canaries, template policies with larger budgets; one table.
audit: install build
	AUTHHOOKS_ARTIFACT=build AUTHHOOKS_FUZZ_EXAMPLES=$${AUTHHOOKS_FUZZ_EXAMPLES:-1000} AUTHHOOKS_AWS_FAULTS=all \
		AUTHHOOKS_FUZZ_SCENARIOS=$${AUTHHOOKS_FUZZ_SCENARIOS:-300} $(BIN)/python -m local.audit

clean:
	rm -rf .aws-sam $(VENV) .pytest_cache .ruff_cache
