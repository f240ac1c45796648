#!/usr/bin/env bash
# Installs the Docker Compose v2 CLI plugin from the Go module proxy when it is missing (cached
# afterwards) as ~/.docker/cli-plugins/docker-compose, where `docker compose` finds it. Needs the
# `docker` CLI on PATH (only the client: `docker compose config` talks to no daemon).
# Prints the path of the docker binary on stdout: run "$(infra/tools/compose.sh)" compose config.
set -euo pipefail
VERSION=v2.29.7
PLUGINS="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
DOCKER="$(command -v docker || true)"
if [[ -z "$DOCKER" ]]; then
  echo "the docker CLI is not on PATH (Debian: apt-get install docker.io, or docker-ce-cli)" >&2
  exit 1
fi
if ! "$DOCKER" compose version 2>/dev/null | grep -q "${VERSION}"; then
  mkdir -p "$PLUGINS"
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  # The module path ends in /cmd, so go install names the binary `cmd`; compose stamps its version
  # through -ldflags as its Makefile does.
  GOBIN="$TMP" CGO_ENABLED=0 go install \
    -ldflags "-X github.com/docker/compose/v2/internal.Version=$VERSION" \
    "github.com/docker/compose/v2/cmd@$VERSION" >&2
  install -m 0755 "$TMP/cmd" "$PLUGINS/docker-compose"
  "$DOCKER" compose version >&2
fi
echo "$DOCKER"
