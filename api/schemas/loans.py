"""How a loan application looks from outside: to its customer, and (with more) to ops.

Built from the read model (``loan_applications``), enriched with the origination workflow's
``state`` query when it answers. Money is a string with two decimals; rates are percentages with two
decimals ("1.99" is 1,99 % a month), as the simulation, the contract and the app show them.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from api.fields import MoneyOut, RatePercentOut
from api.pagination import Page
from domain.application_reasons import CustomerReason, reason_for_customer, step_detail_for_customer
from storage.models import Installment, LoanApplication, PixCharge
from workflows.contracts.origination import ApplicationState, ApplicationStatus, Offer


class ScheduleItem(BaseModel):
    number: int
    due_date: date
    payment: MoneyOut
    interest: MoneyOut
    amortization: MoneyOut
    balance: MoneyOut


class OfferView(BaseModel):
    offer_id: str = Field(description="Send it back to accept this offer")
    amount: MoneyOut
    term_months: int
    amortization: str
    monthly_rate: RatePercentOut = Field(
        description='Interest rate, percent a month with two decimals: "1.99" is 1,99 % a month'
    )
    risk_band: str
    release_date: date
    first_due_date: date
    amount_financed: MoneyOut
    amount_released: MoneyOut
    iof_total: MoneyOut
    fees_total: MoneyOut
    total_payable: MoneyOut
    cet_monthly: RatePercentOut = Field(
        description='CET (Resolução CMN 4.881/2020), percent a month with two decimals: "2.33" is 2,33 % a month'
    )
    cet_annual: RatePercentOut = Field(
        description='CET, percent a year with two decimals, rounded half-even as disclosed: "31.88" is 31,88 % a year'
    )
    expires_at: datetime
    installments: list[ScheduleItem]

    @classmethod
    def of(cls, offer: Offer | dict[str, Any] | None) -> OfferView | None:
        if offer is None:
            return None
        data = offer if isinstance(offer, dict) else asdict(offer)
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class StepView(BaseModel):
    step: str
    outcome: str
    at: datetime
    detail: str | None = None


class ChargeView(BaseModel):
    """The open PIX charge of an installment: what the customer pays with."""

    txid: str
    amount: MoneyOut = Field(description="Late charges included, when the installment is overdue")
    br_code: str | None = Field(default=None, description="PIX copia e cola")
    payment_url: str | None = None


class InstallmentView(ScheduleItem):
    status: str = Field(description="open, paid or settled_early")
    paid_amount: MoneyOut | None = None
    paid_at: datetime | None = None
    charge: ChargeView | None = Field(default=None, description="The open PIX charge, once servicing issued it")

    @classmethod
    def of(cls, row: Installment, charge: PixCharge | None = None) -> InstallmentView:
        return cls(
            charge=(
                ChargeView(
                    txid=charge.txid, amount=charge.amount, br_code=charge.br_code, payment_url=charge.payment_url
                )
                if charge is not None and row.status == "open"
                else None
            ),
            number=row.number,
            due_date=row.due_date,
            payment=row.payment,
            interest=row.interest,
            amortization=row.amortization,
            balance=row.balance,
            status=row.status,
            paid_amount=row.paid_amount,
            paid_at=row.paid_at,
        )


class InstallmentPage(Page[InstallmentView]):
    pass


def links_of(application_id: uuid.UUID) -> dict[str, str]:
    base = f"/v1/loans/{application_id}"
    return {
        "self": base,
        "accept": f"{base}/accept",
        "cancel": f"{base}/cancel",
        "installments": f"{base}/installments",
        "payoff_quote": f"{base}/payoff-quote",
        "payoff": f"{base}/payoff",
    }


class LoanSummary(BaseModel):
    id: uuid.UUID
    status: ApplicationStatus
    amount: MoneyOut
    term_months: int
    amortization: str
    created_at: datetime
    updated_at: datetime
    links: dict[str, str]

    @classmethod
    def of(cls, row: LoanApplication) -> LoanSummary:
        return cls(
            id=row.id,
            status=row.status,
            amount=row.amount,
            term_months=row.term_months,
            amortization=row.amortization,
            created_at=row.created_at,
            updated_at=row.updated_at,
            links=links_of(row.id),
        )


class LoanPage(Page[LoanSummary]):
    pass


class LoanApplicationView(BaseModel):
    id: uuid.UUID
    status: ApplicationStatus = Field(
        description="submitted, analyzing, manual_review, offer_ready, offer_accepted, contract_sent, signed, "
        "disbursing, disbursed; or the terminal declined, expired, cancelled, failed"
    )
    amount: MoneyOut
    term_months: int
    amortization: str
    monthly_rate: RatePercentOut | None = Field(
        default=None, description='Interest rate, percent a month with two decimals: "1.99" is 1,99 % a month'
    )
    risk_band: str | None = None
    offer: OfferView | None = None
    schedule: list[ScheduleItem] = Field(
        default_factory=list, description="The offer's installments; once disbursed, the loan's own"
    )
    steps: list[StepView] = Field(default_factory=list, description="The journey so far, oldest first")
    reason: str | None = Field(
        default=None,
        description="Why the application ended or waits, as a stable code: "
        + ", ".join(code.value for code in CustomerReason),
    )
    reason_message: str | None = Field(
        default=None, description="The reason as a plain sentence in Portuguese, to show the customer"
    )
    failed_step: str | None = None
    signing_url: str | None = Field(
        default=None, description="While the contract awaits the signature: the page where the customer signs it"
    )
    created_at: datetime
    updated_at: datetime
    links: dict[str, str]


def application_view(
    row: LoanApplication,
    *,
    live: ApplicationState | None = None,
    installments: list[Installment] | None = None,
    signing_url: str | None = None,
    for_ops: bool = False,
) -> dict[str, Any]:
    """The fields of :class:`LoanApplicationView`, as the customer sees them: the reason as a code
    and a sentence, and no error text of the steps (the ops view shows what was recorded)."""
    offer = OfferView.of(row.offer)
    steps = [StepView.model_validate(s) for s in (row.steps or []) if isinstance(s, dict)]
    if live is not None and len(live.steps) >= len(steps):
        steps = [StepView(step=s.step, outcome=s.outcome, at=s.at, detail=s.detail) for s in live.steps]
    if not for_ops:
        steps = [s.model_copy(update={"detail": step_detail_for_customer(s.step, s.outcome, s.detail)}) for s in steps]
    told = reason_for_customer(row.status, row.status_reason, row.failed_step)
    if installments:
        schedule = [ScheduleItem.model_validate(i, from_attributes=True) for i in installments]
    else:
        schedule = list(offer.installments) if offer else []
    return {
        "id": row.id,
        "status": row.status,
        "amount": row.amount,
        "term_months": row.term_months,
        "amortization": row.amortization,
        "monthly_rate": row.monthly_rate,
        "risk_band": row.risk_band,
        "offer": offer,
        "schedule": schedule,
        "steps": steps,
        "reason": row.status_reason if for_ops else (told.code.value if told else None),
        "reason_message": told.message if told else None,
        "failed_step": row.failed_step,
        "signing_url": signing_url,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "links": links_of(row.id),
    }
