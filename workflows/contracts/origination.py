"""The loan origination journey's contract: `loan-{application_id}`.

Its workflow id, signals, updates and query; its statuses and the sets of them the read model and
the API filter on; the refusals a step acts on; the inputs and results of the workflow and of its
activities. One type per message so each can grow a field without breaking running histories.
Money is `Decimal` (a decimal string on the wire, through the project's one data converter; the
payloads are JSON without type names, so a type may move between modules freely).

Imports: the standard library, `temporalio`, and the credit policy's value types (`domain.credit_policy`
is itself standard library only), which the workflow's input carries.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from temporalio import activity

from domain.credit_policy import CreditPolicy
from workflows.contracts.events import ProviderEvent as ProviderEvent

WORKFLOW_TYPE = "LoanOriginationWorkflow"
# A template over {application_id}, as the event bridge fills it.
WORKFLOW_ID_TEMPLATE = "loan-{application_id}"

# Signals (argument: ProviderEvent)
SIGNATURE_EVENT = "signature_event"
PAYOUT_EVENT = "payout_event"
# Updates
ACCEPT_OFFER = "accept_offer"  # AcceptOffer -> OfferAccepted
REQUEST_CANCELLATION = "request_cancellation"  # CancellationRequest -> CancellationAccepted
DECIDE_REVIEW = "decide_review"  # ReviewDecision -> ReviewRecorded
RETRY_STEP = "retry_step"  # StepRetry -> StepRetryAccepted
# Queries
STATE_QUERY = "state"  # answers ApplicationState

SIGNALS = frozenset({SIGNATURE_EVENT, PAYOUT_EVENT})
UPDATES = frozenset({ACCEPT_OFFER, REQUEST_CANCELLATION, DECIDE_REVIEW, RETRY_STEP})
QUERIES = frozenset({STATE_QUERY})


def loan_workflow_id(application_id: str) -> str:
    return WORKFLOW_ID_TEMPLATE.format(application_id=application_id)


class ApplicationStatus(StrEnum):
    """Where a loan application stands. The read model stores the value (a string column)."""

    SUBMITTED = "submitted"
    ANALYZING = "analyzing"
    MANUAL_REVIEW = "manual_review"
    OFFER_READY = "offer_ready"
    OFFER_ACCEPTED = "offer_accepted"
    CONTRACT_SENT = "contract_sent"
    SIGNED = "signed"
    DISBURSING = "disbursing"
    DISBURSED = "disbursed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


S = ApplicationStatus
TERMINAL_STATUSES: frozenset[ApplicationStatus] = frozenset({S.DISBURSED, S.DECLINED, S.EXPIRED, S.CANCELLED, S.FAILED})
# Applications still on their way (a customer may have one at a time).
OPEN_STATUSES: frozenset[ApplicationStatus] = frozenset(ApplicationStatus) - TERMINAL_STATUSES
# Until the payout is requested, the customer (or ops) may still cancel.
CANCELLABLE_STATUSES: frozenset[ApplicationStatus] = OPEN_STATUSES - {S.DISBURSING}
# Exposure counts the principal of applications that hold a reservation or are disbursed.
EXPOSURE_STATUSES: frozenset[ApplicationStatus] = frozenset(
    {S.OFFER_ACCEPTED, S.CONTRACT_SENT, S.SIGNED, S.DISBURSING, S.DISBURSED}
)
# Where each status may go next: the workflow takes only these moves, and the read model refuses
# any other (`activities.origination.apply_status_change`), so it never moves back or skips one.
# Staying put is allowed too: a pause (or a retried activity) writes the same status again with
# its facts. Before `one-status-writer` an approved review went back to `analyzing` in the workflow
# only, never in the read model; since then it goes straight to `offer_ready`.
NEXT_STATUSES: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.SUBMITTED: frozenset({S.ANALYZING}),
    S.ANALYZING: frozenset({S.MANUAL_REVIEW, S.OFFER_READY}),
    S.MANUAL_REVIEW: frozenset({S.OFFER_READY}),
    S.OFFER_READY: frozenset({S.OFFER_ACCEPTED}),
    S.OFFER_ACCEPTED: frozenset({S.CONTRACT_SENT}),
    S.CONTRACT_SENT: frozenset({S.SIGNED}),
    S.SIGNED: frozenset({S.DISBURSING}),
    S.DISBURSING: frozenset({S.DISBURSED}),
}
# Every open application may end: declined, expired, cancelled or failed, wherever it stands.
for _status in OPEN_STATUSES:
    NEXT_STATUSES[_status] = NEXT_STATUSES[_status] | {S.DECLINED, S.EXPIRED, S.CANCELLED, S.FAILED}
for _status in TERMINAL_STATUSES:
    NEXT_STATUSES[_status] = frozenset()
# The one way back, and only as a pause (a change that names its paused step): `disbursing` is
# written with the ledger entry, before the payout is sent, because the pipeline accepts the PSP's
# payout events only for a disbursing application; a payout the PSP refuses moved no money, and the
# application waits, `signed` again, for ops to correct it.
PAUSED_RETURNS: dict[ApplicationStatus, ApplicationStatus] = {S.DISBURSING: S.SIGNED}
del S, _status


def status_may_move(current: ApplicationStatus | str, to: ApplicationStatus | str, *, paused: bool = False) -> bool:
    """Whether an application at `current` may be written `to` (the same status included); `paused`:
    the change is a pause (it names the paused step), which may take a PAUSED_RETURNS way back."""
    current, to = ApplicationStatus(current), ApplicationStatus(to)
    return to == current or to in NEXT_STATUSES[current] or (paused and PAUSED_RETURNS.get(current) == to)


# The type of the non-retryable ApplicationError an activity raises for a move NEXT_STATUSES forbids.
STATUS_MOVE_REFUSED = "StatusMoveRefused"

# Refusals: the `type` of a non-retryable ApplicationError a step's activity raises. Provider
# refusals are the class names of `integrations.errors` (activities.provider_errors maps them);
# tests/workflows/test_contracts.py holds the names and the classes together.
DISBURSEMENT_STEP = "disbursement"
PIX_KEY_NOT_FOUND = "PixKeyNotFound"  # integrations.errors.PixKeyNotFound
PIX_KEY_NOT_THE_CUSTOMERS = "PixKeyNotTheCustomers"  # raised by the disburse activity itself
# Refusals that come from provider errors, by the class name they must keep.
PROVIDER_REFUSALS: frozenset[str] = frozenset({PIX_KEY_NOT_FOUND})


def refusal_key(step: str, refusal: str) -> str:
    """How a policy names a step's refusal ("step:Type")."""
    return f"{step}:{refusal}"


