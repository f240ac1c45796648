#!/usr/bin/env bash
# Installs helm into <repo>/.run/bin from the Go module proxy when it is missing (cached afterwards).
# Prints nothing on success (the build's own chatter is shown only when it fails); the binary is <repo>/.run/bin/helm.
set -euo pipefail
VERSION=v3.22.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.run/bin"
STAMP="$BIN/.helm-$VERSION"
if [[ -x "$BIN/helm" && -f "$STAMP" ]]; then
  exit 0
fi
mkdir -p "$BIN"
# helm stamps its version through -ldflags (as its Makefile does); without it `helm version` says v3.x-dev.
if ! out=$(GOBIN="$BIN" CGO_ENABLED=0 go install \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$VERSION" \
    "helm.sh/helm/v3/cmd/helm@$VERSION" 2>&1); then
  echo "$out" >&2
  exit 1
fi
touch "$STAMP"
