"""Liveness and readiness of the processes without an HTTP API of their own (the worker, the pipeline stages).

`/health/live` answers 200 while the process's event loop keeps turning (a task beats every second;
a loop stuck longer than `stale_after_seconds` answers 503, so Kubernetes restarts the pod).
`/health/ready` answers 200 once the process has connected and started its work, and 503 before
that and while it stops. Both answer JSON; any other path goes to `fallback` (the Prometheus
metrics of the pipeline) or is a 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ProcessHealth:
    """What the probes see: when the event loop last beat, and whether the process's work runs."""

    def __init__(self, stale_after_seconds: float = 30.0) -> None:
        self.stale_after_seconds = stale_after_seconds
        self._lock = threading.Lock()
        self._last_beat = time.monotonic()
        self._ready = False

    def beat(self) -> None:
        with self._lock:
            self._last_beat = time.monotonic()

    def set_ready(self, ready: bool) -> None:
        with self._lock:
            self._ready = ready

    @property
    def live(self) -> bool:
        with self._lock:
            return time.monotonic() - self._last_beat <= self.stale_after_seconds

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._ready and time.monotonic() - self._last_beat <= self.stale_after_seconds

    async def keep_beating(self, stop: asyncio.Event, interval_seconds: float = 1.0) -> None:
        """Beat from the event loop until `stop` is set (run it as a task beside the process's work)."""
        while not stop.is_set():
            self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)


def probe_app(health: ProcessHealth, fallback: WsgiApp | None = None) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/health/live":
            ok = health.live
            body = {"status": "ok" if ok else "stalled"}
        elif path == "/health/ready":
            ok = health.ready
            body = {"status": "ready" if ok else "not_ready"}
        elif fallback is not None:
            return fallback(environ, start_response)
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"status":"not_found"}']
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Probes every few seconds would flood stderr; the process logs what matters itself."""


def serve_probes(health: ProcessHealth, host: str, port: int, fallback: WsgiApp | None = None) -> WSGIServer:
    """Serve the probes (and `fallback`) on a daemon thread; the server (its `server_port` when `port` is 0)."""
    server = make_server(
        host, port, probe_app(health, fallback), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name=f"health-{server.server_port}", daemon=True).start()
    return server
