"""The event bridge on the Temporal dev server: trusted events become signals to the workflow that
waits for them, once; an event no workflow waits for is recorded, not lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer, TopicPartition
from pipeline_support import eventually, running
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from lendflow.settings import Settings
from pipeline.bridge import ROUTES, EventBridge, SignalRoute, WorkflowStart
from pipeline.events import ApplicationSnapshot, TrustedEvent
from pipeline.intake import EventProducer
from pipeline.runner import PipelineParts, ledger
from storage.models import UnmatchedEvent


@workflow.defn(name="PipelineBridgeProbe")
class WaitsForProviderEvents:
    """Keeps every signal it gets, even a repeated one, so that the test sees what the bridge sent."""

    def __init__(self) -> None:
        self.events: list[TrustedEvent] = []
        self.closing = False

    @workflow.signal
    def payment_received(self, event: TrustedEvent) -> None:
        self.events.append(event)

    @workflow.signal
    def signature_event(self, event: TrustedEvent) -> None:
        self.events.append(event)

    @workflow.signal
    def close(self) -> None:
        self.closing = True

    @workflow.query
    def received(self) -> list[str]:
        return [event.event_id for event in self.events]

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: self.closing)
        return [event.event_id for event in self.events]


@pytest.fixture
async def probe_worker(temporal_client: Client, task_queue: str) -> AsyncIterator[Worker]:
    worker = Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[WaitsForProviderEvents],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with worker:
        yield worker


def trusted(event_type: str, application_id: uuid.UUID, **data: object) -> TrustedEvent:
    return TrustedEvent(
        event_id=str(uuid.uuid4()),
        type=event_type,
        version=1,
        occurred_at=datetime.now(UTC),
        source="test",
        subject=str(application_id),
        data=dict(data),
        application=ApplicationSnapshot(
            application_id=application_id, customer_id=uuid.uuid4(), status="disbursed", amount="1000.00", term_months=3
        ),
        trusted_at=datetime.now(UTC),
    )


async def _publish_trusted(settings: Settings, *events: TrustedEvent) -> None:
    producer = EventProducer(settings, topic=settings.kafka.topics.trusted)
    try:
        for event in events:
            await producer.publish_raw(event.subject.encode(), event.to_bytes())
    finally:
        await producer.aclose()


async def _received(handle: WorkflowHandle) -> list[str]:
    return await handle.query(WaitsForProviderEvents.received)


def _committed(settings: Settings) -> int:
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


async def test_trusted_events_become_signals_to_the_waiting_workflow_once(
    parts: PipelineParts, pipeline_settings: Settings, temporal_client: Client, probe_worker: Worker, task_queue: str
) -> None:
    application_id = uuid.uuid4()
    handle = await temporal_client.start_workflow(
        WaitsForProviderEvents.run, 2, id=f"servicing-{application_id}", task_queue=task_queue
    )
    first, second = (trusted("pix.charge.paid", application_id, txid=f"tx{i}") for i in range(2))
    bridged_before = (
        REGISTRY.get_sample_value(
            "lendflow_pipeline_bridged_total", {"event_type": "pix.charge.paid", "outcome": "signalled"}
        )
        or 0
    )
    await _publish_trusted(pipeline_settings, first, first, second)

    async with running(parts, "bridge", temporal=temporal_client) as [bridge]:
        await eventually(lambda: _received(handle), timeout=30)
        await eventually(lambda: bridge.batches_committed > 0 and _committed(pipeline_settings) == 3, timeout=30)
        assert isinstance(bridge, EventBridge)
        # A signal repeated after a crash (same event, same request id) is applied once by the server.
        await bridge._signal(f"servicing-{application_id}", "payment_received", first)
        await asyncio.sleep(0.5)
        received = await _received(handle)

    await handle.signal(WaitsForProviderEvents.close)
    assert await handle.result() == [first.event_id, second.event_id]
    assert received == [first.event_id, second.event_id]
    bridged_after = REGISTRY.get_sample_value(
        "lendflow_pipeline_bridged_total", {"event_type": "pix.charge.paid", "outcome": "signalled"}
    )
    assert bridged_after == bridged_before + 2


async def test_an_event_no_workflow_waits_for_is_recorded_and_its_offset_committed(
    parts: PipelineParts,
    pipeline_settings: Settings,
    temporal_client: Client,
    probe_worker: Worker,
    task_queue: str,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    closed_application = uuid.uuid4()
    closed = await temporal_client.start_workflow(
        WaitsForProviderEvents.run, 0, id=f"loan-{closed_application}", task_queue=task_queue
    )
    await closed.signal(WaitsForProviderEvents.close)
    await closed.result()
    to_closed = trusted("esignature.envelope.signed", closed_application, envelope_id="env_1", status="signed")
    to_nobody = trusted("pix.payout.settled", uuid.uuid4(), end_to_end_id="E1")
    no_route = trusted("pix.refund.settled", uuid.uuid4())
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
    assert by_event[to_closed.event_id].workflow_id == f"loan-{closed_application}"
    assert by_event[to_closed.event_id].signal_name == "signature_event"
    assert by_event[to_nobody.event_id].signal_name == "payout_event"
    assert by_event[no_route.event_id].reason.startswith("no route")
    assert TrustedEvent.model_validate(by_event[to_nobody.event_id].payload) == to_nobody


async def test_a_route_with_a_start_signals_with_start_when_the_workflow_does_not_exist_yet(
    parts: PipelineParts, pipeline_settings: Settings, temporal_client: Client, probe_worker: Worker, task_queue: str
) -> None:
    application_id = uuid.uuid4()
    routes = {
        **ROUTES,
        "pix.charge.paid": SignalRoute(
            "servicing-{application_id}",
            "payment_received",
            start=WorkflowStart(workflow="PipelineBridgeProbe", input=lambda event: 1, task_queue=task_queue),
        ),
    }
    event = trusted("pix.charge.paid", application_id, txid="tx1")
    await _publish_trusted(pipeline_settings, event)
    bridge = EventBridge(
        pipeline_settings,
        client=temporal_client,
        ledger=ledger(pipeline_settings, pipeline_settings.pipeline.groups.bridge, parts.redis, parts.sessions),
        session_maker=parts.sessions,
        routes=routes,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(stop))
    try:
        handle = temporal_client.get_workflow_handle(f"servicing-{application_id}")
        await eventually(lambda: _received_or_empty(handle), timeout=30)
    finally:
        stop.set()
        await task
    assert await _received(handle) == [event.event_id]
    await handle.signal(WaitsForProviderEvents.close)
    assert await handle.result() == [event.event_id]


async def _received_or_empty(handle: WorkflowHandle) -> list[str]:
    try:
        return await _received(handle)
    except Exception:
        return []
