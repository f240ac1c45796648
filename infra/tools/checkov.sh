#!/usr/bin/env bash
# Installs checkov (PyPI) into a virtual environment of its own, <repo>/.run/checkov/, when it is
# missing (cached afterwards): checkov pins many packages, which must not meet the project's .venv.
# Prints the path of the checkov binary on stdout; install chatter goes to stderr.
#   "$(infra/tools/checkov.sh)" -d infra/terraform --framework terraform
set -euo pipefail
VERSION=3.3.30
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.run/checkov"
CHECKOV="$VENV/bin/checkov"
STAMP="$VENV/.installed-$VERSION"
if [[ ! -x "$CHECKOV" || ! -f "$STAMP" ]]; then
  # Two helpers (the Terraform and the Helm checks) may ask at once: one installs, the other waits.
  mkdir -p "$ROOT/.run"
  exec 9>"$ROOT/.run/checkov.lock"
  flock 9
  if [[ ! -x "$CHECKOV" || ! -f "$STAMP" ]]; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check -U pip >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "checkov==$VERSION" >&2
    touch "$STAMP"
  fi
fi
echo "$CHECKOV"
