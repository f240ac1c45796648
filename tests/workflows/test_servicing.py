"""Loan servicing under time skipping: installments, late charges, early settlement.

The fake `issue_charge` can pay a charge as soon as it is issued (signalling `payment_received`
as the event bridge does), so a test that awaits the result lets months pass in milliseconds and
still chooses on which day each installment is paid. Every amount is checked against the credit
kernel (`late_charges`, `settlement_on`) for the day the workflow used.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from workflow_fakes import ServicingFakes, eventually, new_worker, paid, txid_for

from domain.business_calendar import BRASILIA, business_date
from domain.credit import Amortization, Schedule, build_schedule, late_charges, settlement_on
from domain.credit.due_dates import add_months
from workflows.contracts.servicing import (
    ChargeRequest,
    EarlySettlementCharge,
    EarlySettlementRequest,
    PayoffQuote,
    PayoffQuoteRequest,
    ServicingInput,
    ServicingResult,
    ServicingState,
    servicing_workflow_id,
)
from workflows.servicing import ServicingWorkflow

Handle = WorkflowHandle[Any, ServicingResult]
RATE = Decimal("0.0299")


def attempt_of(request: ChargeRequest) -> int:
    return int(request.reference.rsplit("attempt-", 1)[1]) if "attempt-" in request.reference else -1


async def loan(env: WorkflowEnvironment, term_months: int) -> ServicingInput:
    """A loan released today (the test server's today), first installment due a month later."""
    release = business_date(await env.get_current_time())
    return ServicingInput(
        loan_id=str(uuid.uuid4()),
        customer_id=str(uuid.uuid4()),
        amortization="price",
        principal=Decimal("1000.00"),
        monthly_rate=RATE,
        release_date=release,
        first_due_date=add_months(release, 1),
        term_months=term_months,
    )


def schedule_of(servicing: ServicingInput) -> Schedule:
    return build_schedule(
        Amortization(servicing.amortization),
        servicing.principal,
        servicing.monthly_rate,
        servicing.release_date,
        servicing.first_due_date,
        servicing.term_months,
    )


@pytest.fixture
async def started(env: WorkflowEnvironment) -> AsyncIterator[list[str]]:
    """Workflow ids a test started; any still running at the end is terminated."""
    ids: list[str] = []
    yield ids
    for workflow_id in ids:
        with contextlib.suppress(Exception):  # already closed
            await env.client.get_workflow_handle(workflow_id).terminate("test over")


async def start(env: WorkflowEnvironment, task_queue: str, servicing: ServicingInput, started: list[str]) -> Handle:
    workflow_id = servicing_workflow_id(servicing.loan_id)
    started.append(workflow_id)
    return await env.client.start_workflow(ServicingWorkflow.run, servicing, id=workflow_id, task_queue=task_queue)


async def test_installments_paid_on_time_continue_as_new_until_paid_off(
    env: WorkflowEnvironment, started: list[str]
) -> None:
    servicing = await loan(env, term_months=2)
    schedule = schedule_of(servicing)
    fakes = ServicingFakes(env.client, pay=lambda request: True)
    async with new_worker(env.client, fakes.activities()) as worker:
        first_run = await start(env, worker.task_queue, servicing, started)
        result = await first_run.result()  # follows the continue-as-new chain
        first = await env.client.get_workflow_handle(first_run.id, run_id=first_run.result_run_id).describe()
        last = await env.client.get_workflow_handle(first_run.id).describe()

    assert result == ServicingResult(servicing.loan_id, "paid_off", settled_early=False, last_installment_paid=2)
    assert first.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert last.status == WorkflowExecutionStatus.COMPLETED and last.run_id != first.run_id
    assert [(c.installment_number, attempt_of(c), c.amount) for c in fakes.charges] == [
        (i.number, 0, i.payment) for i in schedule.installments
    ]
    payments = fakes.installment_payments
    assert [p.installment_number for p in payments] == [1, 2]
    assert [p.is_last for p in payments] == [False, True]
    for payment, installment, charge in zip(payments, schedule.installments, fakes.charges, strict=True):
        assert payment.loan_id == servicing.loan_id
        assert payment.txid == txid_for(charge.reference)
        assert payment.amount_paid == installment.payment
        assert payment.principal == installment.amortization and payment.interest == installment.interest
        assert payment.late_charges == Decimal("0.00")
        # The charge goes out five days before the due date and is paid at once.
        assert payment.paid_on == installment.due_date - timedelta(days=5)
        assert charge.expires_at == datetime.combine(installment.due_date + timedelta(days=1), time(0), tzinfo=BRASILIA)


async def test_late_installment_is_recharged_each_day_with_the_kernels_late_charges(
    env: WorkflowEnvironment, started: list[str]
) -> None:
    servicing = await loan(env, term_months=1)
    installment = schedule_of(servicing).installments[0]
    fakes = ServicingFakes(env.client, pay=lambda request: attempt_of(request) == 3)  # paid on the 3rd day late
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, servicing, started)
        result = await handle.result()
        final: ServicingState = await handle.query(ServicingWorkflow.state)

    assert result == ServicingResult(servicing.loan_id, "paid_off", settled_early=False, last_installment_paid=1)
    charges = fakes.charges
    assert [attempt_of(c) for c in charges] == [0, 1, 2, 3]
    assert charges[0].amount == installment.payment and charges[0].previous_txid is None
    for late_attempt, charge in enumerate(charges[1:], start=1):
        day = charge.expires_at.date() - timedelta(days=1)  # reissued at the start of `day`, payable that day
        assert day == installment.due_date + timedelta(days=late_attempt)
        assert charge.amount == late_charges(installment.payment, installment.due_date, day, RATE).amount_due
        assert charge.previous_txid == txid_for(charges[late_attempt - 1].reference)
    assert charges[1].amount < charges[2].amount < charges[3].amount
    paid_day = installment.due_date + timedelta(days=3)
    expected = late_charges(installment.payment, installment.due_date, paid_day, RATE)
    [payment] = fakes.installment_payments
    assert payment.paid_on == paid_day
    assert payment.amount_paid == expected.amount_due
    assert payment.late_charges == expected.charges
    assert payment.is_last
    assert final.days_late == 3 and final.amount_due == expected.amount_due


