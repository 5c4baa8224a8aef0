# authhooks: `make dev` runs the whole service locally; `make test` runs every check and test; `make check` is the
# developers' loop after each edit. All install what they need first. `make help` lists the targets.
# The Python version is the template's Lambda runtime (one place).

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

.DEFAULT_GOAL := help
.PHONY: help install browser containers images dev test check lint format-check fmt typecheck build invoke sam-invoke \
	sam-api bench audit clean secret secrets-check lock lock-upgrade

# Parallel test workers (pytest-xdist): one per core. The after_suite judges run after them, in a second pytest
# over the record every worker left in RECORD (tests/aws_calls.py).
WORKERS ?= auto
RECORD := $(CURDIR)/.pytest-record
# What `make check` leaves to `make test`: the local stack's subprocesses, the browser and the containers.
CHECK_MARKERS := not stack and not browser and not containers
MYPY_PACKAGES := -p authhooks -p bazaarvoice_confirm -p livevox_login -p loudvoice_session -p local -p bench -p scripts
# make check's tests mostly wait on loopback sockets and timers, not the CPU: twice as many workers as cores
# (measured on 2 cores: 4 workers 287 s, 2 workers 412 s).
CHECK_WORKERS ?= 4
# $(call tests,<marker expression or empty>,<environment>,<workers>): the parallel run, then its record's judges.
tests = rm -rf $(RECORD) && \
	$(2) AUTHHOOKS_CALL_RECORD_DIR=$(RECORD) $(BIN)/python -m pytest -n $(3) --dist worksteal --durations=10 \
		-m "not after_suite$(if $(1), and ($(1)))" && \
	$(2) AUTHHOOKS_CALL_RECORD_DIR=$(RECORD) $(BIN)/python -m pytest -m "after_suite$(if $(1), and ($(1)))"

help: ## this list
	@echo "make dev and make test are the two commands a newcomer needs; make check is the loop after each edit."
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

install: $(BIN)/.installed ## the virtualenv (.venv) from the lock, requirements-dev.txt

# Debian's Chromium for the landing-page browser tests (no browser download: the network is closed), a Japanese
# font for the CJK screenshots, and the pinned axe-core accessibility checker from the npm registry (git-ignored).
AXE_CORE_VERSION := 4.14.1
AXE_DIR := tests/e2e/.axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

browser: $(AXE) ## Debian's Chromium, a CJK font and axe-core, for the browser tests
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@fc-list :lang=ja | grep -q . || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fonts-noto-cjk; }

$(AXE): Makefile
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	npm install --prefix $(AXE_DIR) --no-save --no-package-lock --no-audit --no-fund axe-core@$(AXE_CORE_VERSION)
	touch $@

# Debian's Docker engine, debootstrap and qemu-user-static for the SAM CLI in containers (no image is ever pulled).
containers: ## Debian's Docker engine, debootstrap and qemu-user-static, for the container tests
	@command -v dockerd >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 && command -v update-binfmts >/dev/null 2>&1 \
		&& [ -e /usr/bin/qemu-aarch64-static ] || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq docker.io debootstrap qemu-user-static binfmt-support; }

# Lambda-like images for x86_64 and arm64 from debootstrap + PyPI wheels; starts dockerd if none answers; cached.
images: install containers ## the Lambda-like images, x86_64 and arm64, built locally (never pulled)
	$(SUDO) $(BIN)/python -m local.images

dev: install ## the whole service locally: API on :3000, moto server, vendor sandboxes
	$(BIN)/python -m local

lint: install ## ruff, cfn-lint and sam validate
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

format-check: install ## the formatter changes nothing (ruff format --check)
	$(BIN)/ruff format --check .

fmt: install ## format the tree and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install ## mypy: strict over the layer and functions, default mode over local, bench and scripts
	$(BIN)/mypy $(MYPY_PACKAGES)

