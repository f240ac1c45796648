"""Errors as RFC 9457 `application/problem+json`.

Every error the API answers with is a ``Problem``: ``type``, ``title``, ``status``, ``detail`` and,
for validation failures, ``errors`` naming each bad field. Domain code raises a subclass of
``LendflowError``; one handler per kind turns it into a problem response.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from storage.keyset import BadCursor

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lendflow.dev/problems/"


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class LendflowError(Exception):
    """Root of the errors the API turns into problems. Subclasses set status, code and title."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra


class NotFound(LendflowError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(LendflowError):
    status, code, title = 409, "conflict", "Conflict"


class Unauthorized(LendflowError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class UnprocessableEntity(LendflowError):
    status, code, title = 422, "unprocessable-entity", "Unprocessable entity"


class Forbidden(LendflowError):
    status, code, title = 403, "forbidden", "Forbidden"


class PayloadTooLarge(LendflowError):
    status, code, title = 413, "payload-too-large", "The request body is too large"


class UnsupportedMediaType(LendflowError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRequests(LendflowError):
    status, code, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(LendflowError):
    status, code, title = 503, "service-unavailable", "Service unavailable"


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=errors,
    ).model_dump(exclude_none=True)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # Drop the leading "body"/"query"/"path" so the name is the field as the caller sent it.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(LendflowError)
    async def _lendflow_error(request: Request, exc: LendflowError) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            headers=getattr(exc, "headers", None),
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=_field_name(e.get("loc", ())), message=e.get("msg", ""), type=e.get("type", ""))
            for e in exc.errors()
        ]
        return problem_response(
            request,
            status=422,
            code="validation-error",
            title="The request is not valid",
            detail="; ".join(f"{e.field}: {e.message}" for e in errors),
            errors=errors,
        )

    @app.exception_handler(BadCursor)
    async def _bad_cursor(request: Request, exc: BadCursor) -> JSONResponse:
        error = {"loc": ("query", "cursor"), "msg": "is not a cursor this API handed out", "type": "cursor"}
        return await _validation_error(request, RequestValidationError([error]))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status_code,
            code=f"http-{exc.status_code}",
            title=str(exc.detail) if exc.detail else "HTTP error",
            headers=getattr(exc, "headers", None),
        )
