#!/usr/bin/env bash
# Regenerates src/api/schema.d.ts, the app's typed API client, from the BFF's OpenAPI document.
# Usage: bash scripts/gen-api.sh [openapi.json]   (OUT=path writes elsewhere)
# Without an argument the document comes from api.main.create_app(Settings()).openapi() through the
# project's .venv (tests/mobile/test_api_client.py checks the committed file against the running API).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
spec="${1:-}"
if [[ -z "$spec" ]]; then
  spec="$(mktemp --suffix=.json)"
  trap 'rm -f "$spec"' EXIT
  (cd "$root" && "${PYTHON:-.venv/bin/python}" -c 'import json
from api.main import create_app
from lendflow.settings import Settings
print(json.dumps(create_app(Settings()).openapi(), sort_keys=True))' > "$spec")
fi
cd "$here"
npx --no-install openapi-typescript "$spec" --output "${OUT:-src/api/schema.d.ts}" --alphabetize --default-non-nullable false
