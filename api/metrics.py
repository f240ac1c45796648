"""Prometheus metrics of the API: requests and latency by route template and status, at /metrics.

The middleware is plain ASGI (no `BaseHTTPMiddleware`, which runs each request in a task of its
own and copies the body through memory streams), reads the route FastAPI matched from the scope
instead of matching every route again, and keeps each label set's children, so counting a request
costs a few microseconds.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ApiMetrics:
    """One registry per app, so tests that build several apps never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lendflow_api_requests_total", "API requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "lendflow_api_request_duration_seconds",
            "API request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)


def _route_template(app: ASGIApp, scope: Scope) -> str:
    # The template (/v1/loans/{application_id}), never the raw path: ids would explode the label set.
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path", "unmatched")
    # Not an API route (the docs, a 404, a 405): look for it the slow way, as the router would.
    for candidate in getattr(getattr(app, "router", app), "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return getattr(candidate, "path", "unmatched")
    return "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = _route_template(scope["app"], scope)
            self.metrics.record(scope["method"], route, status, time.perf_counter() - started)


def install_metrics(app: FastAPI) -> ApiMetrics:
    metrics = ApiMetrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
