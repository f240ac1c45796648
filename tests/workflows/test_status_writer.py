"""One writer of an application's status: the workflow decides, the read model follows.

The origination workflow runs on the time-skipping server with the fake activities, which keep
every `StatusChange` it sends in the order the activities carried them; those changes are then
applied to a real `loan_applications` row in PostgreSQL by `apply_status_change`, the one function
the real activities write a status with. The read model's outbox then shows every status the
workflow took, in order; a move the transitions table forbids is refused; an activity asked for its
own work without a change writes no status.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from test_origination import accept, application, reach, signed, start, workflow_statuses
from workflow_fakes import OriginationFakes, event, new_worker

from activities.origination import OriginationActivities, apply_status_change
from storage.models import Customer, LoanApplication, OutboxEvent
from workflows.contracts.origination import (
    NEXT_STATUSES,
    STATUS_MOVE_REFUSED,
    TERMINAL_STATUSES,
    AnalysisRequest,
    ApplicationStatus,
    StatusChange,
    StepRecord,
    status_may_move,
)
from workflows.contracts.servicing import servicing_workflow_id
from workflows.origination import LoanOriginationWorkflow

S = ApplicationStatus

# --- The transitions table (no service) ---------------------------------------------------------------


def test_the_happy_path_is_one_line_through_the_table() -> None:
    path = [S.SUBMITTED, S.ANALYZING, S.OFFER_READY, S.OFFER_ACCEPTED, S.CONTRACT_SENT, S.SIGNED, S.DISBURSING]
    for current, following in zip(path, [*path[1:], S.DISBURSED], strict=True):
        assert status_may_move(current, following)
    assert status_may_move(S.ANALYZING, S.MANUAL_REVIEW) and status_may_move(S.MANUAL_REVIEW, S.OFFER_READY)


def test_no_status_moves_back_or_skips_one_and_an_ended_application_stays_ended() -> None:
    order = list(ApplicationStatus)
    for current in ApplicationStatus:
        for to in NEXT_STATUSES[current] - TERMINAL_STATUSES:
            assert order.index(to) > order.index(current), (current, to)
    assert not status_may_move(S.OFFER_READY, S.CONTRACT_SENT)  # skips offer_accepted
    assert not status_may_move(S.CONTRACT_SENT, S.DISBURSING)  # skips signed
    assert not status_may_move(S.DISBURSING, S.SIGNED)  # back
    # The one way back: a refused payout's pause, from disbursing to signed.
    assert status_may_move(S.DISBURSING, S.SIGNED, paused=True)
    assert not status_may_move(S.CONTRACT_SENT, S.OFFER_ACCEPTED, paused=True)
    assert not status_may_move(S.DISBURSED, S.DISBURSING, paused=True)
    assert not status_may_move(S.MANUAL_REVIEW, S.ANALYZING)  # back
    for ended in TERMINAL_STATUSES:
        assert NEXT_STATUSES[ended] == frozenset()
        assert all(not status_may_move(ended, to) for to in ApplicationStatus if to != ended)
    # Every open application may end, but only a payout makes it disbursed.
    for current in set(ApplicationStatus) - TERMINAL_STATUSES:
        assert {S.DECLINED, S.EXPIRED, S.CANCELLED, S.FAILED} <= NEXT_STATUSES[current]
        assert status_may_move(current, S.DISBURSED) == (current == S.DISBURSING)


# --- The read model in PostgreSQL -----------------------------------------------------------------------


async def _new_application(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    customer_id, application_id = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(
            Customer(
                id=customer_id, cpf=f"{uuid.uuid4().int % 10**11:011d}", name="Maria da Silva",
                email=f"maria-{uuid.uuid4().hex}@example.com", password_hash="x", birth_date=date(1990, 5, 17),
                phone="+5511900000000", monthly_income=Decimal("10000.00"), status="active",
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            LoanApplication(
                id=application_id, customer_id=customer_id, status=S.SUBMITTED, amount=Decimal("5000.00"),
                term_months=12, amortization="price",
            )
        )  # fmt: skip
    return str(application_id), str(customer_id)


async def _apply(sessions: async_sessionmaker[AsyncSession], change: StatusChange) -> bool:
    async with sessions() as session, session.begin():
        row = await session.get(LoanApplication, uuid.UUID(change.application_id), with_for_update=True)
        assert row is not None
        return await apply_status_change(session, row, change)


async def _read_model(sessions: async_sessionmaker[AsyncSession], application_id: str) -> tuple[str, list[str]]:
    async with sessions() as session:
        row = await session.get(LoanApplication, uuid.UUID(application_id))
        assert row is not None
        events = (
            await session.scalars(
                select(OutboxEvent.event_type).where(OutboxEvent.subject == application_id).order_by(OutboxEvent.id)
            )
        ).all()
    return row.status, [e.removeprefix("loan.") for e in events]


def _rebased(change: StatusChange, application_id: str, customer_id: str) -> StatusChange:
    return StatusChange(
        application_id=application_id,
        customer_id=customer_id,
        status=change.status,
        steps=change.steps,
        offer=change.offer,
        risk_band=change.risk_band,
        failed_step=change.failed_step,
        reason=change.reason,
        reserve_amount=change.reserve_amount,
    )


async def test_the_read_model_follows_every_status_the_workflow_takes_in_order(
    env: WorkflowEnvironment, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    fakes = OriginationFakes()
    app = application()
    started: list[Any] = []
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        await reach(handle, "disbursing")
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        assert (await handle.result()).status == "disbursed"
        taken = await workflow_statuses(handle)
    await env.client.get_workflow_handle(servicing_workflow_id(app.application_id)).terminate("test over")

    application_id, customer_id = await _new_application(session_maker)
    for change in fakes.read_model.changes:  # as the activities carried them, in order
        await _apply(session_maker, _rebased(change, application_id, customer_id))
    status, events = await _read_model(session_maker, application_id)

    assert taken == ["analyzing", "offer_ready", "offer_accepted", "contract_sent", "signed", "disbursing", "disbursed"]
    assert events == taken
    assert status == "disbursed"


async def test_a_forbidden_move_is_refused_and_the_same_change_twice_is_written_once(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    application_id, customer_id = await _new_application(session_maker)
    steps = [StepRecord("eligibility", "passed", datetime.now(UTC))]

    def change(status: ApplicationStatus, **facts: str) -> StatusChange:
        return StatusChange(application_id, customer_id, status, steps, **facts)  # type: ignore[arg-type]

    assert await _apply(session_maker, change(S.ANALYZING)) is True
    assert await _apply(session_maker, change(S.ANALYZING)) is False  # a retried activity
    with pytest.raises(ApplicationError) as skipped:
        await _apply(session_maker, change(S.OFFER_ACCEPTED))  # skips offer_ready
    assert await _apply(session_maker, change(S.OFFER_READY)) is True
    with pytest.raises(ApplicationError) as back:
        await _apply(session_maker, change(S.ANALYZING))
    # A pause writes the same status again, with why: a change of its own.
    assert await _apply(session_maker, change(S.OFFER_READY, failed_step="contract", reason="paused: x")) is True
    status, events = await _read_model(session_maker, application_id)

    assert skipped.value.type == back.value.type == STATUS_MOVE_REFUSED
    assert skipped.value.non_retryable and back.value.non_retryable
    assert status == "offer_ready"
    assert events == ["analyzing", "offer_ready", "offer_ready"]

    for onwards in (S.OFFER_ACCEPTED, S.CONTRACT_SENT, S.SIGNED, S.DISBURSING):
        await _apply(session_maker, change(onwards))
    with pytest.raises(ApplicationError) as back_unpaused:
        await _apply(session_maker, change(S.SIGNED))
    # A payout the PSP refused: the pause takes the application back to signed, saying why.
    assert await _apply(session_maker, change(S.SIGNED, failed_step="disbursement", reason="paused: r")) is True
    status, events = await _read_model(session_maker, application_id)

    assert back_unpaused.value.type == STATUS_MOVE_REFUSED
    assert status == "signed"
    assert events[-2:] == ["disbursing", "signed"]


async def test_a_retried_activity_skips_the_change_its_own_later_change_followed(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    """prepare_contract writes `offer_accepted`, then `contract_sent`; an attempt retried after both
    committed (its answer was lost) must not be refused for `offer_accepted`, nor write it again."""
    application_id, customer_id = await _new_application(session_maker)

    def change(status: ApplicationStatus) -> StatusChange:
        return StatusChange(application_id, customer_id, status, [])

    for status in (S.ANALYZING, S.OFFER_READY, S.OFFER_ACCEPTED, S.CONTRACT_SENT):
        await _apply(session_maker, change(status))
    async with session_maker() as session, session.begin():
        row = await session.get(LoanApplication, uuid.UUID(application_id), with_for_update=True)
        assert row is not None
        retried = await apply_status_change(
            session, row, change(S.OFFER_ACCEPTED), superseded_by=change(S.CONTRACT_SENT)
        )
        with pytest.raises(ApplicationError) as elsewhere:  # superseded by another change: still refused
            await apply_status_change(session, row, change(S.OFFER_ACCEPTED), superseded_by=change(S.SIGNED))
    status, events = await _read_model(session_maker, application_id)

    assert retried is False
    assert elsewhere.value.type == STATUS_MOVE_REFUSED
    assert status == "contract_sent"
    assert events == ["analyzing", "offer_ready", "offer_accepted", "contract_sent"]


async def test_an_activity_writes_no_status_unless_the_workflow_sends_one(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    """start_analysis used to mark the application `analyzing` by itself: now only the change the
    workflow sends does, in the same transaction as the activity's reads."""
    application_id, customer_id = await _new_application(session_maker)
    activities = OriginationActivities(session_maker, None, None, None, None)  # type: ignore[arg-type]  # no provider call here

    profile = await activities.start_analysis(AnalysisRequest(application_id, customer_id))
    unchanged, no_events = await _read_model(session_maker, application_id)
    analyzing = StatusChange(application_id, customer_id, S.ANALYZING, [])
    await activities.start_analysis(AnalysisRequest(application_id, customer_id, status=analyzing))
    moved, events = await _read_model(session_maker, application_id)

    assert profile.customer_status == "active"
    assert (unchanged, no_events) == ("submitted", [])
    assert (moved, events) == ("analyzing", ["analyzing"])
