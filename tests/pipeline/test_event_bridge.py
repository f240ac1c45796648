"""The event bridge on the Temporal dev server, to the project's real workflows: trusted events become
signals to the workflow that waits for them, once; an event no workflow waits for is recorded, not lost.

The workflows are the real classes (onboarding, loan origination, servicing) on the project's worker
(`workers.temporal_worker.build_worker`); only their activities are stand-ins, registered under the
real activity names. Onboarding's are answered (the CPF is regular, the outcome is recorded here), so
the journey runs to its end on the bridge's signals. The other journeys' activities are held by one
dynamic activity, so that each workflow waits in its first step while the bridge signals it: these
tests use the journeys' public contracts (`workflows.contracts`), never their internals.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from confluent_kafka import Consumer, TopicPartition
from pipeline_support import eventually, running
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import RawValue
from temporalio.worker import Worker

from lendflow.settings import Settings
from pipeline.bridge import ROUTES, EventBridge, SignalRoute, WorkflowStart
from pipeline.events import ApplicationSnapshot, CustomerSnapshot, TrustedEvent
from pipeline.intake import EventProducer
from pipeline.runner import PipelineParts, ledger
from storage.models import UnmatchedEvent
from workers.temporal_worker import build_worker
from workflows.contracts import onboarding, origination, servicing
from workflows.contracts.events import ProviderEvent
from workflows.contracts.onboarding import (
    CpfCheckRequest,
    CpfCheckResult,
    OnboardingActivityContract,
    OnboardingInput,
    OnboardingOutcome,
    OnboardingReminder,
    OnboardingResult,
    OnboardingStatus,
)
from workflows.contracts.origination import LoanApplicationInput
from workflows.contracts.servicing import ServicingInput
from workflows.onboarding import OnboardingWorkflow
from workflows.origination import LoanOriginationWorkflow
from workflows.servicing import ServicingWorkflow

# --- The real workflows' activities, stood in for -----------------------------------------------


@dataclass(frozen=True)
class Registration:
    status: str
    holder_name: str
    holder_birth_date: date


# What the Federal Revenue says of each customer a test onboards, and what each onboarding concluded.
REGISTRATIONS: dict[str, Registration] = {}
OUTCOMES: dict[str, list[OnboardingOutcome]] = {}


def _name(method: object) -> str:
    definition = activity._Definition.must_from_callable(method)  # type: ignore[arg-type]
    assert definition.name is not None
    return definition.name


@activity.defn(name=_name(OnboardingActivityContract.check_cpf))
async def check_cpf(request: CpfCheckRequest) -> CpfCheckResult:
    registration = REGISTRATIONS[request.customer_id]
    return CpfCheckResult(registration.status, registration.holder_name, registration.holder_birth_date)


@activity.defn(name=_name(OnboardingActivityContract.remind_customer))
async def remind_customer(reminder: OnboardingReminder) -> None:
    return None


@activity.defn(name=_name(OnboardingActivityContract.complete_onboarding))
async def complete_onboarding(outcome: OnboardingOutcome) -> None:
    OUTCOMES.setdefault(outcome.customer_id, []).append(outcome)


@activity.defn(dynamic=True)
async def held(args: Sequence[RawValue]) -> None:
    """Any other activity: never answers, so the workflow stays in its first step (cancelled when
    the worker shuts down)."""
    await asyncio.get_running_loop().create_future()


@pytest.fixture
async def journeys(temporal_client: Client) -> AsyncIterator[str]:
    """The project's worker with every real workflow, on a task queue of this test's own."""
    task_queue = f"test-bridge-journeys-{uuid.uuid4()}"
    worker: Worker = build_worker(temporal_client, task_queue, [check_cpf, remind_customer, complete_onboarding, held])
    async with worker:
        yield task_queue


# --- Events and workflows --------------------------------------------------------------------------


def trusted(event_type: str, *, customer_id: uuid.UUID, application_id: uuid.UUID, **data: object) -> TrustedEvent:
    return TrustedEvent(
        event_id=str(uuid.uuid4()),
        type=event_type,
        version=1,
        occurred_at=datetime.now(UTC),
        source="test",
        subject=str(application_id),
        data=dict(data),
        customer=CustomerSnapshot(customer_id=customer_id, status="pending_onboarding"),
        application=ApplicationSnapshot(
            application_id=application_id, customer_id=customer_id, status="disbursed", amount="1000.00", term_months=3
        ),
        trusted_at=datetime.now(UTC),
    )


def document(customer_id: uuid.UUID, document_type: str) -> TrustedEvent:
    return trusted(
        "document.submitted", customer_id=customer_id, application_id=uuid.uuid4(), document_type=document_type
    )


def onboarding_input(customer_id: uuid.UUID, *, status: str = "regular") -> OnboardingInput:
    name = f"Cliente Ponte {uuid.uuid4().hex[:6]}"
    REGISTRATIONS[str(customer_id)] = Registration(status, name, date(1990, 5, 17))
    return OnboardingInput(customer_id=str(customer_id), declared_name=name, declared_birth_date=date(1990, 5, 17))


async def start_onboarding(client: Client, task_queue: str, customer_id: uuid.UUID, **kwargs: str) -> WorkflowHandle:
    return await client.start_workflow(
        OnboardingWorkflow.run,
        onboarding_input(customer_id, **kwargs),
        id=onboarding.onboarding_workflow_id(str(customer_id)),
        task_queue=task_queue,
    )


async def status_of(handle: WorkflowHandle) -> OnboardingStatus:
    return await handle.query(OnboardingWorkflow.status)


async def _publish_trusted(settings: Settings, *events: TrustedEvent) -> None:
    producer = EventProducer(settings, topic=settings.kafka.topics.trusted)
    try:
        for event in events:
            await producer.publish_raw(event.subject.encode(), event.to_bytes())
    finally:
        await producer.aclose()


def _committed(settings: Settings) -> int:
    """How many messages of the trusted topic the bridge's consumer group has committed."""
    topic = settings.kafka.topics.trusted
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": settings.pipeline.groups.bridge}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return sum(max(tp.offset, 0) for tp in committed)
    finally:
        consumer.close()


