"""Housekeeping deletes dedupe claims, published outbox rows and refresh tokens past the retention, and nothing else."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import eventually

from lendflow.settings import Settings
from pipeline.housekeeping import Housekeeping
from pipeline.runner import PipelineParts, build_stages
from storage.models import OutboxEvent, ProcessedEvent, RefreshToken

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


def _settings(settings: Settings, **pipeline: object) -> Settings:
    # A lock key of this test's own: no other pruner in the session waits on it.
    update = {"prune_lock_key": random.randint(6_000_000, 7_000_000), **pipeline}
    return settings.model_copy(update={"pipeline": settings.pipeline.model_copy(update=update)})


async def _seed(sessions: async_sessionmaker[AsyncSession], consumer: str, *, old_claims: int = 3) -> None:
    async with sessions() as session, session.begin():
        for i in range(old_claims):
            session.add(ProcessedEvent(consumer=consumer, event_id=f"old-{i}", event_type="t", processed_at=OLD))
        session.add(ProcessedEvent(consumer=consumer, event_id="recent", event_type="t", processed_at=RECENT))
        for subject, created, published in [
            ("old-published", OLD, OLD),
            ("recent-published", OLD, RECENT),
            ("old-unpublished", OLD, None),
        ]:
            session.add(
                OutboxEvent(
                    event_type="t",
                    subject=f"{consumer}:{subject}",
                    payload={},
                    created_at=created,
                    published_at=published,
                )
            )


async def _left(sessions: async_sessionmaker[AsyncSession], consumer: str) -> tuple[list[str], list[str]]:
    async with sessions() as session:
        claims = await session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == consumer).order_by(ProcessedEvent.event_id)
        )
        outbox = await session.scalars(
            select(OutboxEvent.subject)
            .where(OutboxEvent.subject.startswith(f"{consumer}:"))
            .order_by(OutboxEvent.subject)
        )
        return list(claims), [s.split(":", 1)[1] for s in outbox]


async def test_what_is_past_the_retention_goes_and_the_rest_stays(
    settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    consumer = f"hk-{uuid.uuid4().hex[:8]}"
    await _seed(session_maker, consumer)

    pruned = await Housekeeping(_settings(settings), session_maker=session_maker).prune_once(now=NOW)

    assert pruned is not None
    assert pruned.processed_events >= 3 and pruned.outbox_events >= 1
    claims, outbox = await _left(session_maker, consumer)
    assert claims == ["recent"]
    # Unpublished rows stay whatever their age: the relay has not delivered them yet.
    assert outbox == ["old-unpublished", "recent-published"]


async def test_refresh_tokens_long_expired_go_and_the_others_stay(
    settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    family = uuid.uuid4()
    async with session_maker() as session, session.begin():
        for label, expires in [("long-expired", OLD), ("lately-expired", RECENT), ("live", NOW + timedelta(days=1))]:
            session.add(
                RefreshToken(
                    family_id=family,
                    subject_kind="customer",
                    subject_id=uuid.uuid4(),
                    token_hash=hashlib.sha256(f"{family}:{label}".encode()).hexdigest(),
                    expires_at=expires,
                )
            )

    pruned = await Housekeeping(_settings(settings), session_maker=session_maker).prune_once(now=NOW)

    assert pruned is not None and pruned.refresh_tokens >= 1
    async with session_maker() as session:
        left = set(await session.scalars(select(RefreshToken.expires_at).where(RefreshToken.family_id == family)))
    assert left == {RECENT, NOW + timedelta(days=1)}


async def test_it_deletes_in_batches_until_nothing_old_is_left(
    settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    consumer = f"hk-{uuid.uuid4().hex[:8]}"
    await _seed(session_maker, consumer, old_claims=7)

    pruned = await Housekeeping(_settings(settings, prune_batch_size=2), session_maker=session_maker).prune_once(
        now=NOW
    )

    assert pruned is not None and pruned.processed_events >= 7
    assert (await _left(session_maker, consumer))[0] == ["recent"]


async def test_one_replica_prunes_at_a_time(
    settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    consumer = f"hk-{uuid.uuid4().hex[:8]}"
    await _seed(session_maker, consumer)
    hk_settings = _settings(settings)

    async with session_maker() as other, other.begin():  # another replica, mid-prune
        assert await other.scalar(select(func.pg_try_advisory_xact_lock(hk_settings.pipeline.prune_lock_key)))
        pruned = await Housekeeping(hk_settings, session_maker=session_maker).prune_once(now=NOW)

    assert pruned is None
    assert len((await _left(session_maker, consumer))[0]) == 4


@pytest.mark.timeout(60)
async def test_the_pipeline_runs_it_as_a_stage(
    settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    consumer = f"hk-{uuid.uuid4().hex[:8]}"
    await _seed(session_maker, consumer)
    parts = PipelineParts(settings=_settings(settings), sessions=session_maker, redis=None)  # type: ignore[arg-type]
    [stage] = build_stages(parts, ["prune"])
    stop = asyncio.Event()
    task = asyncio.create_task(stage.run(stop))
    try:
        await eventually(lambda: _left(session_maker, consumer), lambda left: left[0] == ["recent"], timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
