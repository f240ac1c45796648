#!/usr/bin/env bash
# Installs kubeconform into <repo>/.run/bin from the Go module proxy when it is missing (cached afterwards).
# Prints nothing on success (the build's own chatter is shown only when it fails); the binary is <repo>/.run/bin/kubeconform.
set -euo pipefail
VERSION=v0.8.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.run/bin"
STAMP="$BIN/.kubeconform-$VERSION"
if [[ -x "$BIN/kubeconform" && -f "$STAMP" ]]; then
  exit 0
fi
mkdir -p "$BIN"
if ! out=$(GOBIN="$BIN" CGO_ENABLED=0 go install "github.com/yannh/kubeconform/cmd/kubeconform@$VERSION" 2>&1); then
  echo "$out" >&2
  exit 1
fi
touch "$STAMP"
