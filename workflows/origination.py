"""Loan origination: `loan-{application_id}`.

eligibility → credit analysis (bureau score, affordability, exposure, policy bands) → manual review
by ops when the policy says so (maker-checker) → offer priced by the credit kernel, accepted through
an Update before it expires → CCB stored in the ECM and sent for eSignature, with reminders and an
expiry → disbursement by PIX (ledger entry, payout with an idempotency key, wait for settlement)
→ servicing starts, the application is `disbursed`.

Every step with an undo registers it; a failure or a cancellation runs them in reverse, shielded
from cancellation, and the terminal state records which step failed and what was undone. Steps
listed as fixable in the policy pause for an ops retry instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.business_calendar import business_date
    from domain.credit import Amortization, InvalidLoanTerms, LoanSimulation, LoanTerms, simulate
    from domain.credit.due_dates import add_months
    from domain.credit_policy import CreditAssessmentInput, CreditDecision, affordable, decide_credit
    from workflows import business_metrics
    from workflows.activity_options import COMPENSATION, DATABASE_WRITE, PROVIDER_CALL
    from workflows.contracts.origination import (
        CANCELLABLE_STATUSES,
        CORRECTIONS,
        PAYOUT_EVENT,
        SIGNATURE_EVENT,
        STATE_QUERY,
        TERMINAL_STATUSES,
        AcceptOffer,
        AnalysisRequest,
        ApplicantProfile,
        ApplicationState,
        ApplicationStatus,
        CancellationAccepted,
        CancellationRequest,
        ContractRequest,
        ContractSent,
        CreditReportRequest,
        DisbursementCompletion,
        DisbursementRequest,
        LedgerReversal,
        LimitRelease,
        LoanApplicationInput,
        LoanApplicationResult,
        Offer,
        OfferAccepted,
        OfferInstallment,
        OriginationActivityContract,
        OriginationPolicy,
        ProviderEvent,
        ReminderRequest,
        ReviewDecision,
        ReviewRecorded,
        SignatureCertificateRequest,
        StatusChange,
        StepRecord,
        StepRetry,
        StepRetryAccepted,
        VoidEnvelopeRequest,
        disbursement_ledger_key,
        refusal_key,
        status_may_move,
    )
    from workflows.contracts.servicing import ServicingInput, servicing_workflow_id
    from workflows.search_attributes import CUSTOMER_ID, FAILED_STEP, LOAN_AMOUNT, LOAN_STATUS, RETRYING_STEP, RISK_BAND
    from workflows.servicing import ServicingWorkflow

T = TypeVar("T")

# Patches: executions that started before a change replay on the branch they took.
# Added 2026-11-28: a signature is written to the read model (`signed`) when it arrives.
SIGNED_IN_READ_MODEL = "signed-in-read-model"
# Added 2026-11-28: a correctable refusal (policy.correctable_refusals) pauses for ops corrections.
PAUSE_FOR_CORRECTION = "pause-for-correction"
# Added 2026-12-02: a step still running after policy.retrying_after shows as RetryingStep.
RETRYING_VISIBLE = "retrying-visible"
# Added 2026-12-02: the provider's signature evidence is stored as a certificate beside the contract.
SIGNATURE_CERTIFICATE = "signature-certificate"
# Added 2026-12-02: the workflow is the one writer of the application's status, and a status change
# rides on the step activity that runs when it happens (start_analysis, prepare_contract for the
# acceptance and the envelope, issue_signature_certificate, disburse, complete_disbursement);
# `record_status` runs only where no activity does (offer_ready, manual review, a pause, the end).
ONE_STATUS_WRITER = "one-status-writer"


class WorkflowInvariantBroken(RuntimeError):
    """State this workflow's own code guarantees is missing or wrong: a bug, never a business outcome.

    Deliberately not an ApplicationError (and not in `workflow_failure_exception_types`): it fails
    the workflow *task*, which Temporal retries until a worker with fixed code runs it, so the
    application resumes where it stopped. An ApplicationError would fail the execution at once,
    skipping the compensations (a payout may be in flight). Unlike an `assert`, it survives
    `python -O` and says what broke."""


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise WorkflowInvariantBroken(f"{what} is missing")
    return value


class ApplicationEnded(Exception):
    """Raised inside the workflow to leave the journey for a terminal status."""

    def __init__(self, status: ApplicationStatus, reason: str, failed_step: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.failed_step = failed_step


def _refusal_type(err: ActivityError) -> str | None:
    """The type of a business refusal (a non-retryable application error), or None."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.type or "refused"
    return None


