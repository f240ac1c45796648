"""Activities of customer onboarding: the CPF lookup and the customer's state changes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.provider_errors import provider_call
from integrations.federal_revenue import FederalRevenueClient
from storage.models import Customer
from storage.outbox import record_event
from workflows.contracts.onboarding import (
    CpfCheckRequest,
    CpfCheckResult,
    OnboardingActivityContract,
    OnboardingOutcome,
    OnboardingReminder,
)


class CustomerNotFound(ApplicationError):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"customer {customer_id} does not exist", type="CustomerNotFound", non_retryable=True)


class OnboardingActivities(OnboardingActivityContract):
    def __init__(self, federal_revenue: FederalRevenueClient, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self._federal_revenue = federal_revenue
        self._sessions = session_maker

    async def _customer(self, session: AsyncSession, customer_id: str) -> Customer:
        customer = await session.scalar(select(Customer).where(Customer.id == uuid.UUID(customer_id)))
        if customer is None:
            raise CustomerNotFound(customer_id)
        return customer

    @activity.defn
    async def check_cpf(self, request: CpfCheckRequest) -> CpfCheckResult:
        """Look the customer's CPF up with the Federal Revenue Office (the CPF stays out of the workflow)."""
        async with self._sessions() as session:
            cpf = (await self._customer(session, request.customer_id)).cpf
        with provider_call():
            registration = await self._federal_revenue.lookup_cpf(cpf)
        return CpfCheckResult(
            status=registration.status.value,
            holder_name=registration.holder_name,
            holder_birth_date=registration.birth_date,
        )

    @activity.defn
    async def remind_customer(self, reminder: OnboardingReminder) -> None:
        async with self._sessions() as session, session.begin():
            record_event(
                session,
                "customer.onboarding_reminder_due",
                reminder.customer_id,
                {"customer_id": reminder.customer_id, "missing_documents": reminder.missing_documents},
            )

    @activity.defn
    async def complete_onboarding(self, outcome: OnboardingOutcome) -> None:
        """The customer's new status and its event, in one transaction (idempotent on retry)."""
        status = {"active": "active", "rejected": "rejected", "expired": "onboarding_expired"}[outcome.outcome]
        async with self._sessions() as session, session.begin():
            customer = await self._customer(session, outcome.customer_id)
            if customer.status == status:
                return
            customer.status = status
            customer.status_reason = outcome.reason
            record_event(
                session,
                f"customer.onboarding_{outcome.outcome}",
                outcome.customer_id,
                {"customer_id": outcome.customer_id, "outcome": outcome.outcome, "reason": outcome.reason},
            )
