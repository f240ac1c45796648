"""The outbox relay publishes committed domain events at least once, in order per subject."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict

from pipeline_support import eventually, read_to_end
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.settings import Settings
from pipeline.outbox import OutboxRelay
from storage.models import OutboxEvent
from storage.outbox import record_event


async def test_outbox_rows_are_published_in_order_per_subject_and_stamped(
    pipeline_settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    subjects = [f"application-{uuid.uuid4()}" for _ in range(3)]
    written: dict[str, list[str]] = defaultdict(list)
    for step in range(20):
        # One transaction per state change, subjects interleaved.
        async with session_maker() as session, session.begin():
            subject = subjects[step % 3]
            event = record_event(session, "loan.status_changed", subject, {"step": step})
            await session.flush()
            written[subject].append(str(event.event_id))
    relays = [OutboxRelay(pipeline_settings, session_maker=session_maker) for _ in range(2)]

    async def stamped() -> bool:
        async with session_maker() as session:
            count = select(func.count()).where(OutboxEvent.subject.in_(subjects), OutboxEvent.published_at.is_not(None))
            return await session.scalar(count) == 20

    # Two relays at once: the advisory lock lets one publish at a time, so order holds.
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        # A row is stamped only once the broker acknowledged it: when all are, all were published.
        await eventually(stamped)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    records = await read_to_end(pipeline_settings, pipeline_settings.kafka.topics.events)

    published: dict[str, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        body = json.loads(record.value)
        if body["subject"] in subjects:
            assert record.key == body["subject"].encode()
            assert body["type"] == "loan.status_changed" and body["version"] == 1 and body["source"] == "lendflow"
            published[body["subject"]].append(body["event_id"])
    assert published == written
    async with session_maker() as session:
        stamps = (
            await session.scalars(select(OutboxEvent.published_at).where(OutboxEvent.subject.in_(subjects)))
        ).all()
    assert len(stamps) == 20 and all(stamp is not None for stamp in stamps)


async def test_rows_published_but_not_stamped_before_a_crash_are_published_again_in_order(
    pipeline_settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    subject = f"application-{uuid.uuid4()}"
    async with session_maker() as session, session.begin():
        rows = [record_event(session, "loan.disbursed", subject, {"n": n}) for n in range(3)]
    relay = OutboxRelay(pipeline_settings, session_maker=session_maker)
    await relay.relay_once()
    # As if the relay died after the broker acknowledged and before the stamp committed.
    async with session_maker() as session, session.begin():
        await session.execute(update(OutboxEvent).where(OutboxEvent.subject == subject).values(published_at=None))
    await relay.relay_once()
    await asyncio.to_thread(relay._producer.flush, 10)

    # Each round returned once the broker had acknowledged its rows: the topic holds all there is.
    records = await read_to_end(pipeline_settings, pipeline_settings.kafka.topics.events)
    mine = [
        json.loads(r.value)["event_id"] for r in sorted(records, key=lambda r: r.offset) if r.key == subject.encode()
    ]
    ids = [str(row.event_id) for row in rows]
    assert mine == ids + ids  # at least once, and in order both times