def offer_of(
    simulation: LoanSimulation, *, offer_id: str, amortization: Amortization | str, risk_band: str, expires_at: datetime
) -> Offer:
    """The offer of a priced simulation: its terms and every figure the kernel computed for them.

    The workflow prices its offers with it; the contract's sample and tests make theirs the same way."""
    terms = simulation.terms
    return Offer(
        offer_id=offer_id,
        amount=terms.amount,
        term_months=terms.term_months,
        amortization=Amortization(amortization).value,
        monthly_rate=terms.monthly_rate,
        risk_band=risk_band,
        release_date=terms.release_date,
        first_due_date=terms.first_due_date,
        amount_financed=simulation.amount_financed,
        amount_released=simulation.amount_released,
        iof_total=simulation.iof.total,
        fees_total=simulation.fees_total,
        total_payable=simulation.total_payable,
        cet_monthly=simulation.cet.monthly,
        cet_annual=simulation.cet.annual,
        iof_table_version=simulation.assumptions.iof_table_version,
        installments=[
            OfferInstallment(i.number, i.due_date, i.payment, i.interest, i.amortization, i.balance)
            for i in simulation.installments
        ],
        expires_at=expires_at,
    )


@workflow.defn
class LoanOriginationWorkflow:
    @workflow.init
    def __init__(self, application: LoanApplicationInput) -> None:
        self._input = application
        self._payout_requested = False
        self._cancelled_by_temporal = False
        self._status = ApplicationStatus.SUBMITTED
        self._offer: Offer | None = None
        self._accepted: OfferAccepted | None = None
        self._steps: list[StepRecord] = []
        self._compensations: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        self._compensated: list[str] = []
        self._failed_step: str | None = None
        self._reason: str | None = None
        self._paused_step: str | None = None
        self._retrying_step: str | None = None
        self._retry: StepRetry | None = None
        self._corrections: dict[str, str] = {}
        self._cancel: CancellationRequest | None = None
        self._review: ReviewDecision | None = None
        self._last_actor: str = application.customer_id
        self._signature: ProviderEvent | None = None
        self._payout: ProviderEvent | None = None
        self._seen_events: set[str] = set()
        self._one_writer = False  # set by _journey from workflow.patched(ONE_STATUS_WRITER)
        # The `signed` change the read model may not have yet, which the payout's activity carries.
        self._unwritten_signature: StatusChange | None = None

    # --- Queries, signals and updates -------------------------------------------------------

    @workflow.query(name=STATE_QUERY)
    def state(self) -> ApplicationState:
        return ApplicationState(
            application_id=self._input.application_id,
            status=self._status,
            offer=self._offer,
            steps=list(self._steps),
            failed_step=self._failed_step,
            paused_step=self._paused_step,
            compensations=list(self._compensated),
            reason=self._reason,
            retrying_step=self._retrying_step,
        )

    @workflow.update  # named as the contract names it (tests/workflows/test_contracts.py)
    async def accept_offer(self, request: AcceptOffer) -> OfferAccepted:
        self._accepted = OfferAccepted(offer=self._offer, accepted_at=workflow.now())  # type: ignore[arg-type]
        self._last_actor = request.accepted_by
        return self._accepted

    @accept_offer.validator
    def _validate_accept_offer(self, request: AcceptOffer) -> None:
        if self._status != ApplicationStatus.OFFER_READY or self._offer is None or self._accepted is not None:
            raise ApplicationError(f"no open offer (status {self._status})", type="OfferNotOpen")
        if request.offer_id != self._offer.offer_id:
            raise ApplicationError("the offer changed; review the current one", type="OfferChanged")
        if workflow.now() >= self._offer.expires_at:
            raise ApplicationError("the offer has expired", type="OfferExpired")
        if self._cancel is not None:
            raise ApplicationError("the application is being cancelled", type="OfferNotOpen")

    @workflow.update  # named as the contract names it (tests/workflows/test_contracts.py)
    async def request_cancellation(self, request: CancellationRequest) -> CancellationAccepted:
        status = self._status
        self._cancel = request
        self._last_actor = request.requested_by
        return CancellationAccepted(status_when_requested=status)

    @request_cancellation.validator
    def _validate_cancellation(self, request: CancellationRequest) -> None:
        if self._status not in CANCELLABLE_STATUSES or self._payout_requested:
            raise ApplicationError(
                f"an application cannot be cancelled once it is {self._status}", type="NotCancellable"
            )

    @workflow.update  # named as the contract names it (tests/workflows/test_contracts.py)
    async def decide_review(self, decision: ReviewDecision) -> ReviewRecorded:
        self._review = decision
        self._last_actor = decision.reviewer
        return ReviewRecorded(reviewer=decision.reviewer, approve=decision.approve)

    @decide_review.validator
    def _validate_review(self, decision: ReviewDecision) -> None:
        if self._status != ApplicationStatus.MANUAL_REVIEW or self._review is not None:
            raise ApplicationError(f"the application is not in manual review ({self._status})", type="NotInReview")
        if decision.reviewer == self._last_actor:
            raise ApplicationError(
                "maker-checker: the reviewer must not be who last acted on the application", type="MakerChecker"
            )
        if not decision.reason.strip():
            raise ApplicationError("a review decision needs a reason", type="ReasonRequired")

    @workflow.update  # named as the contract names it (tests/workflows/test_contracts.py)
    async def retry_step(self, retry: StepRetry) -> StepRetryAccepted:
        step = self._paused_step or ""
        self._retry = retry
        self._last_actor = retry.operator
        return StepRetryAccepted(step=step)

    @retry_step.validator
    def _validate_retry(self, retry: StepRetry) -> None:
        if self._paused_step is None or self._retry is not None:
            raise ApplicationError("no step is paused", type="NothingToRetry")
        unknown = sorted(set(retry.corrections) - CORRECTIONS.get(self._paused_step, frozenset()))
        if unknown:
            raise ApplicationError(
                f"{', '.join(unknown)} cannot be corrected at the {self._paused_step} step", type="InvalidCorrection"
            )

    @workflow.signal(name=SIGNATURE_EVENT)
    def signature_event(self, event: ProviderEvent) -> None:
        if event.event_id not in self._seen_events:
            self._seen_events.add(event.event_id)
            self._signature = event

    @workflow.signal(name=PAYOUT_EVENT)
    def payout_event(self, event: ProviderEvent) -> None:
        if event.event_id not in self._seen_events:
            self._seen_events.add(event.event_id)
            self._payout = event

    # --- The journey ------------------------------------------------------------------------

    @workflow.run
    async def run(self, application: LoanApplicationInput) -> LoanApplicationResult:
        workflow.upsert_search_attributes(
            [
                LOAN_STATUS.value_set(self._status),
                CUSTOMER_ID.value_set(application.customer_id),
                LOAN_AMOUNT.value_set(float(application.amount)),  # a search attribute, never money math
            ]
        )
        business_metrics.count(business_metrics.APPLICATIONS_STARTED)
        try:
            await self._journey(application)
        except ApplicationEnded as ended:
            await self._end(ended.status, ended.reason, ended.failed_step)
            if self._cancelled_by_temporal:
                raise asyncio.CancelledError() from None  # the execution ends Canceled, as asked
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancelled_exception(err):
                raise
            # Cancelled from the Temporal UI or the API (while waiting, or while an activity ran and
            # was cancelled with the workflow): undo, record, then report the cancellation.
            await self._end(ApplicationStatus.CANCELLED, "workflow_cancelled", None)
            raise
        return LoanApplicationResult(
            application_id=application.application_id,
            status=self._status,
            reason=self._reason,
            failed_step=self._failed_step,
            compensations=list(self._compensated),
        )

    async def _journey(self, application: LoanApplicationInput) -> None:
        # Since ONE_STATUS_WRITER the status rides on the step activities that run when it changes
        # (fewer activities per journey); executions started before keep their `record_status` calls.
        self._one_writer = workflow.patched(ONE_STATUS_WRITER)
        profile = await self._check_eligibility(application)
        decision, offer = await self._analyse_credit(application, profile)
        if decision.outcome == "manual_review":
            offer = await self._reviewed_offer(application, decision)
        await self._offer_to_customer(application, offer, decision.risk_band)
        contract = await self._contract(application, offer)
        await self._await_signature(application, contract)
        await self._pay_out(application, offer)

    # --- The steps --------------------------------------------------------------------------

    async def _check_eligibility(self, application: LoanApplicationInput) -> ApplicantProfile:
        """1. The customer is active, has no other open application, asks within the product's limits."""
        profile = await self._step(
            "eligibility",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.start_analysis,
                AnalysisRequest(
                    application.application_id,
                    application.customer_id,
                    status=self._status_change(ApplicationStatus.ANALYZING),
                ),
                **DATABASE_WRITE,
            ),
        )
        self._enter(ApplicationStatus.ANALYZING)
        problems: list[str] = []
        if profile.customer_status != "active":
            problems.append("customer_not_active")
        if profile.other_open_applications:
            problems.append("another_application_open")
        limits = application.policy.limits
        if not (limits.min_amount <= application.amount <= limits.max_amount):
            problems.append("amount_outside_product_limits")
        if not (limits.min_term_months <= application.term_months <= limits.max_term_months):
            problems.append("term_outside_product_limits")
        if problems:
            self._record("eligibility", "declined", ",".join(problems))
            raise ApplicationEnded(ApplicationStatus.DECLINED, ",".join(problems))
        self._record("eligibility", "passed")
        return profile

    async def _analyse_credit(
        self, application: LoanApplicationInput, profile: ApplicantProfile
    ) -> tuple[CreditDecision, Offer]:
        """2. The bureau answers, the policy decides inside the workflow, the kernel prices the offer."""
        policy = application.policy
        report = await self._step(
            "credit_analysis",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.fetch_credit_report,
                CreditReportRequest(application.application_id, application.customer_id),
                **PROVIDER_CALL,
            ),
        )
        decision = decide_credit(
            CreditAssessmentInput(
                score=report.score,
                negative_records=report.negative_records,
                monthly_income=profile.monthly_income,
                requested_amount=application.amount,
                outstanding_exposure=profile.outstanding_exposure,
            ),
            policy.credit,
        )
        if decision.outcome == "decline":
            self._record("credit_analysis", "declined", ",".join(decision.reasons))
            raise ApplicationEnded(ApplicationStatus.DECLINED, ",".join(decision.reasons))
        risk_band = _required(decision.risk_band, "the risk band of an approving decision")
        monthly_rate = _required(decision.monthly_rate, "the rate of an approving decision")
        workflow.upsert_search_attributes([RISK_BAND.value_set(risk_band)])
        offer = self._price(application, risk_band, monthly_rate)
        if not affordable(max(i.payment for i in offer.installments), profile.monthly_income, policy.credit):
            self._record("credit_analysis", "declined", "affordability")
            raise ApplicationEnded(ApplicationStatus.DECLINED, "affordability")
        self._record("credit_analysis", decision.outcome, ",".join(decision.reasons) or None)
        if decision.outcome == "approve":
            business_metrics.count(business_metrics.APPLICATIONS_APPROVED)
        self._raise_if_cancelled()  # cancelled during the analysis: no review, no offer
        return decision, offer

    async def _reviewed_offer(self, application: LoanApplicationInput, decision: CreditDecision) -> Offer:
        """3. Manual review when the policy asks for one; approved, the offer is priced again (now)."""
        business_metrics.count(business_metrics.APPLICATIONS_SENT_TO_REVIEW)
        await self._manual_review(application)
        risk_band = _required(decision.risk_band, "the risk band of a reviewed decision")
        monthly_rate = _required(decision.monthly_rate, "the rate of a reviewed decision")
        return self._price(application, risk_band, monthly_rate)

    async def _offer_to_customer(self, application: LoanApplicationInput, offer: Offer, risk_band: str | None) -> None:
        """4. The offer, accepted through the accept_offer Update before it expires."""
        self._offer = offer
        await self._write_status(self._transition(ApplicationStatus.OFFER_READY, offer=offer, risk_band=risk_band))
        if not await self._wait(lambda: self._accepted is not None, offer.expires_at - workflow.now()):
            self._record("offer", "expired")
            raise ApplicationEnded(ApplicationStatus.EXPIRED, "offer_expired")
        self._record("offer", "accepted", f"by {self._last_actor}")

    async def _contract(self, application: LoanApplicationInput, offer: Offer) -> ContractSent:
        """5. The acceptance reserves the limit; the CCB goes to the ECM and out for eSignature."""
        accepted = self._transition(ApplicationStatus.OFFER_ACCEPTED, offer=offer, reserve_amount=offer.amount_financed)
        if not self._one_writer:
            await self._write_status(accepted)
        self._register_compensation(
            "release_limit",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.release_limit, LimitRelease(application.application_id), **COMPENSATION
            ),
        )
        self._raise_if_cancelled()
        contract = await self._step(
            "contract",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.prepare_contract,
                ContractRequest(
                    application.application_id,
                    application.customer_id,
                    offer,
                    self._steps_snapshot(),
                    # Sent again on a retry after a pause: the read model takes the same status twice.
                    accepted=accepted if self._one_writer else None,
                    status=self._status_change(ApplicationStatus.CONTRACT_SENT),
                ),
                **PROVIDER_CALL,
            ),
        )
        self._enter(ApplicationStatus.CONTRACT_SENT)
        self._record("contract", "sent", contract.envelope_id)
        self._register_compensation(
            "void_envelope",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.void_envelope,
                VoidEnvelopeRequest(application.application_id, contract.envelope_id, self._reason or "cancelled"),
                **COMPENSATION,
            ),
        )
        return contract

    async def _await_signature(self, application: LoanApplicationInput, contract: ContractSent) -> None:
        """6. Reminders while the customer has not signed; the envelope's expiry ends the application."""
        policy = application.policy
        signature_deadline = workflow.now() + policy.signature_ttl
        while self._signature is None:
            remaining = signature_deadline - workflow.now()
            if remaining <= timedelta(0):
                self._record("signature", "expired")
                raise ApplicationEnded(ApplicationStatus.EXPIRED, "signature_expired")
            if (
                not await self._wait(
                    lambda: self._signature is not None, min(remaining, policy.signature_reminder_every)
                )
                and workflow.now() < signature_deadline
            ):
                await workflow.execute_activity_method(
                    OriginationActivityContract.remind,
                    ReminderRequest(application.application_id, application.customer_id, "signature_pending"),
                    **DATABASE_WRITE,
                )
        signature = self._signature
        if signature.type.endswith("declined"):
            self._record("signature", "declined")
            raise ApplicationEnded(ApplicationStatus.CANCELLED, "signature_declined")
        if signature.type.endswith("expired"):
            self._record("signature", "expired")
            raise ApplicationEnded(ApplicationStatus.EXPIRED, "signature_expired")
        self._compensations = [
            (n, c) for n, c in self._compensations if n != "void_envelope"
        ]  # signed: nothing to void
        self._record("signature", "signed")
        if self._one_writer:
            # The signature rides on the certificate's activity, which writes it before it asks the
            # provider for the evidence; if that activity fails, the payout's activity writes it.
            self._unwritten_signature = self._transition(ApplicationStatus.SIGNED)
            if await self._certify_signature(application, contract.envelope_id, self._unwritten_signature):
                self._unwritten_signature = None
        else:
            if workflow.patched(SIGNED_IN_READ_MODEL):
                # The customer and ops see the signature at once, not only when the payout is requested
                # (which a PIX provider that keeps failing can hold back for a long while).
                await self._write_status(self._transition(ApplicationStatus.SIGNED))
            else:
                self._unwritten_signature = self._transition(ApplicationStatus.SIGNED, search_attribute=False)
            if workflow.patched(SIGNATURE_CERTIFICATE):
                await self._certify_signature(application, contract.envelope_id, None)
        self._raise_if_cancelled()

    async def _pay_out(self, application: LoanApplicationInput, offer: Offer) -> None:
        """7-8. From the payout request on, money may be moving: a cancellation no longer undoes it."""
        payout = asyncio.ensure_future(self._disburse(application, offer))
        while not payout.done():
            try:
                await asyncio.shield(payout)
            except asyncio.CancelledError:
                if payout.done():
                    continue
                if not self._payout_requested and self._cancel is None:
                    # Paused on a refused payout: nothing is in flight, so the cancellation (from the
                    # Temporal UI, say) ends the journey with its compensations, as ops' would.
                    self._cancel = CancellationRequest(requested_by="temporal", reason="workflow_cancelled")
                    self._cancelled_by_temporal = True
                else:
                    self._record("cancellation", "refused", "the payout is in flight")
        payout.result()

    async def _disburse(self, application: LoanApplicationInput, offer: Offer) -> None:
        policy = application.policy
        self._payout_requested = True
        # The entry is posted before the payout is sent, so the undo is registered before the step:
        # a refused or failed payout reverses it too (a reversal of an entry never posted is a no-op).
        self._register_compensation(
            "reverse_ledger",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.reverse_disbursement,
                LedgerReversal(
                    application.application_id,
                    disbursement_ledger_key(application.application_id),
                    self._reason or "payout failed",
                ),
                **COMPENSATION,
            ),
        )
        disbursement = await self._step(
            "disbursement",
            lambda: workflow.execute_activity_method(
                OriginationActivityContract.disburse,
                DisbursementRequest(
                    application.application_id,
                    application.customer_id,
                    offer,
                    self._corrections.get("pix_key"),
                    self._steps_snapshot(),
                    signed=self._unwritten_signature,
                    status=self._status_change(ApplicationStatus.DISBURSING),
                ),
                **PROVIDER_CALL,
            ),
        )
        self._unwritten_signature = None
        self._enter(ApplicationStatus.DISBURSING)
        self._record("disbursement", "requested", disbursement.end_to_end_id)
        if not await self._wait(lambda: self._payout is not None, policy.payout_settlement_timeout, cancellable=False):
            self._record("disbursement", "unsettled")
            raise ApplicationEnded(ApplicationStatus.FAILED, "payout_not_settled", "disbursement")
        settlement = _required(self._payout, "the payout event the wait returned on")
        if not settlement.type.endswith("settled"):
            self._record("disbursement", "failed", str(settlement.data.get("failure_reason", "")) or None)
            raise ApplicationEnded(ApplicationStatus.FAILED, "payout_failed", "disbursement")
        self._compensations.clear()  # the money is out: from here the loan lives in servicing
        self._record("disbursement", "settled", disbursement.end_to_end_id)

        # Servicing as a workflow of its own, then `disbursed`.
        await workflow.execute_activity_method(
            OriginationActivityContract.complete_disbursement,
            DisbursementCompletion(
                application.application_id,
                offer,
                disbursement.end_to_end_id,
                self._steps_snapshot(),
                status=self._status_change(ApplicationStatus.DISBURSED, reserve_amount=Decimal("0")),
            ),
            **DATABASE_WRITE,
        )
        await workflow.start_child_workflow(
            ServicingWorkflow.run,
            ServicingInput.from_offer(
                application.application_id, application.customer_id, offer, charge_lead=policy.servicing_charge_lead
            ),
            id=servicing_workflow_id(application.application_id),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        self._enter(ApplicationStatus.DISBURSED)
        business_metrics.count(business_metrics.APPLICATIONS_DISBURSED)
        business_metrics.count_disbursed(offer.amount_released)

    # --- Steps, pauses, waits ---------------------------------------------------------------

    async def _step(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run a step's activity; a refusal or a fixable step's failure is handled here."""
        while True:
            self._raise_if_cancelled()
            try:
                return await self._watched(name, call)
            except ActivityError as err:
                if is_cancelled_exception(err):
                    raise  # the workflow is being cancelled: not a failure of the step
                refusal = _refusal_type(err)
                if refusal is not None and self._correctable(name, refusal):
                    await self._pause_for_correction(name, f"{refusal}: {err.cause or err}")
                    continue
                if refusal is not None:
                    self._record(name, "refused", refusal)
                    raise ApplicationEnded(ApplicationStatus.FAILED, f"{name}_refused:{refusal}", name) from err
                if name not in self._input_policy.fixable_steps:
                    self._record(name, "failed", str(err.cause or err))
                    raise ApplicationEnded(ApplicationStatus.FAILED, f"{name}_failed", name) from err
                await self._pause(name, str(err.cause or err))

    async def _certify_signature(
        self, application: LoanApplicationInput, envelope_id: str, signed: StatusChange | None
    ) -> bool:
        """Store the provider's evidence of the signature beside the contract (and write `signed`,
        when given, first); whether the activity completed. The money does not wait on it: a
        certificate that cannot be made is recorded for ops, and the journey goes on."""
        try:
            certificate = await workflow.execute_activity_method(
                OriginationActivityContract.issue_signature_certificate,
                SignatureCertificateRequest(
                    application.application_id, application.customer_id, envelope_id, status=signed
                ),
                **PROVIDER_CALL,
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise
            self._record("signature_certificate", "failed", _refusal_type(err) or "provider_unavailable")
            return False
        self._record("signature_certificate", "stored", certificate.sha256)
        return True

    async def _watched(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run a step's activity; past policy.retrying_after it shows as RetryingStep until it ends.

        The activity retries transient failures by itself, for minutes: without this, ops would
        see nothing of a provider outage until the retries run out."""
        if not workflow.patched(RETRYING_VISIBLE):
            return await call()
        task = asyncio.ensure_future(call())
        try:
            await workflow.wait_condition(task.done, timeout=self._input_policy.retrying_after)
        except TimeoutError:
            self._retrying_step = name
            workflow.upsert_search_attributes([RETRYING_STEP.value_set(name)])
            try:
                return await task
            finally:
                self._retrying_step = None
                workflow.upsert_search_attributes([RETRYING_STEP.value_unset()])
        except asyncio.CancelledError:
            task.cancel()  # cancel the activity as awaiting it directly would, and end as it ends
            return await task
        return task.result()

    def _correctable(self, step: str, refusal: str) -> bool:
        return refusal_key(step, refusal) in self._input_policy.correctable_refusals and workflow.patched(
            PAUSE_FOR_CORRECTION
        )

    async def _pause_for_correction(self, step: str, error: str) -> None:
        """Pause a refused step for corrected data. A refusal moved nothing (a refused payout sent no
        money), so while paused the application may still be cancelled, with its compensations."""
        payout_requested, self._payout_requested = self._payout_requested, False
        await self._pause(step, error)
        self._payout_requested = payout_requested

    async def _pause(self, step: str, error: str) -> None:
        self._paused_step = step
        self._record(step, "paused", error)
        business_metrics.count(business_metrics.STEPS_PAUSED, step=step)
        workflow.upsert_search_attributes([FAILED_STEP.value_set(step)])
        await self._write_status(self._transition(self._status, failed_step=step, reason=f"paused: {error}"[:500]))
        await workflow.wait_condition(lambda: self._retry is not None or self._cancel is not None)
        self._raise_if_cancelled()
        retry = _required(self._retry, "the retry the pause waited for")
        self._record(step, "retried", f"by {retry.operator}")
        self._corrections.update(retry.corrections)
        self._retry = None
        self._paused_step = None
        workflow.upsert_search_attributes([FAILED_STEP.value_unset()])

    async def _manual_review(self, application: LoanApplicationInput) -> None:
        policy = application.policy
        await self._write_status(self._transition(ApplicationStatus.MANUAL_REVIEW))
        entered = workflow.now()
        if not await self._wait(lambda: self._review is not None, policy.review_escalate_after):
            self._record("manual_review", "escalated")
            await workflow.execute_activity_method(
                OriginationActivityContract.remind,
                ReminderRequest(application.application_id, application.customer_id, "review_escalated"),
                **DATABASE_WRITE,
            )
            remaining = entered + policy.review_decline_after - workflow.now()
            if not await self._wait(lambda: self._review is not None, remaining):
                self._record("manual_review", "timed_out")
                raise ApplicationEnded(ApplicationStatus.DECLINED, "review_sla_exceeded")
        review = _required(self._review, "the review decision the wait returned on")
        outcome = "approved" if review.approve else "rejected"
        self._record("manual_review", outcome, f"{review.reviewer}: {review.reason}")
        if not review.approve:
            raise ApplicationEnded(ApplicationStatus.DECLINED, f"manual_review_rejected: {review.reason}"[:500])
        if not self._one_writer:
            # Before ONE_STATUS_WRITER: back to `analyzing` in the workflow only (never written; the
            # read model stayed `manual_review` until `offer_ready`). Now it goes to `offer_ready`.
            self._enter(ApplicationStatus.ANALYZING, search_attribute=False)

    async def _wait(self, condition: Callable[[], bool], timeout: timedelta, *, cancellable: bool = True) -> bool:
        """Wait for `condition` up to `timeout`; False on timeout. A cancellation request ends the journey."""
        if timeout <= timedelta(0):
            return condition()
        try:
            await workflow.wait_condition(
                lambda: condition() or (cancellable and self._cancel is not None), timeout=timeout
            )
        except TimeoutError:
            return False
        if cancellable:
            self._raise_if_cancelled()
        return True

    def _raise_if_cancelled(self) -> None:
        if self._cancel is not None and not self._payout_requested:
            self._record("cancellation", "requested", f"by {self._cancel.requested_by}: {self._cancel.reason}")
            raise ApplicationEnded(ApplicationStatus.CANCELLED, self._cancel.reason)

    # --- Pricing ----------------------------------------------------------------------------

    def _price(self, application: LoanApplicationInput, risk_band: str, monthly_rate: Decimal) -> Offer:
        release = business_date(workflow.now())
        terms = LoanTerms(
            amount=application.amount,
            term_months=application.term_months,
            monthly_rate=monthly_rate,
            amortization=Amortization(application.amortization),
            release_date=release,
            first_due_date=add_months(release, 1),
        )
        try:
            simulation = simulate(terms)
        except InvalidLoanTerms as exc:
            raise ApplicationEnded(ApplicationStatus.DECLINED, f"unpriceable_terms: {exc}"[:500]) from exc
        return offer_of(
            simulation,
            offer_id=str(workflow.uuid4()),
            amortization=application.amortization,
            risk_band=risk_band,
            expires_at=workflow.now() + application.policy.offer_ttl,
        )

    # --- Status, steps, compensation --------------------------------------------------------

    @property
    def _input_policy(self) -> OriginationPolicy:
        return self._input.policy

    def _record(self, step: str, outcome: str, detail: str | None = None) -> None:
        self._steps.append(StepRecord(step=step, outcome=outcome, at=workflow.now(), detail=detail))

    def _steps_snapshot(self) -> list[StepRecord]:
        return list(self._steps)

    # The application's status has one writer, this workflow, and every change goes through these:
    # `_status_change` builds the StatusChange the read model applies (and refuses a move that
    # NEXT_STATUSES forbids), `_enter` is the only assignment of `self._status` (with the LoanStatus
    # search attribute), `_transition` does both. The change then reaches the read model inside the
    # activity that runs at that moment (a request's `status` field), or through `_write_status`
    # (the `record_status` activity) where none does. A change that rides on a step is entered
    # only once the step succeeded (it may still be refused or pause); one written on its own is
    # entered first, so an Update the read model invites (accept_offer at offer_ready,
    # decide_review at manual_review) never arrives before the workflow is there.

    def _status_change(
        self,
        status: ApplicationStatus,
        *,
        offer: Offer | None = None,
        risk_band: str | None = None,
        failed_step: str | None = None,
        reason: str | None = None,
        reserve_amount: Decimal | None = None,
    ) -> StatusChange:
        if not status_may_move(self._status, status):
            # A bug in this workflow: fail the task (see WorkflowInvariantBroken), write nothing.
            raise WorkflowInvariantBroken(f"the status may not move from {self._status} to {status}")
        return StatusChange(
            application_id=self._input.application_id,
            customer_id=self._input.customer_id,
            status=status,
            steps=self._steps_snapshot(),
            offer=offer,
            risk_band=risk_band,
            failed_step=failed_step,
            reason=reason,
            reserve_amount=reserve_amount,
        )

    def _enter(self, status: ApplicationStatus, *, search_attribute: bool = True) -> None:
        self._status = status
        if search_attribute:
            workflow.upsert_search_attributes([LOAN_STATUS.value_set(status)])

    def _transition(
        self,
        status: ApplicationStatus,
        *,
        search_attribute: bool = True,
        offer: Offer | None = None,
        risk_band: str | None = None,
        failed_step: str | None = None,
        reason: str | None = None,
        reserve_amount: Decimal | None = None,
    ) -> StatusChange:
        change = self._status_change(
            status,
            offer=offer,
            risk_band=risk_band,
            failed_step=failed_step,
            reason=reason,
            reserve_amount=reserve_amount,
        )
        self._enter(status, search_attribute=search_attribute)
        return change

    async def _write_status(self, change: StatusChange) -> None:
        """A change no step's activity carries, written by `record_status`."""
        await workflow.execute_activity_method(OriginationActivityContract.record_status, change, **DATABASE_WRITE)

    def _register_compensation(self, name: str, undo: Callable[[], Awaitable[Any]]) -> None:
        self._compensations.append((name, undo))

    async def _compensate(self) -> None:
        for name, undo in reversed(self._compensations):
            try:
                await undo()
                business_metrics.count(business_metrics.COMPENSATIONS, step=name)
                self._compensated.append(name)
                self._record("compensation", name)
            except ActivityError as err:  # record and go on: one failed undo must not stop the others
                self._record("compensation", f"{name}_failed", str(err.cause or err))
        self._compensations.clear()

    async def _end(self, status: ApplicationStatus, reason: str, failed_step: str | None) -> None:
        """Run the compensations shielded from cancellation, then record the terminal status."""
        if status not in TERMINAL_STATUSES:
            raise WorkflowInvariantBroken(f"the journey ended on {status}, which is not terminal")
        if status == ApplicationStatus.DECLINED:
            business_metrics.count(business_metrics.APPLICATIONS_DECLINED)
        elif status == ApplicationStatus.FAILED:
            business_metrics.count(business_metrics.APPLICATIONS_FAILED, step=failed_step or "unknown")
        self._reason = reason
        self._failed_step = failed_step
        if failed_step:
            workflow.upsert_search_attributes([FAILED_STEP.value_set(failed_step)])
        self._paused_step = None
        task = asyncio.ensure_future(self._compensate_and_record(status, reason, failed_step))
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                continue  # a second cancellation must not interrupt the undo
        task.result()

    async def _compensate_and_record(self, status: ApplicationStatus, reason: str, failed_step: str | None) -> None:
        await self._compensate()
        await self._write_status(self._transition(status, failed_step=failed_step, reason=reason[:500]))
