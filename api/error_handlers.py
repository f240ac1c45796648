"""Problem answers for what the route code does not raise itself.

- 405: Starlette answers from the first route whose path matched, so for a path served by two
  routes (`GET` and `POST /v1/loans`) its `Allow` named one method; this lists them all.
- A dependency down in the middle of a request (PostgreSQL, Redis, Kafka, Temporal) answers 503
  with `Retry-After`, not a stack trace. :func:`is_outage` says which errors mean that; route code
  that answers an outage in its own words asks it too, and lets everything else through.
- Anything else unexpected (a programming error, a dependency refusing what we sent) answers a bare
  500 problem: the error is logged with its traceback, CPFs masked, and never returned.
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
from temporalio.service import RPCError, RPCStatusCode

from api.problems import problem_response
from lendflow.logging import mask_text

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
# Temporal answers these when it is down, overloaded or slow; any other status (INVALID_ARGUMENT,
# NOT_FOUND, PERMISSION_DENIED…) is about the call we made, so it is not an outage.
_TEMPORAL_UNAVAILABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.CANCELLED,
    }
)
# The API's Temporal client connects lazily (it starts without Temporal). When that first connection
# fails, the SDK raises a plain RuntimeError whose message starts with this (temporalio's bridge,
# `src/client.rs`); later calls that cannot reach the server raise RPCError.
_TEMPORAL_CONNECT_FAILED = "Failed client connect"


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says a dependency cannot be reached now (retry later), not that our code is wrong."""
    if isinstance(exc, RPCError):
        return exc.status in _TEMPORAL_UNAVAILABLE
    if isinstance(exc, UNAVAILABLE):
        return True
    return type(exc) is RuntimeError and str(exc).startswith(_TEMPORAL_CONNECT_FAILED)


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
        if not is_outage(exc):
            return await unexpected(request, exc)
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
        # Formatted here and masked, so no CPF or e-mail in an exception's message reaches the log.
        log.error(
            "api.unexpected_error",
            error=type(exc).__name__,
            traceback=mask_text("".join(traceback.format_exception(exc)))[-4000:],
        )
        return problem_response(request, status=500, code="internal-error", title="Internal error")

    app.add_exception_handler(405, method_not_allowed)
    for error in (*UNAVAILABLE, RuntimeError):
        app.add_exception_handler(error, dependency_unavailable)
    app.add_exception_handler(Exception, unexpected)
