"""The app's generated API client matches the BFF it talks to.

The OpenAPI document is fetched from a running API (uvicorn on a free port), turned into TypeScript
by the app's own script (`mobile/scripts/gen-api.sh`, openapi-typescript) and compared with the
committed `mobile/src/api/schema.d.ts`: a route or a field changed in the BFF without regenerating
the client fails here. To fix: `cd mobile && npm run gen:api`, and commit the result.
"""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from stack_support import ServerThread, free_port

from lendflow.commands.app import MOBILE_DIR, ensure_dependencies
from lendflow.settings import Settings

pytestmark = pytest.mark.timeout(600)
COMMITTED = MOBILE_DIR / "src" / "api" / "schema.d.ts"


def test_generated_client_matches_the_running_api(settings: Settings, tmp_path: Path) -> None:
    from api.main import create_app

    port = free_port()
    api = ServerThread(
        create_app(settings.model_copy(update={"api": settings.api.model_copy(update={"port": port})})), port
    )
    api.start()
    try:
        document = httpx.get(f"{api.url}/openapi.json", timeout=30)
    finally:
        api.stop()
    assert document.status_code == 200
    spec = tmp_path / "openapi.json"
    spec.write_bytes(document.content)

    ensure_dependencies(MOBILE_DIR, say=print)
    generated = tmp_path / "schema.d.ts"
    completed = subprocess.run(
        ["bash", "scripts/gen-api.sh", str(spec)],
        cwd=MOBILE_DIR,
        env={**os.environ, "OUT": str(generated)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    fresh, committed = generated.read_text(), COMMITTED.read_text()
    drift = "".join(
        difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), "committed", "from the API", n=1)
    )
    assert fresh == committed, f"mobile/src/api/schema.d.ts is stale; run `npm run gen:api` in mobile/:\n{drift[:4000]}"
    assert '"/v1/loans/{application_id}/installments"' in fresh