def disbursement_ledger_key(application_id: str) -> str:
    """The idempotency key of an application's disbursement entry, which its reversal looks up."""
    return f"{application_id}:disbursement"


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
    correctable_refusals: tuple[str, ...] = (
        refusal_key(DISBURSEMENT_STEP, PIX_KEY_NOT_FOUND),
        refusal_key(DISBURSEMENT_STEP, PIX_KEY_NOT_THE_CUSTOMERS),
    )
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
    status_when_requested: ApplicationStatus


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


# Activities' requests and results.


@dataclass(frozen=True)
class StatusChange:
    """A move of the application's status, made by the workflow (its one writer) and applied to the
    read model by `activities.origination.apply_status_change`: by `record_status` where no other
    activity runs at that moment, otherwise inside the step's own activity and transaction (the
    `status` fields of the requests below)."""

    application_id: str
    customer_id: str
    status: ApplicationStatus
    steps: list[StepRecord]
    offer: Offer | None = None
    risk_band: str | None = None
    failed_step: str | None = None
    reason: str | None = None
    reserve_amount: Decimal | None = None


@dataclass(frozen=True)
class AnalysisRequest:
    application_id: str
    customer_id: str
    status: StatusChange | None = None  # `analyzing`, applied with the profile's reads


@dataclass(frozen=True)
class ApplicantProfile:
    customer_status: str
    monthly_income: Decimal
    other_open_applications: int
    outstanding_exposure: Decimal


