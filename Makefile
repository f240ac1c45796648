# The two set-up commands of a fresh machine:
#   make run    installs what is missing, brings up the services, migrates, runs every process (Ctrl-C stops them)
#   make test   installs what is missing, brings up the services, runs the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)

.PHONY: install services run test down status

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
run: install
	LENDFLOW_ORIGINATION__SERVICING_CHARGE_LEAD_DAYS=$${LENDFLOW_ORIGINATION__SERVICING_CHARGE_LEAD_DAYS:-40} $(BIN)/lendflow run

test: services
	$(BIN)/pytest

down:
	$(BIN)/lendflow services down

status:
	$(BIN)/lendflow services status
