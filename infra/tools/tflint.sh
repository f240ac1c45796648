#!/usr/bin/env bash
# Installs tflint into <repo>/.run/bin from the Go module proxy when it is missing (cached afterwards).
# Only the core ruleset runs: the bundled "terraform" plugin (see infra/terraform/.tflint.hcl), since
# plugin releases cannot be downloaded here. Prints the path of the tflint binary on stdout.
set -euo pipefail
VERSION=v0.64.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.run/bin"
TFLINT="$BIN/tflint"
if ! { [[ -x "$TFLINT" ]] && "$TFLINT" --version 2>/dev/null | grep -q "version ${VERSION#v}"; }; then
  mkdir -p "$BIN"
  GOBIN="$BIN" CGO_ENABLED=0 go install "github.com/terraform-linters/tflint@$VERSION" >&2
fi
echo "$TFLINT"
