"""Deduplication on real Redis and PostgreSQL: duplicates are applied once, also when Redis lost its
data, and a claim left by a crash is redone by the message that owns it.

A duplicate shows as something that did not happen, so no test waits a while and looks: each waits
for the stage's consumer group to have committed past every message it was given (the Kafka admin
API lists committed offsets; a stage commits them in the transaction of its outputs), and then reads
the output topic to its end. Whatever the stage was going to write for those messages is there.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from pipeline_support import (
    LenderRecords,
    TcpProxy,
    charge_paid,
    committed_offsets,
    event_ids,
    eventually,
    read,
    read_to_end,
    redis_url_with_db,
    running,
    validated_and_trusted,
    validated_only,
)
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.settings import Settings
from pipeline.events import EventEnvelope
from pipeline.intake import EventProducer
from pipeline.runner import PipelineParts
from storage.models import ProcessedEvent


def _deduplicated(stage: str, event_type: str = "pix.charge.paid") -> float:
    labels = {"stage": stage, "event_type": event_type}
    return REGISTRY.get_sample_value("lendflow_pipeline_deduplicated_total", labels) or 0.0


async def test_a_duplicate_delivery_is_applied_once(
    parts: PipelineParts, pipeline_settings: Settings, producer: EventProducer, records: LenderRecords
) -> None:
    application = await records.application(status="disbursed")
    charge = await records.charge(application)
    first = charge_paid(charge, delivery_id="evt_1")
    # The provider delivered the same webhook again, and our intake gave it a new event id.
    same_delivery = first.model_copy(update={"event_id": charge_paid(charge).event_id})
    other = charge_paid(charge)
    dedupe_before = _deduplicated("validation")

    for event in (first, first, same_delivery, other, first):
        await producer.publish(event)
    async with running(parts, "validation", "trusted"):
        validated, trusted = await validated_and_trusted(pipeline_settings)
        # The same event again, later, in a batch of its own: Redis knows it by now.
        await producer.publish(first)
        validated_after, trusted_after = await validated_and_trusted(pipeline_settings)

    applied_once = sorted([str(first.event_id), str(other.event_id)])
    assert sorted(event_ids(validated)) == sorted(event_ids(trusted)) == applied_once
    assert sorted(event_ids(validated_after)) == sorted(event_ids(trusted_after)) == applied_once
    assert _deduplicated("validation") - dedupe_before == 4


async def test_flushing_redis_mid_stream_lets_no_duplicate_through(
    parts: PipelineParts,
    pipeline_settings: Settings,
    pipeline_redis: aioredis.Redis,
    producer: EventProducer,
    records: LenderRecords,
) -> None:
    topics = pipeline_settings.kafka.topics
    application = await records.application(status="disbursed")
    charge = await records.charge(application)
    first_half = [charge_paid(charge) for _ in range(150)]
    second_half = [charge_paid(charge) for _ in range(150)]

    async with running(parts, "validation", "trusted"):
        for event in first_half:
            await producer.publish(event)
        await read(pipeline_settings, topics.trusted, until=len(first_half))
        assert await pipeline_redis.dbsize() > 0  # the marks are there…
        await pipeline_redis.flushdb()  # …and Redis loses them all
        assert await pipeline_redis.dbsize() == 0
        # Every event of the first half comes again, mixed with new ones.
        for old, new in zip(first_half, second_half, strict=True):
            await producer.publish(old)
            await producer.publish(new)
        validated, trusted = await validated_and_trusted(pipeline_settings)

    expected = sorted(str(e.event_id) for e in first_half + second_half)
    assert sorted(event_ids(trusted)) == expected
    assert sorted(event_ids(validated)) == expected
    assert await pipeline_redis.dbsize() > 0  # Redis is in use again after the flush


async def test_a_claim_left_by_a_crash_is_redone_by_the_message_that_owns_it(
    parts: PipelineParts,
    pipeline_settings: Settings,
    producer: EventProducer,
    records: LenderRecords,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    """The crash window between the PostgreSQL claim and the Kafka commit: the claim exists, the
    output and the offset do not. The owner redoes it; a later copy is still a duplicate."""
    topics = pipeline_settings.kafka.topics
    application = await records.application(status="disbursed")
    charge = await records.charge(application)
    crashed = charge_paid(charge)
    await producer.publish(crashed)
    await producer.publish(crashed)  # a copy, at a later offset of the same partition
    incoming = await read(pipeline_settings, topics.incoming, until=2)
    owner = min(incoming, key=lambda r: r.offset)
    async with session_maker() as session, session.begin():
        session.add(
            ProcessedEvent(
                consumer=pipeline_settings.pipeline.groups.validation,
                event_id=str(crashed.event_id),
                event_type=crashed.type,
                attempt=1,
                outcome="validated",
                source_partition=owner.partition,
                source_offset=owner.offset,
            )
        )

    async with running(parts, "validation"):
        validated = await validated_only(pipeline_settings)

    assert event_ids(validated) == [str(crashed.event_id)]


async def test_a_claim_of_another_position_is_a_duplicate_when_redis_knows_nothing(
    parts: PipelineParts,
    pipeline_settings: Settings,
    producer: EventProducer,
    records: LenderRecords,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    application = await records.application(status="disbursed")
    charge = await records.charge(application)
    done_elsewhere, fresh = charge_paid(charge), charge_paid(charge)
    async with session_maker() as session, session.begin():
        session.add(
            ProcessedEvent(
                consumer=pipeline_settings.pipeline.groups.validation,
                event_id=str(done_elsewhere.event_id),
                event_type=done_elsewhere.type,
                attempt=1,
                outcome="validated",
                source_partition=0,
                source_offset=10**9,
            )
        )
    for event in (done_elsewhere, fresh):
        await producer.publish(event)

    async with running(parts, "validation"):
        validated = await validated_only(pipeline_settings)

    assert event_ids(validated) == [str(fresh.event_id)]
    async with session_maker() as session:
        claims = (
            await session.scalars(
                select(ProcessedEvent).where(
                    ProcessedEvent.consumer == pipeline_settings.pipeline.groups.validation,
                    ProcessedEvent.event_id.in_([str(done_elsewhere.event_id), str(fresh.event_id)]),
                )
            )
        ).all()
    by_event = {claim.event_id: claim for claim in claims}
    assert by_event[str(done_elsewhere.event_id)].source_offset == 10**9  # untouched
    assert by_event[str(fresh.event_id)].outcome == "validated"


async def test_redis_down_is_retried_with_backoff_not_dead_lettered(
    parts: PipelineParts, pipeline_settings: Settings, producer: EventProducer, records: LenderRecords
) -> None:
    topics, groups = pipeline_settings.kafka.topics, pipeline_settings.pipeline.groups
    redis_url = urlsplit(pipeline_settings.redis.url.get_secret_value())
    proxy = TcpProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    unreachable = aioredis.from_url(
        redis_url_with_db(f"redis://127.0.0.1:{proxy.port}/0", int(redis_url.path.lstrip("/") or 0)),
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
    )
    parts.redis = unreachable
    application = await records.application(status="disbursed")
    charge = await records.charge(application)
    event: EventEnvelope = charge_paid(charge)
    retries_before = REGISTRY.get_sample_value("lendflow_pipeline_batch_retries_total", {"stage": "validation"}) or 0

    def retries() -> float:
        value = REGISTRY.get_sample_value("lendflow_pipeline_batch_retries_total", {"stage": "validation"})
        return (value or 0) - retries_before

    try:
        async with running(parts, "validation"):
            await producer.publish(event)
            # Redis is down all along: the stage has tried the batch and backed off, twice.
            await eventually(lambda: retries() >= 2, timeout=30)
            committed_while_down = committed_offsets(pipeline_settings, groups.validation, topics.incoming)
            nothing_yet = await read_to_end(pipeline_settings, topics.validated)
            letters_while_down = await read_to_end(pipeline_settings, topics.dlq)
            await proxy.up()
            validated = await validated_only(pipeline_settings)
            letters = await read_to_end(pipeline_settings, topics.dlq)
    finally:
        await proxy.down()
        await unreachable.aclose()

    # Nothing decided while Redis was away: no offset committed, no output, no dead letter.
    assert committed_while_down == {}
    assert nothing_yet == [] and letters_while_down == []
    assert event_ids(validated) == [str(event.event_id)]
    assert letters == []
    assert Counter(event_ids(validated))[str(event.event_id)] == 1
