# authhooks: `make dev` runs the whole service locally; `make test` runs every check and test.
# Both install what they need first. The Python version is the template's Lambda runtime (one place).

PYTHON_VERSION := $(shell sed -n 's/^ *Runtime: python\([0-9.]*\) *$$/\1/p' template.yaml | head -n 1)
# The interpreter: python3.X on PATH if it runs (a pyenv shim of a version not selected does not), else pyenv's
# newest 3.X.*; its real path, so its directory can go first on PATH (sam build looks for python3.X there).
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
PYTHON ?= $(shell for p in python$(PYTHON_VERSION) \
	$$(ls -d $(PYENV_ROOT)/versions/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION) 2>/dev/null | sort -rV); do \
	$$p -c 'import sys; "%d.%d" % sys.version_info[:2] == "$(PYTHON_VERSION)" and print(sys.executable)' \
	2>/dev/null | grep . && break; done)
PYTHON := $(PYTHON)
PYTHON_DIR := $(dir $(shell command -v $(PYTHON) 2>/dev/null))
ifneq ($(PYTHON_DIR),)
export PATH := $(PYTHON_DIR:/=):$(PATH)
endif
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser containers images dev test lint build invoke sam-invoke sam-api bench audit clean secret \
	secrets-check

# A venv of another Python (the template's runtime changed) has no bin/python3.X: it is made again from scratch.
$(BIN)/python$(PYTHON_VERSION):
	@[ -n "$(PYTHON)" ] || { echo "make: template.yaml's Lambda runtime needs Python $(PYTHON_VERSION): no working" \
		"python$(PYTHON_VERSION) on PATH nor under pyenv ($(or $(PYENV_ROOT),no pyenv)/versions/$(PYTHON_VERSION).*)." \
		"Install it (pyenv install $(PYTHON_VERSION), or your system's python$(PYTHON_VERSION) and" \
		"python$(PYTHON_VERSION)-venv packages), or name one: make PYTHON=/path/to/python$(PYTHON_VERSION)" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)

$(BIN)/.installed: requirements-dev.txt $(BIN)/python$(PYTHON_VERSION)
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

# Debian's Docker engine, debootstrap and qemu-user-static for the SAM CLI in containers (no image is ever pulled).
containers:
	@command -v dockerd >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 && command -v update-binfmts >/dev/null 2>&1 \
		&& [ -e /usr/bin/qemu-aarch64-static ] || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq docker.io debootstrap qemu-user-static binfmt-support; }

# Lambda-like images for x86_64 and arm64 from debootstrap + PyPI wheels; starts dockerd if none answers; cached.
images: install containers
	$(SUDO) $(BIN)/python -m local.images

dev: install
	$(BIN)/python -m local

lint: install
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

# sam build, then every module compiled in place: Lambda's /opt and /var/task are read-only, so a module shipped
# without its .pyc is compiled again on every cold start. unchecked-hash: valid whatever the files' times in the zip.
build: install
	$(BIN)/sam build
	$(BIN)/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash .aws-sam/build

test: install browser lint build images
	AUTHHOOKS_ARTIFACT=build $(BIN)/python -m pytest

# make secret VENDOR=livevox FILE=livevox.json STACK=authhooks-staging: merge, check, never print a value.
secret: install
	$(BIN)/python -m scripts.vendor_secrets put $(VENDOR) --stack $(STACK) --file $(FILE)

secrets-check: install
	$(BIN)/python -m scripts.vendor_secrets check --stack $(STACK)

# make invoke FN=LoudVoiceSessionFunction EVENT=events/loudvoice_start_session.json
invoke: install
	$(BIN)/python -m local.invoke $(FN) $(EVENT)

# make sam-invoke FN=LiveVoxLoginFunction EVENT=events/livevox_login_account.json [ARCH=x86_64]
# SAM CLI itself, in a container, against the make dev stack (or a stack of its own when none runs).
sam-invoke: install build images
	$(BIN)/python -m local.sam $(if $(ARCH),--architecture $(ARCH)) invoke $(FN) $(EVENT)

# sam local start-api on :3001 (AUTHHOOKS_SAM_API_PORT), against the make dev stack; Ctrl-C stops it.
sam-api: install build images
	$(BIN)/python -m local.sam $(if $(ARCH),--architecture $(ARCH)) api

bench: install build
	AUTHHOOKS_ARTIFACT=build $(BIN)/python -m bench

# OpenAPI, fuzzing, fault matrix, hostile transport, canaries, template policies with larger budgets; one table.
audit: install build
	AUTHHOOKS_ARTIFACT=build AUTHHOOKS_FUZZ_EXAMPLES=$${AUTHHOOKS_FUZZ_EXAMPLES:-1000} AUTHHOOKS_AWS_FAULTS=all \
		AUTHHOOKS_FUZZ_SCENARIOS=$${AUTHHOOKS_FUZZ_SCENARIOS:-300} $(BIN)/python -m local.audit

clean:
	rm -rf .aws-sam $(VENV) .pytest_cache .ruff_cache
