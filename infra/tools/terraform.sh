#!/usr/bin/env bash
# Prints the path of a Terraform-compatible binary for `fmt` (and anything else that needs no
# provider): `terraform` from PATH when the machine has one, else OpenTofu built once from the Go
# module cache into <repo>/.run/bin/tofu (`go install` refuses OpenTofu for its replace directives,
# so the module is downloaded and built in place).
set -euo pipefail
VERSION=v1.10.10
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.run/bin"
if command -v terraform >/dev/null 2>&1; then
  command -v terraform
  exit 0
fi
TOFU="$BIN/tofu"
if ! { [[ -x "$TOFU" ]] && "$TOFU" version 2>/dev/null | grep -q "v${VERSION#v}"; }; then
  mkdir -p "$BIN"
  DIR="$(go mod download -json "github.com/opentofu/opentofu@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$DIR" ]] || { echo "could not download github.com/opentofu/opentofu@$VERSION" >&2; exit 1; }
  # The module cache is read-only: build from it with the version stamped as its Makefile does.
  (cd "$DIR" && CGO_ENABLED=0 go build -o "$TOFU" \
    -ldflags "-X github.com/opentofu/opentofu/version.dev=no" ./cmd/tofu) >&2
fi
echo "$TOFU"
