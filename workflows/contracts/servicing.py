"""The loan servicing journey's contract: `servicing-{loan_id}`, one installment at a time."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from temporalio import activity

from workflows.contracts.events import ProviderEvent as ProviderEvent
from workflows.contracts.origination import Offer

WORKFLOW_TYPE = "ServicingWorkflow"
# A template over {application_id} (a loan's id is its application's), as the event bridge fills it.
WORKFLOW_ID_TEMPLATE = "servicing-{application_id}"

# Signals
PAYMENT_RECEIVED = "payment_received"  # argument: ProviderEvent
# Updates
SETTLE_EARLY = "settle_early"  # EarlySettlementRequest -> EarlySettlementCharge
# Queries
STATE_QUERY = "state"  # answers ServicingState
PAYOFF_QUOTE_QUERY = "payoff_quote"  # PayoffQuoteRequest -> PayoffQuote

SIGNALS = frozenset({PAYMENT_RECEIVED})
UPDATES = frozenset({SETTLE_EARLY})
QUERIES = frozenset({STATE_QUERY, PAYOFF_QUOTE_QUERY})


def servicing_workflow_id(loan_id: str) -> str:
    return WORKFLOW_ID_TEMPLATE.format(application_id=loan_id)


@dataclass(frozen=True)
class ServicingInput:
    loan_id: str
    customer_id: str
    amortization: Literal["price", "sac"]
    principal: Decimal
    monthly_rate: Decimal
    release_date: date
    first_due_date: date
    term_months: int
    next_number: int = 1
    charge_lead: timedelta = timedelta(days=5)

    @staticmethod
    def from_offer(
        loan_id: str, customer_id: str, offer: Offer, *, charge_lead: timedelta = timedelta(days=5)
    ) -> "ServicingInput":
        return ServicingInput(
            loan_id=loan_id,
            customer_id=customer_id,
            amortization=offer.amortization,  # type: ignore[arg-type]
            principal=offer.amount_financed,
            monthly_rate=offer.monthly_rate,
            release_date=offer.release_date,
            first_due_date=offer.first_due_date,
            term_months=offer.term_months,
            charge_lead=charge_lead,
        )


@dataclass(frozen=True)
class ServicingResult:
    loan_id: str
    outcome: Literal["paid_off"]
    settled_early: bool
    last_installment_paid: int


# Activities' requests and results (IssuedCharge is also part of the workflow's state).


@dataclass(frozen=True)
class ChargeRequest:
    loan_id: str
    customer_id: str
    reference: str  # the business reference the txid is derived from
    installment_number: int | None  # None for an early settlement
    amount: Decimal
    expires_at: datetime
    previous_txid: str | None  # the charge this one replaces, cancelled first


@dataclass(frozen=True)
class IssuedCharge:
    txid: str
    amount: Decimal
    br_code: str
    payment_url: str | None
    expires_at: datetime


@dataclass(frozen=True)
class InstallmentPayment:
    loan_id: str
    customer_id: str
    installment_number: int
    txid: str
    amount_paid: Decimal
    principal: Decimal
    interest: Decimal
    late_charges: Decimal
    paid_on: date
    is_last: bool


@dataclass(frozen=True)
class EarlySettlementPayment:
    loan_id: str
    customer_id: str
    txid: str
    amount_paid: Decimal
    first_settled_installment: int
    open_installment_txid: str | None
    settled_on: date


@dataclass(frozen=True)
class ServicingState:
    loan_id: str
    next_installment: int
    installments: int
    open_charge: IssuedCharge | None
    amount_due: Decimal | None
    days_late: int
    early_settlement: IssuedCharge | None


@dataclass(frozen=True)
class PayoffQuoteRequest:
    settle_on: date | None = None  # default: today


@dataclass(frozen=True)
class PayoffQuote:
    settle_on: date
    amount: Decimal
    interest_reduction: Decimal
    remaining_installments: int


@dataclass(frozen=True)
class EarlySettlementRequest:
    requested_by: str


@dataclass(frozen=True)
class EarlySettlementCharge:
    quote: PayoffQuote
    charge: IssuedCharge


class ServicingActivityContract:
    """The servicing activities as the workflow calls them. ``activities.servicing`` implements
    them by subclassing, so a changed signature is a type error on both sides."""

    @activity.defn
    async def issue_charge(self, request: ChargeRequest) -> IssuedCharge:
        raise NotImplementedError

    @activity.defn
    async def record_installment_payment(self, payment: InstallmentPayment) -> None:
        raise NotImplementedError

    @activity.defn
    async def record_early_settlement(self, payment: EarlySettlementPayment) -> None:
        raise NotImplementedError