@dataclass(frozen=True)
class CreditReportRequest:
    application_id: str
    customer_id: str


@dataclass(frozen=True)
class CreditReportSummary:
    score: int
    negative_records: int
    income_estimate: Decimal | None


@dataclass(frozen=True)
class ContractRequest:
    application_id: str
    customer_id: str
    offer: Offer
    steps: list[StepRecord]
    # `offer_accepted` (the reservation), applied before the contract is made; `contract_sent`,
    # applied with the envelope's record.
    accepted: StatusChange | None = None
    status: StatusChange | None = None


@dataclass(frozen=True)
class ContractSent:
    document_id: str
    ecm_document_id: str
    sha256: str
    envelope_id: str
    signing_url: str


@dataclass(frozen=True)
class SignatureCertificateRequest:
    application_id: str
    customer_id: str
    envelope_id: str
    status: StatusChange | None = None  # `signed`, applied before the evidence is fetched


@dataclass(frozen=True)
class SignatureCertificateIssued:
    document_id: str
    ecm_document_id: str
    sha256: str
    contract_sha256: str


@dataclass(frozen=True)
class VoidEnvelopeRequest:
    application_id: str
    envelope_id: str
    reason: str


@dataclass(frozen=True)
class ReminderRequest:
    application_id: str
    customer_id: str
    kind: str


@dataclass(frozen=True)
class LimitRelease:
    application_id: str


@dataclass(frozen=True)
class DisbursementRequest:
    application_id: str
    customer_id: str
    offer: Offer
    pix_key: str | None  # an ops correction; by default the customer's CPF key
    steps: list[StepRecord]
    # `signed` when the read model may not have it yet (the certificate that carries it failed, or
    # the execution predates `signed-in-read-model`), then `disbursing`, both applied with the
    # ledger entry, before the payout is sent.
    signed: StatusChange | None = None
    status: StatusChange | None = None


@dataclass(frozen=True)
class DisbursementStarted:
    end_to_end_id: str


@dataclass(frozen=True)
class LedgerReversal:
    application_id: str
    ledger_key: str
    reason: str


@dataclass(frozen=True)
class DisbursementCompletion:
    application_id: str
    offer: Offer
    end_to_end_id: str
    steps: list[StepRecord]
    status: StatusChange | None = None  # `disbursed`, applied with the installments


class OriginationActivityContract:
    """The origination activities as the workflow calls them. ``activities.origination`` implements
    them by subclassing, so a changed signature is a type error on both sides."""

    @activity.defn
    async def start_analysis(self, request: AnalysisRequest) -> ApplicantProfile:
        raise NotImplementedError

    @activity.defn
    async def fetch_credit_report(self, request: CreditReportRequest) -> CreditReportSummary:
        raise NotImplementedError

    @activity.defn
    async def record_status(self, change: StatusChange) -> None:
        raise NotImplementedError

    @activity.defn
    async def release_limit(self, release: LimitRelease) -> None:
        raise NotImplementedError

    @activity.defn
    async def prepare_contract(self, request: ContractRequest) -> ContractSent:
        raise NotImplementedError

    @activity.defn
    async def issue_signature_certificate(self, request: SignatureCertificateRequest) -> SignatureCertificateIssued:
        raise NotImplementedError

    @activity.defn
    async def void_envelope(self, request: VoidEnvelopeRequest) -> None:
        raise NotImplementedError

    @activity.defn
    async def remind(self, request: ReminderRequest) -> None:
        raise NotImplementedError

    @activity.defn
    async def disburse(self, request: DisbursementRequest) -> DisbursementStarted:
        raise NotImplementedError

    @activity.defn
    async def reverse_disbursement(self, reversal: LedgerReversal) -> None:
        raise NotImplementedError

    @activity.defn
    async def complete_disbursement(self, completion: DisbursementCompletion) -> None:
        raise NotImplementedError
