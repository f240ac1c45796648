"""Ops' actions, each with exactly one audit entry: review, retry and cancel an application (a
workflow Update), and replay a dead letter.

An action on an application always goes the same way, and :meth:`OpsActions._update_application`
is the one place that does it: load the application from the read model (404 when there is none),
build the Update's argument (which may refuse on what the read model already says), send the Update
(the workflow's refusals become problems in :func:`api.workflow_calls.updated`), and write the
audit entry. :class:`AuditTrail` writes that entry once the action has ended, whichever way:
``done``, ``refused:<problem code>`` (the problem the operator was answered with), or
``failed:<exception class>``; a refused action is never recorded as done, and no action is recorded
twice.

Database sessions are opened for one read or one write each, never across an Update: an Update may
wait ``api.workflow_call_timeout_seconds``, and a session held that long pins a pooled connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import structlog
from confluent_kafka import KafkaException
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.workflow import UpdateMethodMultiParam

from api.deps import CurrentOperator, OperatorPrincipal, ResourcesDep, TemporalClientDep
from api.problems import LendflowError, NotFound, ServiceUnavailable, UnprocessableEntity
from api.workflow_calls import WorkflowRefused, timeout, updated
from domain.pix_keys import customers_own_pix_key, pix_key_kind
from lendflow.settings import Settings
from pipeline.dlq import DeadLetterReplayer, ReplayOutcome, read_letter
from storage.models import LoanApplication
from storage.repositories import audit, customers, loans
from workflows.contracts.origination import (
    TERMINAL_STATUSES,
    CancellationAccepted,
    CancellationRequest,
    ReviewDecision,
    ReviewRecorded,
    StepRetry,
    StepRetryAccepted,
    loan_workflow_id,
)
from workflows.origination import LoanOriginationWorkflow

log = structlog.get_logger(__name__)

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

LOAN_APPLICATION = "loan_application"
DEAD_LETTER = "dead_letter"


class PixKeyNotTheCustomers(UnprocessableEntity):
    code, title = "pix-key-not-the-customers", "A loan is paid out only to one of the borrower's own PIX keys"


class AuditTrail:
    """The append-only audit log as one operator's request writes to it."""

    def __init__(
        self, session_maker: async_sessionmaker[AsyncSession], operator: OperatorPrincipal, request_id: str
    ) -> None:
        self._sessions = session_maker
        self.operator = operator
        self.request_id = request_id

    @asynccontextmanager
    async def entry(
        self, action: str, object_type: str, object_id: str, detail: dict[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Write one audit row once the block ended: done, refused (with the problem), or failed.

        The block may add to the yielded detail (what the action found or decided) as it goes.
        """
        extra: dict[str, Any] = dict(detail or {})
        outcome = "done"
        try:
            yield extra
        except LendflowError as exc:
            outcome = f"refused:{exc.code}"
            raise
        except BaseException as exc:
            outcome = f"failed:{type(exc).__name__}"
            raise
        finally:
            await audit.record(
                self._sessions,
                operator_id=self.operator.operator_id,
                operator_username=self.operator.username,
                action=action,
                object_type=object_type,
                object_id=object_id,
                request_id=self.request_id,
                outcome=outcome,
                detail=extra,
            )
            log.info("ops.action", action=action, object_id=object_id, outcome=outcome)


class OpsActions:
    """What an operator may do to applications and dead letters, each action audited once."""

    def __init__(
        self,
        *,
        settings: Settings,
        session_maker: async_sessionmaker[AsyncSession],
        temporal: Client,
        trail: AuditTrail,
    ) -> None:
        self.settings = settings
        self._sessions = session_maker
        self._temporal = temporal
        self.trail = trail

    @property
    def actor(self) -> str:
        return self.trail.operator.actor

    async def review(self, application_id: uuid.UUID, *, approve: bool, reason: str) -> ReviewRecorded:
        """Approve or reject an application in manual review (the workflow enforces maker-checker)."""

        async def decision(application: LoanApplication, detail: dict[str, Any]) -> ReviewDecision:
            return ReviewDecision(reviewer=self.actor, approve=approve, reason=reason)

        return await self._update_application(
            application_id,
            action="review",
            detail={"approve": approve, "reason": reason},
            update=LoanOriginationWorkflow.decide_review,
            argument=decision,
        )

    async def retry_step(self, application_id: uuid.UUID, corrections: dict[str, str]) -> StepRetryAccepted:
        """Retry the paused step; a corrected PIX key must be one of the borrower's own."""

        async def retry(application: LoanApplication, detail: dict[str, Any]) -> StepRetry:
            corrected = dict(corrections)
            if "pix_key" in corrected:
                corrected["pix_key"] = await self._customers_own_pix_key(application, corrected["pix_key"])
                detail["pix_key_kind"] = pix_key_kind(corrected["pix_key"])
            return StepRetry(operator=self.actor, corrections=corrected)

        return await self._update_application(
            application_id,
            action="retry_step",
            detail={"corrected_fields": sorted(corrections)},
            update=LoanOriginationWorkflow.retry_step,
            argument=retry,
            noted=lambda accepted: {"step": accepted.step},
        )

    async def cancel(self, application_id: uuid.UUID, *, reason: str) -> CancellationAccepted:
        """Cancel an application that has not ended; the workflow runs its compensations."""

        async def cancellation(application: LoanApplication, detail: dict[str, Any]) -> CancellationRequest:
            if application.status in TERMINAL_STATUSES:
                raise WorkflowRefused("NotCancellable", f"the application is {application.status}")
            return CancellationRequest(requested_by=self.actor, reason=f"ops: {reason}")

        return await self._update_application(
            application_id,
            action="cancel",
            detail={"reason": reason},
            update=LoanOriginationWorkflow.request_cancellation,
            argument=cancellation,
        )

    async def replay_dead_letter(self, partition: int, offset: int) -> ReplayOutcome:
        """Re-produce one dead letter to the incoming topic (once; attempts are bounded)."""
        async with self.trail.entry("replay_dead_letter", DEAD_LETTER, f"{partition}:{offset}") as detail:
            try:
                letter = await asyncio.to_thread(read_letter, self.settings, partition, offset, timeout=5.0)
            except KafkaException as exc:  # the broker is not reachable
                raise ServiceUnavailable("the dead-letter queue cannot be read now") from exc
            if letter is None:
                raise NotFound("no such dead letter")
            detail.update(event_id=letter.event_id, event_type=letter.event_type)
            try:
                [outcome] = await DeadLetterReplayer(self.settings, self._sessions).replay([letter])
            # The broker did not take it: the producer refused it, or `DeadLetterReplayer` raises a
            # RuntimeError when the broker did not acknowledge every replay.
            except (KafkaException, BufferError, RuntimeError) as exc:
                raise ServiceUnavailable("the replay could not be produced; try again") from exc
            detail["status"] = outcome.status
        return outcome

    async def _update_application(
        self,
        application_id: uuid.UUID,
        *,
        action: str,
        detail: dict[str, Any],
        update: UpdateMethodMultiParam[[LoanOriginationWorkflow, ArgT], ResultT],
        argument: Callable[[LoanApplication, dict[str, Any]], Awaitable[ArgT]],
        noted: Callable[[ResultT], dict[str, Any]] | None = None,
    ) -> ResultT:
        """Load the application, build the Update's argument, send the Update; audit how it ended."""
        async with self.trail.entry(action, LOAN_APPLICATION, str(application_id), detail) as recorded:
            application = await self._application(application_id)
            arg = await argument(application, recorded)
            handle = self._temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
            result = await updated(handle.execute_update(update, arg, rpc_timeout=timeout(self.settings)))
            if noted is not None:
                recorded.update(noted(result))
        return result

    async def _application(self, application_id: uuid.UUID) -> LoanApplication:
        async with self._sessions() as session:
            application = await loans.by_id(session, application_id)
        if application is None:
            raise NotFound("no such application")
        return application

    async def _customers_own_pix_key(self, application: LoanApplication, key: str) -> str:
        """The corrected key, normalised, if it is the borrower's CPF, e-mail or phone as registered."""
        async with self._sessions() as session:
            customer = await customers.by_id(session, application.customer_id)
        assert customer is not None  # an application's customer is never deleted
        own = customers_own_pix_key(key, cpf=customer.cpf, email=customer.email, phone=customer.phone)
        if own is None:
            raise PixKeyNotTheCustomers("pix_key must be the customer's CPF, e-mail or mobile phone as registered")
        return own


async def ops_actions(
    operator: CurrentOperator, request: Request, resources: ResourcesDep, temporal: TemporalClientDep
) -> OpsActions:
    """The calling operator's actions, audited under this request's id."""
    request_id = getattr(request.state, "request_id", None) or "none"
    return OpsActions(
        settings=resources.settings,
        session_maker=resources.session_maker,
        temporal=temporal,
        trail=AuditTrail(resources.session_maker, operator, request_id),
    )


OpsActionsDep = Annotated[OpsActions, Depends(ops_actions)]