# sam build, then every module compiled in place: Lambda's /opt and /var/task are read-only, so a module shipped
# without its .pyc is compiled again on every cold start. unchecked-hash: valid whatever the files' times in the zip.
build: install ## sam build, then every module compiled (.pyc) as Lambda needs it
	$(BIN)/sam build
	$(BIN)/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash .aws-sam/build

test: install browser lint format-check typecheck build images ## every check and every test (what CI runs)
	$(call tests,,AUTHHOOKS_ARTIFACT=build,$(WORKERS))

# No sam build, no images, no browser: the source tree's code, the tests that need no stack subprocess.
check: install lint format-check typecheck ## the loop after each edit: lint, format, types, tests without stack/browser/containers
	$(call tests,$(CHECK_MARKERS),,$(CHECK_WORKERS))

# make secret VENDOR=livevox FILE=livevox.json STACK=authhooks-staging: merge, check, never print a value.
secret: install ## put a vendor secret: make secret VENDOR=livevox FILE=livevox.json STACK=<stack>
	$(BIN)/python -m scripts.vendor_secrets put $(VENDOR) --stack $(STACK) --file $(FILE)

secrets-check: install ## check a stack's vendor secrets: make secrets-check STACK=<stack>
	$(BIN)/python -m scripts.vendor_secrets check --stack $(STACK)

# make invoke FN=LoudVoiceSessionFunction EVENT=events/loudvoice_start_session.json
invoke: install ## one function in process: make invoke FN=<logical id> EVENT=events/<file>.json
	$(BIN)/python -m local.invoke $(FN) $(EVENT)

# make sam-invoke FN=LiveVoxLoginFunction EVENT=events/livevox_login_account.json [ARCH=x86_64]
# SAM CLI itself, in a container, against the make dev stack (or a stack of its own when none runs).
sam-invoke: install build images ## sam local invoke in a container: make sam-invoke FN=... EVENT=... [ARCH=x86_64]
	$(BIN)/python -m local.sam $(if $(ARCH),--architecture $(ARCH)) invoke $(FN) $(EVENT)

# sam local start-api on :3001 (AUTHHOOKS_SAM_API_PORT), against the make dev stack; Ctrl-C stops it.
sam-api: install build images ## sam local start-api on :3001 against the make dev stack
	$(BIN)/python -m local.sam $(if $(ARCH),--architecture $(ARCH)) api

bench: install build ## the benchmarks (a table and bench/results JSON)
	AUTHHOOKS_ARTIFACT=build $(BIN)/python -m bench

# OpenAPI, fuzzing, fault matrix, hostile transport, canaries, template policies with larger budgets; one table.
audit: install build ## OpenAPI, fuzzing, the whole fault matrix and more, with larger budgets
	AUTHHOOKS_ARTIFACT=build AUTHHOOKS_FUZZ_EXAMPLES=$${AUTHHOOKS_FUZZ_EXAMPLES:-1000} AUTHHOOKS_AWS_FAULTS=all \
		AUTHHOOKS_FUZZ_SCENARIOS=$${AUTHHOOKS_FUZZ_SCENARIOS:-300} $(BIN)/python -m local.audit

# The lock: requirements-dev.in (and the layer's requirements.in) compiled by pip-compile; existing pins are kept.
PIP_COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
lock: install ## compile requirements-dev.txt and the layer's requirements.txt from their .in files
	$(PIP_COMPILE) $(LOCK_FLAGS) --output-file requirements-dev.txt requirements-dev.in
	cd layers/shared && $(CURDIR)/$(PIP_COMPILE) --constraint ../../requirements-dev.txt --output-file requirements.txt \
		requirements.in

lock-upgrade: ## move one package to its newest release: make lock-upgrade PACKAGE=<name>
	@[ -n "$(PACKAGE)" ] || { echo "make lock-upgrade: name the package, e.g. make lock-upgrade PACKAGE=moto" >&2; exit 2; }
	$(MAKE) lock LOCK_FLAGS="--upgrade-package $(PACKAGE)"

clean: ## remove the venv, the build and the caches
	rm -rf .aws-sam $(VENV) .pytest_cache .ruff_cache .mypy_cache $(RECORD)
