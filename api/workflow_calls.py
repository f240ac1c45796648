"""Updates, queries and starts of workflows, with their failures turned into problems.

A workflow refuses an Update by raising an ``ApplicationError`` with a ``type`` in the Update's
validator (or handler); the client sees ``WorkflowUpdateFailedError`` with that error as its cause.
Each known type maps to a problem of its own (``offer-expired``, ``maker-checker``…). A workflow
that has finished answers ``NOT_FOUND`` to an Update: the application is closed. Temporal not
answering in time is a 503.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import structlog
from temporalio.client import (
    RPCError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCStatusCode

from api.problems import LendflowError, ServiceUnavailable
from lendflow.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Refusal type → (status, problem code, title).
REFUSALS: dict[str, tuple[int, str, str]] = {
    "OfferNotOpen": (409, "offer-not-open", "There is no open offer to accept"),
    "OfferChanged": (409, "offer-changed", "The offer changed; review the current one"),
    "OfferExpired": (409, "offer-expired", "The offer has expired"),
    "NotCancellable": (409, "not-cancellable", "The application can no longer be cancelled"),
    "NotInReview": (409, "not-in-review", "The application is not waiting for a review"),
    "MakerChecker": (409, "maker-checker", "The reviewer must not be who last acted on the application"),
    "ReasonRequired": (422, "reason-required", "A review decision needs a reason"),
    "NothingToRetry": (409, "nothing-to-retry", "No step of the application is paused"),
    "InvalidCorrection": (422, "invalid-correction", "The paused step cannot take this correction"),
    "SettlementOpen": (409, "settlement-open", "An early settlement charge is already open today"),
    "InstallmentDue": (409, "installment-due", "An installment is due or overdue: pay it first"),
}


class WorkflowRefused(LendflowError):
    """A workflow said no; the problem's type names why."""

    def __init__(self, refusal: str | None, message: str | None) -> None:
        status, code, title = REFUSALS.get(refusal or "", (409, "refused", "The request was refused"))
        super().__init__(message)
        self.status, self.code, self.title = status, code, title


class WorkflowClosed(LendflowError):
    status, code, title = 409, "closed", "This is closed; nothing can change it any more"


class WorkflowNotFound(LendflowError):
    status, code, title = 409, "not-running", "There is no workflow for this yet"


def timeout(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.api.workflow_call_timeout_seconds)


def enrichment_timeout(settings: Settings) -> timedelta:
    """A query that only adds detail to an answer from the read model waits less."""
    return timedelta(seconds=min(2.0, settings.api.workflow_call_timeout_seconds))


async def updated(call: Awaitable[T]) -> T:
    """Await an ``execute_update`` and turn its failures into problems."""
    try:
        return await call
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise WorkflowRefused(cause.type, cause.message) from err
        raise WorkflowRefused(None, str(cause or err)) from err
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise ServiceUnavailable("the workflow did not answer in time") from err
    except RPCError as err:
        raise _rpc_problem(err) from err


async def queried(call: Awaitable[T]) -> T:
    """Await a ``query`` and turn its failures into problems."""
    try:
        return await call
    except WorkflowQueryFailedError as err:
        raise WorkflowRefused(None, str(err)) from err
    except WorkflowQueryRejectedError as err:
        raise WorkflowClosed() from err
    except RPCError as err:
        raise _rpc_problem(err) from err


def _rpc_problem(err: RPCError) -> LendflowError:
    if err.status == RPCStatusCode.NOT_FOUND:
        text = str(err).lower()
        if "completed" in text or "closed" in text:
            return WorkflowClosed()
        return WorkflowNotFound()
    log.warning("api.temporal_unavailable", status=str(err.status), error=str(err)[:200])
    return ServiceUnavailable("the workflow engine is not available")


async def maybe(call: Awaitable[T]) -> T | None:
    """A best-effort query (to enrich an answer): None when the workflow cannot answer now."""
    try:
        return await call
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError, TimeoutError) as err:
        log.info("api.workflow_query_skipped", error=type(err).__name__)
        return None
    except Exception as err:  # noqa: BLE001 - an enrichment must never fail the request
        log.warning("api.workflow_query_failed", error=type(err).__name__)
        return None
