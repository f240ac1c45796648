"""Customer onboarding: `onboarding-{customer_id}`.

CPF check with the Federal Revenue Office (regular, and the declared name and birth date match)
→ wait for the identity documents (ID front, ID back, selfie) to come through the pipeline
validated, with a reminder after 24 hours and an expiry after 7 days → KYC decision → the
customer is active (or rejected, or expired, with the reason).
"""

from __future__ import annotations

from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.kyc import assess_cpf, missing_documents
    from workflows import business_metrics
    from workflows.activity_options import DATABASE_WRITE, PROVIDER_CALL
    from workflows.contracts.onboarding import (
        DOCUMENT_VALIDATED,
        STATUS_QUERY,
        CpfCheckRequest,
        OnboardingActivityContract,
        OnboardingInput,
        OnboardingOutcome,
        OnboardingReminder,
        OnboardingResult,
        OnboardingStatus,
        ProviderEvent,
    )
    from workflows.search_attributes import CUSTOMER_ID


@workflow.defn
class OnboardingWorkflow:
    def __init__(self) -> None:
        self._step: Literal["cpf_check", "documents", "kyc_decision", "done"] = "cpf_check"
        self._validated: set[str] = set()
        self._seen_events: set[str] = set()
        self._result: OnboardingResult | None = None

    @workflow.signal(name=DOCUMENT_VALIDATED)
    def document_validated(self, event: ProviderEvent) -> None:
        """A document the pipeline validated; redelivered events are applied once."""
        if event.event_id in self._seen_events:
            return
        self._seen_events.add(event.event_id)
        document_type = str(event.data.get("document_type", ""))
        if document_type:
            self._validated.add(document_type)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> OnboardingStatus:
        return OnboardingStatus(
            step=self._step,
            missing_documents=missing_documents(self._validated),
            outcome=self._result.outcome if self._result else None,
            reason=self._result.reason if self._result else None,
        )

    @workflow.run
    async def run(self, onboarding: OnboardingInput) -> OnboardingResult:
        workflow.upsert_search_attributes([CUSTOMER_ID.value_set(onboarding.customer_id)])
        started = workflow.now()

        # 1. CPF with the Federal Revenue Office.
        try:
            registration = await workflow.execute_activity_method(
                OnboardingActivityContract.check_cpf, CpfCheckRequest(onboarding.customer_id), **PROVIDER_CALL
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                return await self._finish(onboarding, "rejected", f"cpf_{cause.type or 'refused'}")
            raise
        finding = assess_cpf(
            status=registration.status,
            holder_name=registration.holder_name,
            holder_birth_date=registration.holder_birth_date,
            declared_name=onboarding.declared_name,
            declared_birth_date=onboarding.declared_birth_date,
        )
        if not finding.accepted:
            return await self._finish(onboarding, "rejected", finding.reason)

        # 2. Identity documents, validated by the pipeline; one reminder, then an expiry.
        self._step = "documents"
        deadline = started + onboarding.expire_after
        reminded = False
        while missing_documents(self._validated):
            now = workflow.now()
            if now >= deadline:
                return await self._finish(onboarding, "expired", "documents_not_received")
            next_wake = deadline if reminded else min(deadline, started + onboarding.reminder_after)
            try:
                await workflow.wait_condition(lambda: not missing_documents(self._validated), timeout=next_wake - now)
            except TimeoutError:
                if not reminded and workflow.now() < deadline:
                    reminded = True
                    await workflow.execute_activity_method(
                        OnboardingActivityContract.remind_customer,
                        OnboardingReminder(onboarding.customer_id, missing_documents(self._validated)),
                        **DATABASE_WRITE,
                    )

        # 3. KYC decision: the CPF passed and every document came through validated.
        self._step = "kyc_decision"
        return await self._finish(onboarding, "active", None)

    async def _finish(
        self, onboarding: OnboardingInput, outcome: Literal["active", "rejected", "expired"], reason: str | None
    ) -> OnboardingResult:
        await workflow.execute_activity_method(
            OnboardingActivityContract.complete_onboarding,
            OnboardingOutcome(onboarding.customer_id, outcome, reason),
            **DATABASE_WRITE,
        )
        self._step = "done"
        self._result = OnboardingResult(onboarding.customer_id, outcome, reason)
        if outcome == "active":
            business_metrics.count(business_metrics.CUSTOMERS_ONBOARDED)
        workflow.logger.info("onboarding finished: %s (%s)", outcome, reason)
        return self._result
