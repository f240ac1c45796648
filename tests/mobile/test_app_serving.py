"""How the app reaches a browser: the BFF lets its origin in (CORS), and its web build is served
with deep links falling back to the app, rebuilt only when its sources change."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from stack_support import free_port

from lendflow.commands.app import MOBILE_DIR, ensure_web_export, source_hash, web_app
from lendflow.settings import Settings

APP_ORIGIN = "http://127.0.0.1:18081"


def _api(settings: Settings) -> httpx.AsyncClient:
    from api.main import create_app

    app_settings = settings.model_copy(update={"api": settings.api.model_copy(update={"cors_origins": [APP_ORIGIN]})})
    # A preflight is answered by the middleware alone: no lifespan, no services needed.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(app_settings)), base_url="http://api")


async def test_the_apps_origin_may_apply_with_its_headers(settings: Settings) -> None:
    async with _api(settings) as api:
        preflight = await api.options(
            "/v1/loans",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
            },
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


async def test_the_apps_origin_may_put_the_customers_address(settings: Settings) -> None:
    # The address screen sends `PUT /v1/me/address`: a browser asks first, with the method named.
    async with _api(settings) as api:
        preflight = await api.options(
            "/v1/me/address",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "PUT" in {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}


async def test_an_answer_to_the_app_exposes_the_request_id(settings: Settings) -> None:
    async with _api(settings) as api:
        answer = await api.post("/v1/loan-simulations", json={}, headers={"Origin": APP_ORIGIN})
    assert answer.status_code == 422
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()


async def test_another_origin_is_refused(settings: Settings) -> None:
    async with _api(settings) as api:
        preflight = await api.options(
            "/v1/loans",
            headers={"Origin": "http://127.0.0.1:9999", "Access-Control-Request-Method": "POST"},
        )
        simple = await api.post("/v1/loan-simulations", json={}, headers={"Origin": "http://evil.example"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


def test_settings_allow_the_served_app_by_default() -> None:
    api = Settings().api
    assert f"http://{api.app_host}:{api.app_port}" in api.cors_origins


async def test_the_web_build_is_served_and_deep_links_open_the_app(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<div id=root>app</div>")
    (tmp_path / "_expo").mkdir()
    (tmp_path / "_expo" / "entry.js").write_text("console.log(1)")
    transport = httpx.ASGITransport(app=web_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as app:
        root, bundle, deep = await app.get("/"), await app.get("/_expo/entry.js"), await app.get("/loans/123")
    assert root.status_code == 200 and "app" in root.text
    assert bundle.status_code == 200 and bundle.text == "console.log(1)"
    assert "javascript" in bundle.headers["content-type"]
    assert deep.status_code == 200 and deep.text == root.text


def test_the_build_hash_follows_the_sources_not_the_build_output(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "index.tsx").write_text("export default 1")
    (tmp_path / "package-lock.json").write_text("{}")
    first = source_hash(tmp_path, "http://127.0.0.1:8000")
    for ignored in ("node_modules", "dist", ".expo"):
        (tmp_path / ignored).mkdir()
        (tmp_path / ignored / "x.js").write_text("built")
    assert source_hash(tmp_path, "http://127.0.0.1:8000") == first
    assert source_hash(tmp_path, "http://10.0.0.5:8000") != first
    (tmp_path / "app" / "index.tsx").write_text("export default 2")
    assert source_hash(tmp_path, "http://127.0.0.1:8000") != first


@pytest.mark.timeout(1200)
def test_lendflow_app_builds_once_and_serves_the_app(settings: Settings) -> None:
    """`lendflow app` (what `lendflow run` starts) serves the export; a second build is a no-op."""
    api_url = f"http://{settings.api.host}:{settings.api.port}"
    dist = ensure_web_export(MOBILE_DIR, api_url=api_url, say=print)
    built_at = (dist / ".build-hash").stat().st_mtime_ns
    assert ensure_web_export(MOBILE_DIR, api_url=api_url, say=print) == dist
    assert (dist / ".build-hash").stat().st_mtime_ns == built_at

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lendflow", "app", "--port", str(port), "--api-url", api_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/loans/any-id", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "lendflow app did not answer"
                time.sleep(0.5)
        assert page.status_code == 200
        assert page.text == (dist / "index.html").read_text()
        script = re.search(r'src="(/_expo/static/js/web/[^"]+\.js)"', page.text)
        assert script is not None
        bundle = httpx.get(f"http://127.0.0.1:{port}{script.group(1)}", timeout=10)
        assert bundle.status_code == 200 and len(bundle.content) > 100_000
    finally:
        process.terminate()
        process.wait(timeout=30)
