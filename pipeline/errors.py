"""What a stage does with a failure: retry it (transient) or dead-letter the message (everything else).

A transient failure is one that the message is not to blame for — PostgreSQL, Redis, the ECM or
Temporal down or slow, a Kafka transaction aborted by a rebalance. The stage aborts its batch,
rewinds to the batch's first offsets and tries again with exponential backoff; nothing goes to the
DLQ for it. A rejected message (:class:`pipeline.events.EventRejected` and its subclasses) goes to
the DLQ; so does any other error raised while handling one message, under its own class name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import redis.exceptions
from sqlalchemy import exc as sa_exc
from temporalio.service import RPCError, RPCStatusCode

from integrations.errors import DocumentNotFound, PermanentProviderError, TransientProviderError


class TransientFailure(Exception):
    """Retry the batch later; the message is not at fault."""


class TransactionAborted(TransientFailure):
    """The Kafka transaction of a batch was aborted; its input is redone."""


_TRANSIENT_RPC = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.CANCELLED,
}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientFailure):
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(
        exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError)
    ):
        return True
    if isinstance(exc, TransientProviderError):
        return True
    # The ECM refusing *us* (credentials, a request it cannot read) is not the event's fault either.
    if isinstance(exc, PermanentProviderError) and not isinstance(exc, DocumentNotFound):
        return True
    if isinstance(exc, RPCError) and exc.status in _TRANSIENT_RPC:
        return True
    return isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, OSError))


@contextmanager
def transient_as_failure() -> Iterator[None]:
    """Raise a transient error inside the block as :class:`TransientFailure` (the batch is retried);
    let any other error through unchanged."""
    try:
        yield
    except TransientFailure:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientFailure(str(exc)) from exc
        raise


def backoff_seconds(failures: int, *, base: float, maximum: float) -> float:
    return min(maximum, base * 2 ** max(0, failures - 1))
