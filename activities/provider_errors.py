"""Turns provider failures into what Temporal's retry understands.

Transient failures (timeouts, 429, 5xx) stay retryable, and a provider's Retry-After becomes the
next retry's delay. Permanent failures and business refusals become non-retryable
`ApplicationError`s whose `type` is the error's class name, so workflows decide on types, never on
message text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from integrations.errors import BusinessRefusal, PermanentProviderError, TransientProviderError


@contextmanager
def provider_call() -> Iterator[None]:
    try:
        yield
    except TransientProviderError as exc:
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), type=type(exc).__name__, next_retry_delay=delay) from exc
    except PermanentProviderError as exc:
        raise ApplicationError(
            str(exc),
            {"business_refusal": isinstance(exc, BusinessRefusal)},
            type=type(exc).__name__,
            non_retryable=True,
        ) from exc
