"""Each real connection the project stands on, proven end to end."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from confluent_kafka import Consumer, Producer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from lendflow.settings import Settings
from storage.models import OutboxEvent, ProcessedEvent
from workflows.diagnostics import WorkerPingInput, WorkerPingResult, WorkerPingWorkflow


def test_a_produced_message_is_consumed_from_kafka(settings: Settings, topic_suffix: str) -> None:
    topic = settings.kafka.topics.incoming + topic_suffix
    key, value = f"customer-{uuid.uuid4()}", f"payload-{uuid.uuid4()}".encode()
    delivered: list[str] = []
    producer = Producer(
        {"bootstrap.servers": settings.kafka.bootstrap_servers, "enable.idempotence": True, "acks": "all"}
    )
    producer.produce(topic, key=key, value=value, on_delivery=lambda err, msg: delivered.append(err or "ok"))
    assert producer.flush(30) == 0
    assert delivered == ["ok"]

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"test-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    try:
        received = None
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                received = message
                break
        assert received is not None, "nothing consumed within 60 polls"
        assert received.key() == key.encode()
        assert received.value() == value
    finally:
        consumer.close()


async def test_a_row_round_trips_through_postgres(session_maker: async_sessionmaker[AsyncSession]) -> None:
    event_id = str(uuid.uuid4())
    async with session_maker() as session:
        async with session.begin():
            session.add(ProcessedEvent(consumer="test", event_id=event_id, event_type="document.submitted"))
        row = (await session.execute(select(ProcessedEvent).where(ProcessedEvent.event_id == event_id))).scalar_one()
        assert row.event_type == "document.submitted"
        assert row.processed_at.tzinfo is not None


async def test_the_same_event_cannot_be_marked_processed_twice_by_one_consumer(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    event_id = str(uuid.uuid4())
    async with session_maker() as session, session.begin():
        session.add(ProcessedEvent(consumer="dedupe", event_id=event_id, event_type="pix.payment"))
    with pytest.raises(IntegrityError):
        async with session_maker() as session, session.begin():
            session.add(ProcessedEvent(consumer="dedupe", event_id=event_id, event_type="pix.payment"))
    # Another consumer may process the same event.
    async with session_maker() as session, session.begin():
        session.add(ProcessedEvent(consumer="bridge", event_id=event_id, event_type="pix.payment"))


async def test_an_outbox_row_is_unpublished_until_stamped(session_maker: async_sessionmaker[AsyncSession]) -> None:
    subject = f"application-{uuid.uuid4()}"
    async with session_maker() as session, session.begin():
        session.add(OutboxEvent(event_type="loan.submitted", subject=subject, payload={"amount": "1000.00"}))
    async with session_maker() as session:
        row = (await session.execute(select(OutboxEvent).where(OutboxEvent.subject == subject))).scalar_one()
    assert row.published_at is None
    assert isinstance(row.event_id, uuid.UUID)
    assert row.payload == {"amount": "1000.00"}


async def test_a_key_expires_in_redis(redis: aioredis.Redis) -> None:
    key = f"test:{uuid.uuid4()}"
    assert await redis.set(key, "1", px=200)
    assert 0 < await redis.pttl(key) <= 200
    for _ in range(100):
        if not await redis.exists(key):
            break
        await asyncio.sleep(0.05)
    assert await redis.exists(key) == 0
    assert await redis.pttl(key) == -2  # Redis: the key does not exist


async def test_a_workflow_runs_on_the_dev_server_through_the_project_worker(
    temporal_client: Client, worker: Worker, task_queue: str
) -> None:
    result = await temporal_client.execute_workflow(
        WorkerPingWorkflow.run,
        WorkerPingInput(requested_by="test"),
        id=f"ping-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    assert isinstance(result, WorkerPingResult)
    assert result.requested_by == "test"
    assert result.worker.task_queue == task_queue
    assert result.worker.pid > 0