async def signals_in_history(client: Client, workflow_id: str) -> list[tuple[str, ProviderEvent]]:
    """Every signal the workflow's history holds: its name and its argument, decoded as the workflow
    reads it (with the project's converter, keys included)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    signals = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attributes = event.workflow_execution_signaled_event_attributes
            [argument] = await client.data_converter.decode(attributes.input.payloads, [ProviderEvent])
            signals.append((attributes.signal_name, argument))
    return signals


def _signal_names(workflow_class: type) -> set[str]:
    definition = workflow._Definition.from_class(workflow_class)
    assert definition is not None
    return set(definition.signals)


def _bridged(event_type: str) -> float:
    labels = {"event_type": event_type, "outcome": "signalled"}
    return REGISTRY.get_sample_value("lendflow_pipeline_bridged_total", labels) or 0.0


# --- The tests ----------------------------------------------------------------------------------------


async def test_document_events_reach_the_real_onboarding_workflow_once_and_complete_it(
    parts: PipelineParts, pipeline_settings: Settings, temporal_client: Client, journeys: str
) -> None:
    customer_id = uuid.uuid4()
    handle = await start_onboarding(temporal_client, journeys, customer_id)
    await eventually(lambda: _at_step(handle, "documents"), timeout=30)
    front, back, selfie = (document(customer_id, kind) for kind in ("id_front", "id_back", "selfie"))
    bridged_before = _bridged("document.submitted")
    await _publish_trusted(pipeline_settings, front, front, back)

    try:
        async with running(parts, "bridge", temporal=temporal_client) as [bridge]:
            assert isinstance(bridge, EventBridge)
            # The workflow's own signal handler applied both documents: only the selfie is missing.
            await eventually(lambda: _missing(handle, ["selfie"]), timeout=30)
            await eventually(lambda: _committed(pipeline_settings) == 3, timeout=30)
            # A signal repeated after a crash (same event, same request id) is applied once by the server.
            await bridge._signal(handle.id, onboarding.DOCUMENT_VALIDATED, front)
            await _publish_trusted(pipeline_settings, selfie)
            result: OnboardingResult = await asyncio.wait_for(handle.result(), timeout=30)
    finally:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test failed")

    assert result.outcome == "active"
    assert [outcome.outcome for outcome in OUTCOMES[str(customer_id)]] == ["active"]
    # The history is whole once the workflow closed: each document signalled once, by its real name.
    # The front and the back are about two applications, so they may lie on two partitions and reach
    # the workflow in either order; the selfie was published after both were committed.
    signals = await signals_in_history(temporal_client, handle.id)
    assert {name for name, _ in signals} == {onboarding.DOCUMENT_VALIDATED}
    ids = [event.event_id for _, event in signals]
    assert len(ids) == 3 and set(ids[:2]) == {front.event_id, back.event_id} and ids[2] == selfie.event_id
    by_id = {event.event_id: event for _, event in signals}
    assert by_id[front.event_id].data["document_type"] == "id_front"
    assert _bridged("document.submitted") == bridged_before + 3


async def test_signature_payout_and_payment_events_reach_the_real_loan_and_servicing_workflows(
    parts: PipelineParts,
    pipeline_settings: Settings,
    temporal_client: Client,
    journeys: str,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    customer_id, application_id = uuid.uuid4(), uuid.uuid4()
    loan = await temporal_client.start_workflow(
        LoanOriginationWorkflow.run,
        LoanApplicationInput(
            application_id=str(application_id),
            customer_id=str(customer_id),
            amount=Decimal("1000.00"),
            term_months=3,
            amortization="price",
        ),
        id=origination.loan_workflow_id(str(application_id)),
        task_queue=journeys,
    )
    today = datetime.now(UTC).date()
    repayments = await temporal_client.start_workflow(
        ServicingWorkflow.run,
        ServicingInput(
            loan_id=str(application_id),
            customer_id=str(customer_id),
            amortization="price",
            principal=Decimal("1000.00"),
            monthly_rate=Decimal("0.0199"),
            release_date=today,
            first_due_date=today + timedelta(days=30),
            term_months=3,
        ),
        id=servicing.servicing_workflow_id(str(application_id)),
        task_queue=journeys,
    )
    ids = {"customer_id": customer_id, "application_id": application_id}
    signed = trusted("esignature.envelope.signed", **ids, envelope_id="env_1", status="signed")
    settled = trusted("pix.payout.settled", **ids, end_to_end_id="E1")
    paid = trusted("pix.charge.paid", **ids, txid="tx1")
    try:
        await _publish_trusted(pipeline_settings, signed, settled, paid)
        async with running(parts, "bridge", temporal=temporal_client):
            await eventually(lambda: _committed(pipeline_settings) == 3, timeout=30)

        loan_signals = await signals_in_history(temporal_client, loan.id)
        servicing_signals = await signals_in_history(temporal_client, repayments.id)
        for handle in (loan, repayments):
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    finally:
        await loan.terminate("test over")
        await repayments.terminate("test over")

    assert [(name, event.event_id) for name, event in loan_signals] == [
        (origination.SIGNATURE_EVENT, signed.event_id),
        (origination.PAYOUT_EVENT, settled.event_id),
    ]
    assert [(name, event.event_id) for name, event in servicing_signals] == [
        (servicing.PAYMENT_RECEIVED, paid.event_id)
    ]
    # Each name is one of the real class's signal handlers: a renamed handler fails here.
    assert {name for name, _ in loan_signals} <= _signal_names(LoanOriginationWorkflow)
    assert {name for name, _ in servicing_signals} <= _signal_names(ServicingWorkflow)
    assert loan_signals[1][1].data["end_to_end_id"] == "E1"
    async with session_maker() as session:
        unmatched = await session.scalars(
            select(UnmatchedEvent.event_id).where(
                UnmatchedEvent.event_id.in_([signed.event_id, settled.event_id, paid.event_id])
            )
        )
        assert unmatched.all() == []


async def test_an_event_no_workflow_waits_for_is_recorded_and_its_offset_committed(
    parts: PipelineParts,
    pipeline_settings: Settings,
    temporal_client: Client,
    journeys: str,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    # An onboarding that ended (the CPF is suspended: rejected) before its documents came.
    rejected_customer = uuid.uuid4()
    closed = await start_onboarding(temporal_client, journeys, rejected_customer, status="suspended")
    assert (await closed.result()).outcome == "rejected"
    to_closed = document(rejected_customer, "id_front")
    to_nobody = trusted("pix.payout.settled", customer_id=uuid.uuid4(), application_id=uuid.uuid4(), end_to_end_id="E1")
    no_route = trusted("pix.refund.settled", customer_id=uuid.uuid4(), application_id=uuid.uuid4())
    await _publish_trusted(pipeline_settings, to_closed, to_nobody, no_route)

    async with running(parts, "bridge", temporal=temporal_client):
        await eventually(lambda: _committed(pipeline_settings) == 3, timeout=30)

    async with session_maker() as session:
        rows = (
            await session.scalars(
                select(UnmatchedEvent).where(
                    UnmatchedEvent.event_id.in_([to_closed.event_id, to_nobody.event_id, no_route.event_id])
                )
            )
        ).all()
    by_event = {row.event_id: row for row in rows}
    assert set(by_event) == {to_closed.event_id, to_nobody.event_id, no_route.event_id}
    assert by_event[to_closed.event_id].workflow_id == closed.id
    assert by_event[to_closed.event_id].signal_name == onboarding.DOCUMENT_VALIDATED
    assert by_event[to_nobody.event_id].signal_name == origination.PAYOUT_EVENT
    assert by_event[no_route.event_id].reason.startswith("no route")
    assert TrustedEvent.model_validate(by_event[to_nobody.event_id].payload) == to_nobody
    # The closed workflow got nothing after it ended.
    assert await signals_in_history(temporal_client, closed.id) == []


async def test_a_route_with_a_start_starts_the_real_workflow_with_the_event_when_it_does_not_exist_yet(
    parts: PipelineParts, pipeline_settings: Settings, temporal_client: Client, journeys: str
) -> None:
    customer_id = uuid.uuid4()
    first_documents = onboarding_input(customer_id)
    routes = {
        **ROUTES,
        "document.submitted": SignalRoute(
            onboarding.WORKFLOW_ID_TEMPLATE,
            onboarding.DOCUMENT_VALIDATED,
            start=WorkflowStart(
                workflow=onboarding.WORKFLOW_TYPE, input=lambda _: first_documents, task_queue=journeys
            ),
        ),
    }
    event = document(customer_id, "id_back")
    await _publish_trusted(pipeline_settings, event)
    bridge = EventBridge(
        pipeline_settings,
        client=temporal_client,
        ledger=ledger(pipeline_settings, pipeline_settings.pipeline.groups.bridge, parts.redis, parts.sessions),
        session_maker=parts.sessions,
        routes=routes,
    )
    handle = temporal_client.get_workflow_handle(onboarding.onboarding_workflow_id(str(customer_id)))
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(stop))
    try:
        # Started by the event, which its own handler applied: the back of the ID is in.
        await eventually(lambda: _missing(handle, ["id_front", "selfie"]), timeout=30)
    finally:
        stop.set()
        await task
    try:
        assert (await status_of(handle)).step == "documents"
        assert [(name, e.event_id) for name, e in await signals_in_history(temporal_client, handle.id)] == [
            (onboarding.DOCUMENT_VALIDATED, event.event_id)
        ]
    finally:
        await handle.terminate("test over")


async def _at_step(handle: WorkflowHandle, step: str) -> bool:
    return (await status_of(handle)).step == step


async def _missing(handle: WorkflowHandle, documents: list[str]) -> bool:
    try:
        return (await status_of(handle)).missing_documents == documents
    except Exception:  # not started yet, or its first task not done: ask again
        return False
