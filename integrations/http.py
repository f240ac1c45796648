"""The one place where an HTTP answer from a provider becomes a result or an error.

Every client sends its requests through :func:`send_request` and reads bodies through
:func:`parse_body`, so all five providers fail the same way:

- timeouts → :class:`ProviderTimeout`; connection and protocol errors → :class:`ProviderUnavailable`
  (both transient);
- 408, 425, 429 and 5xx → :class:`ProviderUnavailable` (transient), carrying ``Retry-After`` as
  ``retry_after`` seconds when the provider sent it;
- any other 4xx (and 3xx: redirects are never followed) → :class:`PermanentProviderError`, or the
  :class:`BusinessRefusal` subclass that the client maps the provider's error code or status to.

Requests go only to the client's configured base URL: a path is always relative, and each
caller-supplied piece of it is escaped with :func:`path_segment`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, BeforeValidator, PlainSerializer, ValidationError

from integrations.errors import (
    PermanentProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    UnexpectedProviderAnswer,
)

log = structlog.get_logger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

TRANSIENT_STATUSES = frozenset({408, 425, 429})
CENT = Decimal("0.01")

# A provider error code or an HTTP status, mapped to the permanent error a client raises for it.
RefusalMap = Mapping[str | int, type[PermanentProviderError]]


def _decimal_from_wire(value: Any) -> Decimal:
    # Money travels as a decimal string; a JSON number would already have lost precision.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError("not a decimal amount") from exc
        if not parsed.is_finite():
            raise ValueError("not a finite amount")
        return parsed
    raise ValueError("amounts must be decimal strings")


def money_to_wire(amount: Decimal) -> str:
    """``Decimal("1500")`` → ``"1500.00"``; refuses amounts with fractions of a centavo."""
    quantized = amount.quantize(CENT)
    if quantized != amount:
        raise ValueError(f"amount {amount} has fractions of a centavo")
    return format(quantized, "f")


# A money amount: parsed only from a decimal string, written back as one with two places.
WireMoney = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_wire),
    PlainSerializer(money_to_wire, return_type=str),
]


def path_segment(value: str) -> str:
    """Escape one caller-supplied path segment so it cannot change the path or the host."""
    return quote(value, safe="")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        current = now if now is not None else time.time()
        return max(0.0, when.timestamp() - current)
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


def _error_details(response: httpx.Response) -> tuple[str | None, str]:
    """The provider's error code and message, from the body shapes our providers use."""
    code: str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return code, message
    if isinstance(body, dict):
        raw_code = body.get("error") or body.get("code")
        if raw_code is None and isinstance(body.get("type"), str):
            # application/problem+json (the BCB PIX API): the code is the last segment of the type.
            raw_code = body["type"].rstrip("/").rsplit("/", 1)[-1]
        if isinstance(raw_code, str | int):
            code = str(raw_code)
        for key in ("error_description", "message", "detail", "title"):
            if isinstance(body.get(key), str):
                message = body[key]
                break
    return code, message[:500]


def raise_for_provider_status(
    response: httpx.Response,
    *,
    provider: str,
    operation: str,
    refusals: RefusalMap | None = None,
) -> None:
    """Return when the answer is 2xx; otherwise raise the error it maps to."""
    status = response.status_code
    if 200 <= status < 300:
        return
    code, message = _error_details(response)
    if status in TRANSIENT_STATUSES or status >= 500:
        raise ProviderUnavailable(
            message,
            provider=provider,
            operation=operation,
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    error_type: type[PermanentProviderError] = PermanentProviderError
    if refusals:
        if code is not None and code in refusals:
            error_type = refusals[code]
        elif status in refusals:
            error_type = refusals[status]
    if 300 <= status < 400:
        error_type = UnexpectedProviderAnswer
        message = f"unexpected redirect ({status}); redirects are never followed"
    raise error_type(message, provider=provider, operation=operation, status_code=status, code=code)


async def send_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    provider: str,
    operation: str,
    refusals: RefusalMap | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request to the client's base URL and map its failure, if any.

    ``path`` must be relative to the configured base URL; anything with a scheme or a host is
    refused before a byte is sent. ``kwargs`` go to :meth:`httpx.AsyncClient.request`.
    """
    url = httpx.URL(path)
    if url.scheme or url.host or path.startswith("//"):
        raise ValueError("integration clients only call paths under their configured base URL")
    started = time.monotonic()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        log.warning("provider.timeout", provider=provider, operation=operation, error=type(exc).__name__)
        raise ProviderTimeout(
            f"no answer in time ({type(exc).__name__})", provider=provider, operation=operation
        ) from exc
    except httpx.TransportError as exc:
        log.warning("provider.unreachable", provider=provider, operation=operation, error=type(exc).__name__)
        raise ProviderUnavailable(
            f"could not reach the provider ({type(exc).__name__})", provider=provider, operation=operation
        ) from exc
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    if not response.is_success:
        log.info(
            "provider.call_failed",
            provider=provider,
            operation=operation,
            status=response.status_code,
            elapsed_ms=elapsed_ms,
        )
    raise_for_provider_status(response, provider=provider, operation=operation, refusals=refusals)
    return response


def parse_body(model: type[ModelT], response: httpx.Response, *, provider: str, operation: str) -> ModelT:
    """Validate a successful answer's JSON body; a body of the wrong shape is permanent."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()[:5])
        raise UnexpectedProviderAnswer(
            f"answer does not have the agreed shape (fields: {fields})",
            provider=provider,
            operation=operation,
            status_code=response.status_code,
        ) from None
