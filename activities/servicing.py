"""Activities of loan servicing: PIX charges, and recording what the customer paid.

A charge's txid is derived from its business reference (loan, installment, attempt), so issuing
it again after a crash finds the first one. Payments post to the ledger under idempotency keys.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.provider_errors import provider_call
from integrations.errors import ChargeNotCancellable
from integrations.pix import PixClient
from integrations.pix_codes import txid_for
from storage import ledger
from storage.models import Customer, Installment, PixCharge
from storage.outbox import record_event
from workflows.contracts.servicing import (
    ChargeRequest,
    EarlySettlementPayment,
    InstallmentPayment,
    IssuedCharge,
    ServicingActivityContract,
)


class ServicingActivities(ServicingActivityContract):
    def __init__(self, session_maker: async_sessionmaker[AsyncSession], pix: PixClient) -> None:
        self._sessions = session_maker
        self._pix = pix

    @activity.defn
    async def issue_charge(self, request: ChargeRequest) -> IssuedCharge:
        """Cancel the charge this one replaces (if still unpaid) and issue the new one.

        When the replaced charge turns out to be paid already, it is returned instead: its payment
        event is on its way and the workflow must wait for it, not charge again.
        """
        loan_id = uuid.UUID(request.loan_id)
        async with self._sessions() as session:
            customer = await session.get(Customer, uuid.UUID(request.customer_id))
            if customer is None:
                raise ApplicationError("customer not found", type="CustomerNotFound", non_retryable=True)
            debtor_cpf, debtor_name = customer.cpf, customer.name
        if request.previous_txid:
            with provider_call():
                try:
                    await self._pix.cancel_charge(request.previous_txid)
                except ChargeNotCancellable:
                    previous = await self._pix.get_charge(request.previous_txid)
                    return IssuedCharge(
                        txid=previous.txid,
                        amount=previous.amount,
                        br_code=previous.br_code,
                        payment_url=previous.payment_url,
                        expires_at=request.expires_at,
                    )
            async with self._sessions() as session, session.begin():
                stale = await session.get(PixCharge, request.previous_txid, with_for_update=True)
                if stale is not None and stale.status == "open":
                    stale.status = "cancelled"
        txid = txid_for(request.reference)
        seconds = max(60, int((request.expires_at - datetime.now(UTC)).total_seconds()))
        with provider_call():
            charge = await self._pix.create_charge(
                txid=txid,
                amount=request.amount,
                debtor_cpf=debtor_cpf,
                debtor_name=debtor_name,
                expires_in_seconds=seconds,
                payer_request=(
                    f"Parcela {request.installment_number}" if request.installment_number else "Liquidacao antecipada"
                ),
            )
        async with self._sessions() as session, session.begin():
            if await session.get(PixCharge, txid) is None:
                session.add(
                    PixCharge(
                        txid=txid,
                        application_id=loan_id,
                        installment_number=request.installment_number,
                        amount=request.amount,
                        br_code=charge.br_code,
                        payment_url=charge.payment_url,
                    )
                )
                record_event(
                    session,
                    "loan.charge_issued",
                    request.loan_id,
                    {
                        "loan_id": request.loan_id,
                        "txid": txid,
                        "installment_number": request.installment_number,
                        "amount": str(request.amount),
                    },
                )
        return IssuedCharge(
            txid=txid,
            amount=request.amount,
            br_code=charge.br_code,
            payment_url=charge.payment_url,
            expires_at=request.expires_at,
        )

    @activity.defn
    async def record_installment_payment(self, payment: InstallmentPayment) -> None:
        """The installment paid, its charge paid, the ledger entry and the event: one transaction."""
        loan_id = uuid.UUID(payment.loan_id)
        async with self._sessions() as session, session.begin():
            installment = await session.scalar(
                select(Installment)
                .where(Installment.application_id == loan_id, Installment.number == payment.installment_number)
                .with_for_update()
            )
            if installment is None:
                raise ApplicationError("installment not found", type="InstallmentNotFound", non_retryable=True)
            if installment.status == "paid":
                return
            installment.status = "paid"
            installment.paid_amount = payment.amount_paid
            installment.paid_at = datetime.now(UTC)
            charge = await session.get(PixCharge, payment.txid, with_for_update=True)
            if charge is not None:
                charge.status = "paid"
                charge.paid_at = installment.paid_at
            # What was paid beyond principal and interest is late charges (or an overpayment kept as such).
            extra = payment.amount_paid - payment.principal - payment.interest
            await ledger.post_entry(
                session,
                idempotency_key=f"{payment.loan_id}:installment-{payment.installment_number}:payment",
                application_id=loan_id,
                kind="installment_payment",
                description=f"Installment {payment.installment_number} of loan {payment.loan_id}",
                postings=[
                    ledger.Posting(ledger.PIX_SETTLEMENT, debit=payment.amount_paid),
                    ledger.Posting(ledger.LOANS_RECEIVABLE, credit=payment.principal),
                    ledger.Posting(ledger.INTEREST_INCOME, credit=payment.interest),
                    ledger.Posting(ledger.LATE_CHARGES_INCOME, credit=extra)
                    if extra > 0
                    else ledger.Posting(ledger.LATE_CHARGES_INCOME),
                ],
            )
            record_event(
                session,
                "loan.installment_paid",
                payment.loan_id,
                {
                    "loan_id": payment.loan_id,
                    "installment_number": payment.installment_number,
                    "amount_paid": str(payment.amount_paid),
                    "late_charges": str(payment.late_charges),
                },
            )
            if payment.is_last:
                record_event(session, "loan.paid_off", payment.loan_id, {"loan_id": payment.loan_id, "early": False})

    @activity.defn
    async def record_early_settlement(self, payment: EarlySettlementPayment) -> None:
        """Every remaining installment settled by one payment, with the interest reduction of CDC art. 52 § 2."""
        loan_id = uuid.UUID(payment.loan_id)
        if payment.open_installment_txid:
            # Paid meanwhile (ChargeNotCancellable): the bridge records the late event.
            with provider_call(), contextlib.suppress(ChargeNotCancellable):
                await self._pix.cancel_charge(payment.open_installment_txid)
        async with self._sessions() as session, session.begin():
            remaining = (
                await session.scalars(
                    select(Installment)
                    .where(
                        Installment.application_id == loan_id,
                        Installment.number >= payment.first_settled_installment,
                        Installment.status == "open",
                    )
                    .with_for_update()
                )
            ).all()
            if not remaining:
                return
            now = datetime.now(UTC)
            principal = sum((i.amortization for i in remaining), Decimal("0.00"))
            for installment in remaining:
                installment.status = "settled_early"
                installment.paid_at = now
            charge = await session.get(PixCharge, payment.txid, with_for_update=True)
            if charge is not None:
                charge.status = "paid"
                charge.paid_at = now
            interest = payment.amount_paid - principal
            await ledger.post_entry(
                session,
                idempotency_key=f"{payment.loan_id}:early-settlement",
                application_id=loan_id,
                kind="early_settlement",
                description=f"Early settlement of loan {payment.loan_id} on {payment.settled_on.isoformat()}",
                postings=[
                    ledger.Posting(ledger.PIX_SETTLEMENT, debit=payment.amount_paid),
                    ledger.Posting(ledger.LOANS_RECEIVABLE, credit=principal),
                    ledger.Posting(ledger.INTEREST_INCOME, credit=interest),
                ],
            )
            record_event(
                session,
                "loan.paid_off",
                payment.loan_id,
                {"loan_id": payment.loan_id, "early": True, "amount_paid": str(payment.amount_paid)},
            )
