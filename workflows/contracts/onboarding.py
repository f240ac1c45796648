"""The onboarding journey's contract: `onboarding-{customer_id}`."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from temporalio import activity

from workflows.contracts.events import ProviderEvent as ProviderEvent

WORKFLOW_TYPE = "OnboardingWorkflow"
# A template over {customer_id}, as the event bridge fills it.
WORKFLOW_ID_TEMPLATE = "onboarding-{customer_id}"

# Signals
DOCUMENT_VALIDATED = "document_validated"  # argument: ProviderEvent
# Queries
STATUS_QUERY = "status"  # answers OnboardingStatus

SIGNALS = frozenset({DOCUMENT_VALIDATED})
UPDATES: frozenset[str] = frozenset()
QUERIES = frozenset({STATUS_QUERY})


def onboarding_workflow_id(customer_id: str) -> str:
    return WORKFLOW_ID_TEMPLATE.format(customer_id=customer_id)


@dataclass(frozen=True)
class OnboardingInput:
    customer_id: str
    declared_name: str
    declared_birth_date: date
    reminder_after: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class OnboardingResult:
    customer_id: str
    outcome: Literal["active", "rejected", "expired"]
    reason: str | None = None


@dataclass(frozen=True)
class OnboardingStatus:
    step: Literal["cpf_check", "documents", "kyc_decision", "done"]
    missing_documents: list[str]
    outcome: str | None = None
    reason: str | None = None


# Activities' requests and results.


@dataclass(frozen=True)
class CpfCheckRequest:
    customer_id: str


@dataclass(frozen=True)
class CpfCheckResult:
    status: str
    holder_name: str
    holder_birth_date: date | None


@dataclass(frozen=True)
class OnboardingReminder:
    customer_id: str
    missing_documents: list[str]


@dataclass(frozen=True)
class OnboardingOutcome:
    customer_id: str
    outcome: str  # active | rejected | expired
    reason: str | None


class OnboardingActivityContract:
    """The onboarding activities as the workflow calls them. ``activities.onboarding`` implements
    them by subclassing, so a changed signature is a type error on both sides."""

    @activity.defn
    async def check_cpf(self, request: CpfCheckRequest) -> CpfCheckResult:
        raise NotImplementedError

    @activity.defn
    async def remind_customer(self, reminder: OnboardingReminder) -> None:
        raise NotImplementedError

    @activity.defn
    async def complete_onboarding(self, outcome: OnboardingOutcome) -> None:
        raise NotImplementedError
