"""Loan servicing: `servicing-{loan_id}`, one installment at a time.

For each installment: a timer to a few days before the due date, a PIX charge, a wait for the
payment event; after the due date the charge is reissued each day with the fine, default interest
and contract interest of the credit kernel. Early settlement (an Update) answers with the amount
the kernel quotes and a charge to pay it. After each installment the workflow continues as new,
so its history stays bounded; it ends `paid_off`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.business_calendar import BRASILIA, business_date
    from domain.credit import Amortization, Schedule, build_schedule, late_charges, settlement_on
    from workflows.activity_options import DATABASE_WRITE, PROVIDER_CALL
    from workflows.contracts.servicing import (
        PAYMENT_RECEIVED,
        PAYOFF_QUOTE_QUERY,
        STATE_QUERY,
        ChargeRequest,
        EarlySettlementCharge,
        EarlySettlementPayment,
        EarlySettlementRequest,
        InstallmentPayment,
        IssuedCharge,
        PayoffQuote,
        PayoffQuoteRequest,
        ProviderEvent,
        ServicingActivityContract,
        ServicingInput,
        ServicingResult,
        ServicingState,
    )

T = TypeVar("T")


class ServicingInvariantBroken(RuntimeError):
    """State this workflow's own code guarantees is missing: a bug, never a business outcome.

    Deliberately not an ApplicationError (and not in `workflow_failure_exception_types`): it fails
    the workflow *task*, which Temporal retries until a worker with fixed code runs it, so the loan's
    servicing resumes where it stopped instead of ending failed. Unlike an `assert`, it survives
    `python -O` and says what was missing."""


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise ServicingInvariantBroken(f"{what} is missing")
    return value


def _start_of(day: date) -> datetime:
    """Midnight in Brasília: a due date lasts the customer's whole day."""
    return datetime.combine(day, time(0, 0), tzinfo=BRASILIA)


