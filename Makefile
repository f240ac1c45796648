# The two set-up commands of a fresh machine:
#   make run    installs what is missing, brings up the services, migrates, runs every process (Ctrl-C stops them)
#   make test   installs what is missing, brings up the services, runs the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)

.PHONY: install services browser fonts run test check down status

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

services: install
	$(BIN)/lendflow services up

# The development stack issues each installment's PIX charge as soon as servicing starts (instead of
# five days before a due date a month away), so `lendflow demo` can pay the first one right away.
run: install fonts
	LENDFLOW_ORIGINATION__SERVICING_CHARGE_LEAD_DAYS=$${LENDFLOW_ORIGINATION__SERVICING_CHARGE_LEAD_DAYS:-40} $(BIN)/lendflow run

# The browser tests (the Temporal UI decoding payloads for an operator, the customer's app) drive
# Debian's Chromium: Playwright's own browser download cannot reach the internet.
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

# The contract (CCB) is set in DejaVu, from Debian's fonts-dejavu-core, for Portuguese accents.
fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fonts-dejavu-core; }

test: services browser fonts
	$(BIN)/pytest

# The fast loop, no service needed: lint, format, types, and the tests that start or reach no service
# (tests/conftest.py marks the others `services`).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -m "not services"

down:
	$(BIN)/lendflow services down

status:
	$(BIN)/lendflow services status
