"""`lendflow app`: build the customers' app for the web (only when `mobile/` changed) and serve it.

`npm ci` runs when `mobile/node_modules` is missing or `package-lock.json` changed since it last ran;
`expo export --platform web` runs when the app's sources (or the BFF URL baked into the build) hash
differently from the last build's. `mobile/dist` is then served on 127.0.0.1:8081 (settings
`api.app_host`/`api.app_port`), every unknown path answering `index.html` so the app's own router
handles deep links such as `/loans/<id>`. The browser tests build and serve through the same functions.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

MOBILE_DIR = Path(__file__).resolve().parents[2] / "mobile"
# What is not part of the web build: installed packages, build output, caches, the jest tests.
_NOT_SOURCES = {"node_modules", "dist", ".expo", ".build-hash", ".git", "__tests__"}
_LOCK_STAMP = ".lendflow-lock-sha256"
_BUILD_STAMP = ".build-hash"


class AppBuildFailed(Exception):
    """npm or expo failed; the message says which step."""


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AppBuildFailed("npm is not on PATH: install Node.js 20 (the app pins Expo SDK 57)")
    return npm


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_hash(mobile_dir: Path, api_url: str) -> str:
    """The app's sources, its lock file and the BFF URL the build points at, as one digest."""
    digest = hashlib.sha256(f"api_url={api_url}\n".encode())
    for path in sorted(mobile_dir.rglob("*")):
        relative = path.relative_to(mobile_dir)
        if relative.parts[0] in _NOT_SOURCES or not path.is_file():
            continue
        digest.update(str(relative).encode() + b"\0" + _sha256(path).encode() + b"\n")
    return digest.hexdigest()


@contextmanager
def _build_lock(mobile_dir: Path) -> Iterator[None]:
    # One install/build at a time: `lendflow run` and a test may both ask for the app.
    lock_path = mobile_dir / ".expo" / "lendflow-build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(step: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr)[-3000:]
        raise AppBuildFailed(f"{step} failed (exit {completed.returncode}):\n{tail}")


def ensure_dependencies(mobile_dir: Path = MOBILE_DIR, say: Callable[[str], None] = typer.echo) -> bool:
    """`npm ci` when node_modules is missing or the lock file changed. True when it ran."""
    lock_hash = _sha256(mobile_dir / "package-lock.json")
    stamp = mobile_dir / "node_modules" / _LOCK_STAMP
    if stamp.exists() and stamp.read_text().strip() == lock_hash:
        return False
    say("app: installing its packages (npm ci)…")
    _run("npm ci", [_npm(), "ci", "--no-audit", "--no-fund"], mobile_dir)
    stamp.write_text(lock_hash + "\n")
    return True


def ensure_web_export(mobile_dir: Path = MOBILE_DIR, *, api_url: str, say: Callable[[str], None] = typer.echo) -> Path:
    """`expo export --platform web` unless dist/ was built from these very sources. Returns dist/."""
    with _build_lock(mobile_dir):
        ensure_dependencies(mobile_dir, say)
        wanted = source_hash(mobile_dir, api_url)
        dist = mobile_dir / "dist"
        stamp = dist / _BUILD_STAMP
        if stamp.exists() and stamp.read_text().strip() == wanted and (dist / "index.html").exists():
            return dist
        say("app: building the web export (expo export --platform web)…")
        env = {**os.environ, "EXPO_PUBLIC_API_URL": api_url, "CI": "1", "EXPO_NO_TELEMETRY": "1"}
        _run("expo export", [_npm(), "exec", "--no", "--", "expo", "export", "--platform", "web"], mobile_dir, env)
        stamp.write_text(wanted + "\n")
        return dist


class _SpaFiles(StaticFiles):
    """Static files, and `index.html` for any other path: the app's router owns the URL."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            return FileResponse(Path(str(self.directory)) / "index.html", headers={"Cache-Control": "no-cache"})


def web_app(dist: Path) -> Starlette:
    """The ASGI app that serves an export; a path that names no file gets the app's index.html."""
    return Starlette(routes=[Mount("/", app=_SpaFiles(directory=dist, html=True), name="app")])


def app(
    port: Annotated[int | None, typer.Option(help="Port to serve on (default: settings api.app_port, 8081).")] = None,
    api_url: Annotated[str | None, typer.Option(help="The BFF the app calls (default: the API from settings).")] = None,
    build_only: Annotated[bool, typer.Option("--build-only", help="Install and build, then exit.")] = False,
) -> None:
    """Build the customers' app for the web when `mobile/` changed, and serve it on 127.0.0.1:8081."""
    import uvicorn

    from lendflow.settings import get_settings

    settings = get_settings()
    api_url = api_url or os.environ.get("EXPO_PUBLIC_API_URL") or f"http://{settings.api.host}:{settings.api.port}"
    try:
        dist = ensure_web_export(MOBILE_DIR, api_url=api_url)
    except AppBuildFailed as exc:
        typer.secho(f"app: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    if build_only:
        typer.echo(f"app: built {dist}")
        return
    host, port = settings.api.app_host, port or settings.api.app_port
    typer.echo(f"app: serving {dist} on http://{host}:{port} (BFF {api_url})")
    uvicorn.run(web_app(dist), host=host, port=port, log_level="warning")
