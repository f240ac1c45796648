"""The service behind ops' actions writes exactly one audit entry per action: ``done`` for one the
workflow accepted, ``refused:<problem>`` for one the read model or the workflow refused, never a
``done`` for a refused one. Called directly, against the real workflow, database and Temporal."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import eventually, register_and_login
from temporalio.client import Client
from test_loans import activate, apply, loan_in

from api.deps import OperatorPrincipal
from api.problems import NotFound
from api.services.ops_actions import AuditTrail, OpsActions, PixKeyNotTheCustomers
from api.workflow_calls import WorkflowRefused
from lendflow.settings import Settings
from storage.models import OpsAuditEntry
from storage.repositories import loans, operators
from workflows.contracts.origination import ApplicationStatus


@pytest.fixture
async def operator(session_maker: async_sessionmaker[AsyncSession], new_operator: Any) -> OperatorPrincipal:
    username = await new_operator()
    async with session_maker() as session:
        row = await operators.by_username(session, username)
    assert row is not None
    return OperatorPrincipal(operator_id=row.id, username=row.username, session_id=uuid.uuid4())


@pytest.fixture
def actions_of(
    api_settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
    operator: OperatorPrincipal,
) -> Any:
    """``actions_of(request_id)`` → the operator's actions, audited under that request id."""

    def make(request_id: str) -> OpsActions:
        return OpsActions(
            settings=api_settings,
            session_maker=session_maker,
            temporal=temporal_client,
            trail=AuditTrail(session_maker, operator, request_id),
        )

    return make


async def entries(session_maker: async_sessionmaker[AsyncSession], object_id: str) -> list[tuple[str, str, str]]:
    async with session_maker() as session:
        rows = await session.execute(
            select(OpsAuditEntry.action, OpsAuditEntry.outcome, OpsAuditEntry.request_id)
            .where(OpsAuditEntry.object_id == object_id)
            .order_by(OpsAuditEntry.id)
        )
    return [(action, outcome, request_id) for action, outcome, request_id in rows.all()]


async def offer_ready_application(api: httpx.AsyncClient, session_maker: async_sessionmaker[AsyncSession]) -> str:
    customer = await register_and_login(api)
    await activate(session_maker, customer)
    loan_id = (await apply(api, customer)).json()["id"]
    await loan_in(api, customer, loan_id, "offer_ready")
    return str(loan_id)


async def test_an_accepted_action_is_audited_once_as_done(
    api: httpx.AsyncClient, worker: object, session_maker: async_sessionmaker[AsyncSession], actions_of: Any
) -> None:
    loan_id = await offer_ready_application(api, session_maker)

    accepted = await actions_of("cancel-1").cancel(uuid.UUID(loan_id), reason="fraud suspicion")

    assert accepted.status_when_requested == ApplicationStatus.OFFER_READY
    assert await entries(session_maker, loan_id) == [("cancel", "done", "cancel-1")]


async def test_a_refused_action_is_audited_once_as_refused_and_never_as_done(
    api: httpx.AsyncClient, worker: object, session_maker: async_sessionmaker[AsyncSession], actions_of: Any
) -> None:
    loan_id = await offer_ready_application(api, session_maker)
    missing = uuid.uuid4()

    # Refused by the workflow (its Update validator), by the read model (no such application), and
    # by the service itself before any Update (a payout key that is not the borrower's).
    with pytest.raises(WorkflowRefused) as by_workflow:
        await actions_of("review-1").review(uuid.UUID(loan_id), approve=True, reason="income verified")
    with pytest.raises(NotFound):
        await actions_of("retry-1").retry_step(missing, {})
    with pytest.raises(PixKeyNotTheCustomers):
        await actions_of("retry-2").retry_step(uuid.UUID(loan_id), {"pix_key": "someone.else@example.com"})

    assert by_workflow.value.code == "not-in-review"
    assert await entries(session_maker, loan_id) == [
        ("review", "refused:not-in-review", "review-1"),
        ("retry_step", "refused:pix-key-not-the-customers", "retry-2"),
    ]
    assert await entries(session_maker, str(missing)) == [("retry_step", "refused:not-found", "retry-1")]


async def test_a_cancel_refused_after_one_accepted_adds_one_refused_entry(
    api: httpx.AsyncClient, worker: object, session_maker: async_sessionmaker[AsyncSession], actions_of: Any
) -> None:
    loan_id = await offer_ready_application(api, session_maker)
    await actions_of("cancel-1").cancel(uuid.UUID(loan_id), reason="fraud suspicion")
    status = await eventually_cancelled(session_maker, loan_id)

    with pytest.raises(WorkflowRefused) as again:
        await actions_of("cancel-2").cancel(uuid.UUID(loan_id), reason="again")

    assert status == ApplicationStatus.CANCELLED
    assert again.value.code == "not-cancellable"
    assert await entries(session_maker, loan_id) == [
        ("cancel", "done", "cancel-1"),
        ("cancel", "refused:not-cancellable", "cancel-2"),
    ]


async def eventually_cancelled(session_maker: async_sessionmaker[AsyncSession], loan_id: str) -> str:
    """The read model's status once the workflow has run its compensations and ended cancelled."""

    async def status() -> str | None:
        async with session_maker() as session:
            row = await loans.by_id(session, uuid.UUID(loan_id))
        return row.status if row else None

    found = await eventually(status, lambda s: s == ApplicationStatus.CANCELLED, timeout=30)
    assert found is not None
    return found
