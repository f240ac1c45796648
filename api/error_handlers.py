"""Problem answers for what the route code does not raise itself.

- 405: Starlette answers from the first route whose path matched, so for a path served by two
  routes (`GET` and `POST /v1/loans`) its `Allow` named one method; this lists them all.
- A dependency down in the middle of a request (PostgreSQL, Redis, Kafka, Temporal) answers 503
  with `Retry-After`, not a stack trace.
- Anything else unexpected answers a bare 500 problem (the error is logged, never returned).
"""

from __future__ import annotations

import traceback

import redis.exceptions
import structlog
from confluent_kafka import KafkaException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from temporalio.service import RPCError

from api.problems import problem_response
from lendflow.logging import mask_cpfs

log = structlog.get_logger(__name__)

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    KafkaException,
    RPCError,
)


def install_error_handlers(app: FastAPI) -> None:
    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        allowed = {
            method
            for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in app.router.routes)
        }
        if "GET" in allowed:
            allowed.add("HEAD")
        headers = dict(getattr(exc, "headers", None) or {})
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
        detail = exc.detail if isinstance(exc, StarletteHTTPException) else None
        return problem_response(
            request, status=405, code="http-405", title=str(detail or "Method Not Allowed"), headers=headers
        )

    async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("api.dependency_unavailable", error=type(exc).__name__)
        return problem_response(
            request,
            status=503,
            code="service-unavailable",
            title="Service unavailable",
            detail="a dependency is not available; retry later",
            headers={"Retry-After": "5"},
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Formatted here and masked, so no CPF in an exception's message reaches the log.
        log.error(
            "api.unexpected_error",
            error=type(exc).__name__,
            traceback=mask_cpfs("".join(traceback.format_exception(exc)))[-4000:],
        )
        return problem_response(request, status=500, code="internal-error", title="Internal error")

    app.add_exception_handler(405, method_not_allowed)
    for error in UNAVAILABLE:
        app.add_exception_handler(error, dependency_unavailable)
    app.add_exception_handler(Exception, unexpected)