@workflow.defn
class ServicingWorkflow:
    @workflow.init
    def __init__(self, loan: ServicingInput) -> None:
        self._loan = loan
        self._schedule: Schedule = build_schedule(
            Amortization(loan.amortization),
            loan.principal,
            loan.monthly_rate,
            loan.release_date,
            loan.first_due_date,
            loan.term_months,
        )
        self._payments: dict[str, ProviderEvent] = {}
        self._seen_events: set[str] = set()
        self._charge: IssuedCharge | None = None
        self._amount_due: Decimal | None = None
        self._days_late = 0
        self._settlement: EarlySettlementCharge | None = None

    # --- Signals, queries, updates ----------------------------------------------------------

    @workflow.signal(name=PAYMENT_RECEIVED)
    def payment_received(self, event: ProviderEvent) -> None:
        if event.event_id in self._seen_events:
            return
        self._seen_events.add(event.event_id)
        txid = str(event.data.get("txid", ""))
        if txid:
            self._payments[txid] = event

    @workflow.query(name=STATE_QUERY)
    def state(self) -> ServicingState:
        return ServicingState(
            loan_id=self._loan.loan_id,
            next_installment=self._loan.next_number,
            installments=len(self._schedule.installments),
            open_charge=self._charge,
            amount_due=self._amount_due,
            days_late=self._days_late,
            early_settlement=self._settlement.charge if self._settlement else None,
        )

    @workflow.query(name=PAYOFF_QUOTE_QUERY)
    def payoff_quote(self, request: PayoffQuoteRequest) -> PayoffQuote:
        return self._quote(request.settle_on or business_date(workflow.now()))

    @workflow.update  # named as the contract names it (tests/workflows/test_contracts.py)
    async def settle_early(self, request: EarlySettlementRequest) -> EarlySettlementCharge:
        quote = self._quote(business_date(workflow.now()))
        charge = await workflow.execute_activity_method(
            ServicingActivityContract.issue_charge,
            ChargeRequest(
                loan_id=self._loan.loan_id,
                customer_id=self._loan.customer_id,
                reference=f"loan-{self._loan.loan_id}/payoff-{quote.settle_on.isoformat()}",
                installment_number=None,
                amount=quote.amount,
                expires_at=_start_of(quote.settle_on + timedelta(days=1)),
                previous_txid=None,
            ),
            **PROVIDER_CALL,
        )
        self._settlement = EarlySettlementCharge(quote=quote, charge=charge)
        return self._settlement

    @settle_early.validator
    def _validate_settle_early(self, request: EarlySettlementRequest) -> None:
        today = business_date(workflow.now())
        if self._settlement is not None and self._settlement.quote.settle_on == today:
            raise ApplicationError("an early settlement charge is already open today", type="SettlementOpen")
        if self._current.due_date <= today:
            raise ApplicationError(
                f"installment {self._current.number} is due or overdue: pay it first", type="InstallmentDue"
            )

    # --- The installment --------------------------------------------------------------------

    @property
    def _current(self):
        return self._schedule.installments[self._loan.next_number - 1]

    def _quote(self, day: date) -> PayoffQuote:
        settlement = settlement_on(self._schedule, day)
        return PayoffQuote(
            settle_on=day,
            amount=settlement.amount,
            interest_reduction=settlement.interest_reduction,
            remaining_installments=len(settlement.remaining_installments),
        )

    def _paid(self, charge: IssuedCharge | None) -> bool:
        return charge is not None and charge.txid in self._payments

    async def _wait_until(self, moment: datetime, condition) -> bool:
        remaining = moment - workflow.now()
        if remaining <= timedelta(0):
            return condition()
        try:
            await workflow.wait_condition(condition, timeout=remaining)
        except TimeoutError:
            return False
        return True

    @workflow.run
    async def run(self, loan: ServicingInput) -> ServicingResult:
        installment = self._current
        settled = lambda: self._settlement is not None and self._paid(self._settlement.charge)  # noqa: E731

        # 1. Until the charge is due to be issued, only an early settlement can happen.
        charge_at = _start_of(installment.due_date) - loan.charge_lead
        if await self._wait_until(charge_at, settled):
            return await self._settle_early()

        # 2. The installment's charge, payable until the end of its due date.
        deadline = _start_of(installment.due_date + timedelta(days=1))
        self._amount_due = installment.payment
        self._charge = await self._issue(installment.number, installment.payment, deadline, attempt=0)
        attempt = 0
        while not await self._wait_until(deadline, lambda: self._paid(self._charge) or settled()):
            # 3. Late: reissue each day with the kernel's late charges as of that day.
            attempt += 1
            today = business_date(workflow.now())
            late = late_charges(installment.payment, installment.due_date, today, loan.monthly_rate)
            self._days_late = late.days_late
            self._amount_due = late.amount_due
            deadline = _start_of(today + timedelta(days=1))
            self._charge = await self._issue(installment.number, late.amount_due, deadline, attempt=attempt)
        if settled() and not self._paid(self._charge):
            return await self._settle_early()

        # 4. Paid: record it, then the next installment in a fresh history.
        charge = _required(self._charge, "the paid charge")
        payment = self._payments[charge.txid]
        paid_on = business_date(workflow.now())
        late = late_charges(
            installment.payment, installment.due_date, max(paid_on, installment.due_date), loan.monthly_rate
        )
        is_last = installment.number == len(self._schedule.installments)
        await workflow.execute_activity_method(
            ServicingActivityContract.record_installment_payment,
            InstallmentPayment(
                loan_id=loan.loan_id,
                customer_id=loan.customer_id,
                installment_number=installment.number,
                txid=charge.txid,
                amount_paid=Decimal(str(payment.data.get("amount", charge.amount))),
                principal=installment.amortization,
                interest=installment.interest,
                late_charges=late.charges,
                paid_on=paid_on,
                is_last=is_last,
            ),
            **DATABASE_WRITE,
        )
        if is_last:
            return ServicingResult(
                loan.loan_id, "paid_off", settled_early=False, last_installment_paid=installment.number
            )
        workflow.continue_as_new(replace(loan, next_number=installment.number + 1))

    async def _issue(self, number: int, amount: Decimal, expires_at: datetime, *, attempt: int) -> IssuedCharge:
        previous = self._charge
        charge = await workflow.execute_activity_method(
            ServicingActivityContract.issue_charge,
            ChargeRequest(
                loan_id=self._loan.loan_id,
                customer_id=self._loan.customer_id,
                reference=f"loan-{self._loan.loan_id}/installment-{number}/attempt-{attempt}",
                installment_number=number,
                amount=amount,
                expires_at=expires_at,
                previous_txid=previous.txid if previous else None,
            ),
            **PROVIDER_CALL,
        )
        return charge

    async def _settle_early(self) -> ServicingResult:
        settlement = _required(self._settlement, "the accepted early settlement")
        quote, charge = settlement.quote, settlement.charge
        await workflow.execute_activity_method(
            ServicingActivityContract.record_early_settlement,
            EarlySettlementPayment(
                loan_id=self._loan.loan_id,
                customer_id=self._loan.customer_id,
                txid=charge.txid,
                amount_paid=quote.amount,
                first_settled_installment=self._loan.next_number,
                open_installment_txid=self._charge.txid if self._charge else None,
                settled_on=quote.settle_on,
            ),
            **DATABASE_WRITE,
        )
        return ServicingResult(
            self._loan.loan_id, "paid_off", settled_early=True, last_installment_paid=len(self._schedule.installments)
        )
