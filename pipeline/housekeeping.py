"""Housekeeping: the pipeline's bookkeeping tables stop growing without end.

- ``processed_events``: one claim per event per stage, the backstop of the Redis dedupe marks. A claim
  older than ``pipeline.retention_days`` (30 by default) can no longer stop a duplicate that matters:
  the marks live a week (``redis.dedupe_ttl_seconds``), the input topics keep a week of messages, and
  the providers stop retrying a webhook within a day. Those claims are deleted.
- ``outbox_events``: rows published longer ago than the retention are deleted; the events themselves
  live on in ``lending.events.v1`` and downstream.
- ``refresh_tokens``: every log-in and every refresh adds a row. A row expired longer ago than the
  retention is deleted: an expired token is refused anyway, and its session's later tokens (which
  carry the replay detection) stay.

Never pruned: unpublished outbox rows, unmatched events (ops look at them), the ledger, the audit log.
Each batch is one short transaction under a transaction-scoped advisory lock, so one replica prunes
at a time and no batch holds row locks for long.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.settings import Settings
from pipeline import metrics
from pipeline.errors import backoff_seconds, is_transient
from storage.models import OutboxEvent, ProcessedEvent, RefreshToken

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Pruned:
    processed_events: int
    outbox_events: int
    refresh_tokens: int


class Housekeeping:
    name = "housekeeping"

    def __init__(self, settings: Settings, *, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self._sessions = session_maker

    async def run(self, stop: asyncio.Event) -> None:
        pipeline = self.settings.pipeline
        log.info("pipeline.stage_started", stage=self.name, retention_days=pipeline.retention_days)
        failures = 0
        while not stop.is_set():
            try:
                await self.prune_once()
                failures = 0
                delay = pipeline.prune_interval_seconds
            except Exception as exc:
                if not is_transient(exc):
                    raise
                failures += 1
                metrics.RETRIES.labels(self.name).inc()
                log.warning("pipeline.housekeeping_retrying", error=str(exc)[:300], failures=failures)
                delay = backoff_seconds(
                    failures, base=pipeline.retry_backoff_seconds, maximum=pipeline.retry_backoff_max_seconds
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        log.info("pipeline.stage_stopped", stage=self.name)

    async def prune_once(self, *, now: datetime | None = None) -> Pruned | None:
        """Delete what is past the retention, batch by batch; None when another replica is pruning."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.settings.pipeline.retention_days)
        claims = await self._prune(
            select(ProcessedEvent.id).where(ProcessedEvent.processed_at < cutoff).order_by(ProcessedEvent.id),
            ProcessedEvent,
        )
        if claims is None:
            return None
        published = await self._prune(
            select(OutboxEvent.id).where(OutboxEvent.published_at < cutoff).order_by(OutboxEvent.id), OutboxEvent
        )
        if published is None:
            return None
        expired = await self._prune(
            select(RefreshToken.id).where(RefreshToken.expires_at < cutoff).order_by(RefreshToken.expires_at),
            RefreshToken,
        )
        if expired is None:
            return None
        pruned = Pruned(processed_events=claims, outbox_events=published, refresh_tokens=expired)
        for table, count in pruned.__dict__.items():
            metrics.PRUNED.labels(table).inc(count)
        log.info("pipeline.pruned", cutoff=cutoff.isoformat(), **pruned.__dict__)
        return pruned

    async def _prune(
        self, old_ids: Select[Any], model: type[ProcessedEvent | OutboxEvent | RefreshToken]
    ) -> int | None:
        batch = self.settings.pipeline.prune_batch_size
        total = 0
        while True:
            async with self._sessions() as session, session.begin():
                if not await session.scalar(
                    select(func.pg_try_advisory_xact_lock(self.settings.pipeline.prune_lock_key))
                ):
                    return total or None  # another replica is pruning (or took over mid-way)
                result = await session.execute(
                    delete(model).where(model.id.in_(old_ids.limit(batch).scalar_subquery()))
                )
            deleted = cast(CursorResult[Any], result).rowcount  # a DELETE's result counts its rows
            total += deleted
            if deleted < batch:
                return total
