"""The inputs, results, signals, updates and queries of loan origination.

One type per message so each can grow a field without breaking running histories. Money is
`Decimal` (a decimal string on the wire, through the project's one data converter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from domain.credit_policy import CreditPolicy

ApplicationStatus = Literal[
    "submitted",
    "analyzing",
    "manual_review",
    "offer_ready",
    "offer_accepted",
    "contract_sent",
    "signed",
    "disbursing",
    "disbursed",
    "declined",
    "expired",
    "cancelled",
    "failed",
]
TERMINAL_STATUSES: frozenset[str] = frozenset({"disbursed", "declined", "expired", "cancelled", "failed"})
# Until the payout is requested, the customer (or ops) may still cancel.
CANCELLABLE_STATUSES: frozenset[str] = frozenset(
    {"submitted", "analyzing", "manual_review", "offer_ready", "offer_accepted", "contract_sent", "signed"}
)


def loan_workflow_id(application_id: str) -> str:
    return f"loan-{application_id}"


@dataclass(frozen=True)
class ProductLimits:
    min_amount: Decimal = Decimal("500.00")
    max_amount: Decimal = Decimal("50000.00")
    min_term_months: int = 3
    max_term_months: int = 48


@dataclass(frozen=True)
class OriginationPolicy:
    """Every tunable of the journey, taken from settings when the workflow starts."""

    credit: CreditPolicy = field(default_factory=CreditPolicy)
    limits: ProductLimits = field(default_factory=ProductLimits)
    offer_ttl: timedelta = timedelta(hours=72)
    review_escalate_after: timedelta = timedelta(hours=24)
    review_decline_after: timedelta = timedelta(hours=72)
    signature_reminder_every: timedelta = timedelta(hours=48)
    signature_ttl: timedelta = timedelta(days=7)
    payout_settlement_timeout: timedelta = timedelta(days=2)
    # How long before each due date servicing issues the installment's PIX charge.
    servicing_charge_lead: timedelta = timedelta(days=5)
    # Steps that pause for an ops retry when they keep failing, instead of failing the application.
    fixable_steps: tuple[str, ...] = ("credit_analysis", "contract")
    # Refusals ("step:Type") that corrected data can overcome: the step pauses for an ops retry with
    # corrections (see CORRECTIONS) instead of failing. A PIX key the directory does not know is
    # refused before any money moves, so the payout may wait for another of the customer's keys.
    correctable_refusals: tuple[str, ...] = ("disbursement:PixKeyNotFound", "disbursement:PixKeyNotTheCustomers")
    # A step whose activity has not finished this long after it started (it is retrying a failing
    # provider, or hangs) shows as RetryingStep to ops until it ends.
    retrying_after: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class LoanApplicationInput:
    application_id: str
    customer_id: str
    amount: Decimal
    term_months: int
    amortization: Literal["price", "sac"]
    policy: OriginationPolicy = field(default_factory=OriginationPolicy)


@dataclass(frozen=True)
class OfferInstallment:
    number: int
    due_date: date
    payment: Decimal
    interest: Decimal
    amortization: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Offer:
    offer_id: str
    amount: Decimal
    term_months: int
    amortization: str
    monthly_rate: Decimal
    risk_band: str
    release_date: date
    first_due_date: date
    amount_financed: Decimal
    amount_released: Decimal
    iof_total: Decimal
    fees_total: Decimal
    total_payable: Decimal
    cet_monthly: Decimal
    cet_annual: Decimal
    iof_table_version: str
    installments: list[OfferInstallment]
    expires_at: datetime


@dataclass(frozen=True)
class StepRecord:
    step: str
    outcome: str
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class ApplicationState:
    """What the `state` query answers: enough for the API's loan view and for ops."""

    application_id: str
    status: ApplicationStatus
    offer: Offer | None
    steps: list[StepRecord]
    failed_step: str | None
    paused_step: str | None
    compensations: list[str]
    reason: str | None
    # The step whose activity has been running past policy.retrying_after, while it does.
    retrying_step: str | None = None


@dataclass(frozen=True)
class LoanApplicationResult:
    application_id: str
    status: ApplicationStatus
    reason: str | None
    failed_step: str | None
    compensations: list[str]


# Updates and signals.


@dataclass(frozen=True)
class AcceptOffer:
    offer_id: str
    accepted_by: str


@dataclass(frozen=True)
class OfferAccepted:
    offer: Offer
    accepted_at: datetime


@dataclass(frozen=True)
class CancellationRequest:
    requested_by: str
    reason: str = "customer_request"


@dataclass(frozen=True)
class CancellationAccepted:
    status_when_requested: str


@dataclass(frozen=True)
class ReviewDecision:
    reviewer: str
    approve: bool
    reason: str


@dataclass(frozen=True)
class ReviewRecorded:
    reviewer: str
    approve: bool


# The data an ops retry may correct, by paused step.
CORRECTIONS: dict[str, frozenset[str]] = {"disbursement": frozenset({"pix_key"})}


@dataclass(frozen=True)
class StepRetry:
    operator: str
    # Corrected data for the paused step, e.g. {"pix_key": "..."} for the disbursement.
    corrections: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRetryAccepted:
    step: str