async def test_early_settlement_charges_the_kernels_payoff_amount_and_pays_the_loan_off(
    env: WorkflowEnvironment, started: list[str]
) -> None:
    servicing = await loan(env, term_months=3)
    schedule = schedule_of(servicing)
    fakes = ServicingFakes(env.client)
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, servicing, started)
        await env.sleep(timedelta(days=10))  # ten days into the first period, before the first charge
        today = business_date(await env.get_current_time())
        # The day is explicit: without it the query quotes for `workflow.now()`, which in a query is
        # the time of the last workflow task (here the start, ten days ago), not today.
        quoted: PayoffQuote = await handle.query(ServicingWorkflow.payoff_quote, PayoffQuoteRequest(settle_on=today))
        later_day = servicing.first_due_date + timedelta(days=3)
        quoted_later: PayoffQuote = await handle.query(
            ServicingWorkflow.payoff_quote, PayoffQuoteRequest(settle_on=later_day)
        )
        settlement = await handle.execute_update(
            ServicingWorkflow.settle_early, EarlySettlementRequest(requested_by=servicing.customer_id)
        )
        again = await _refusal(
            handle.execute_update(ServicingWorkflow.settle_early, EarlySettlementRequest(requested_by="ops-1"))
        )
        await paid(handle, settlement.charge)
        result = await handle.result()

    expected = settlement_on(schedule, today)
    assert today == servicing.release_date + timedelta(days=10)
    assert quoted == PayoffQuote(today, expected.amount, expected.interest_reduction, 3)
    assert servicing.principal < expected.amount < schedule.installments[0].balance + schedule.installments[0].payment
    expected_later = settlement_on(schedule, later_day)
    assert quoted_later.amount == expected_later.amount and quoted_later.remaining_installments == 2
    assert isinstance(settlement, EarlySettlementCharge)
    assert settlement.quote == quoted
    assert settlement.charge.amount == expected.amount
    [charge] = fakes.charges
    assert charge.installment_number is None and charge.amount == expected.amount
    assert again.type == "SettlementOpen"
    assert result == ServicingResult(servicing.loan_id, "paid_off", settled_early=True, last_installment_paid=3)
    [recorded] = fakes.early_settlements
    assert recorded.amount_paid == expected.amount
    assert recorded.txid == settlement.charge.txid
    assert recorded.first_settled_installment == 1 and recorded.open_installment_txid is None
    assert recorded.settled_on == today
    assert fakes.installment_payments == []


async def test_early_settlement_is_refused_while_an_installment_is_due(
    env: WorkflowEnvironment, started: list[str]
) -> None:
    servicing = await loan(env, term_months=2)
    schedule = schedule_of(servicing)
    fakes = ServicingFakes(env.client)
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, servicing, started)
        now = await env.get_current_time()
        due = datetime.combine(servicing.first_due_date, time(12), tzinfo=UTC)
        await env.sleep(due - now)  # noon of the first due date: its charge is out, unpaid
        await eventually(lambda: len(fakes.charges) == 1, what="the first charge")
        due_state: ServicingState = await handle.query(ServicingWorkflow.state)
        refused = await _refusal(
            handle.execute_update(
                ServicingWorkflow.settle_early, EarlySettlementRequest(requested_by=servicing.customer_id)
            )
        )
        quote: PayoffQuote = await handle.query(
            ServicingWorkflow.payoff_quote, PayoffQuoteRequest(settle_on=servicing.first_due_date)
        )

        assert due_state.open_charge is not None
        await paid(handle, due_state.open_charge)
        await eventually(lambda: len(fakes.installment_payments) == 1, what="the payment to be recorded")

        first_run = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)

        async def continued() -> bool:
            return (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW

        await eventually(continued, what="the first run to continue as new")
        latest = env.client.get_workflow_handle(handle.id)

        async def second_run_waiting() -> bool:
            # Query the new run only once its first workflow task is done: a query racing that
            # task can hang on the test server.
            history = await latest.fetch_history()
            return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events)

        await eventually(second_run_waiting, what="the second installment's run")
        next_state: ServicingState = await latest.query(ServicingWorkflow.state)

    assert next_state.next_installment == 2 and next_state.open_charge is None

    assert refused.type == "InstallmentDue"
    assert due_state.next_installment == 1 and due_state.amount_due == schedule.installments[0].payment
    assert quote.settle_on == servicing.first_due_date
    assert quote.amount == settlement_on(schedule, servicing.first_due_date).amount
    assert fakes.early_settlements == []
    [payment] = fakes.installment_payments
    assert payment.installment_number == 1 and payment.paid_on == servicing.first_due_date
    assert payment.late_charges == Decimal("0.00")


async def _refusal(update: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await update
    assert isinstance(failed.value.cause, ApplicationError)
    return failed.value.cause
