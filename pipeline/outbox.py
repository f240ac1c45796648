"""The outbox relay: committed ``outbox_events`` rows → ``lending.events.v1``, at least once, in order.

Whoever changes state adds the domain event in the same transaction (``storage.outbox.record_event``),
so an event exists exactly when its change was committed. The relay, in one PostgreSQL transaction
per round:

1. takes a transaction-scoped advisory lock, so one relay publishes at a time (another replica
   waits its turn: ordering per subject needs a single publisher);
2. reads the oldest unpublished rows in ``id`` order, locked;
3. produces them, keyed by subject, with an idempotent producer (order kept per partition even
   across retries), and waits for every acknowledgement;
4. stamps ``published_at`` and commits.

A crash after 3 and before 4 publishes those rows again next round, in the same order: consumers
see at least once, in order per subject, and dedupe on ``event_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.settings import Settings
from pipeline import metrics
from pipeline.errors import backoff_seconds, is_transient
from pipeline.events import EventEnvelope
from pipeline.kafka import idempotent_producer_config, is_fatal, kafka_error
from storage.models import OutboxEvent

log = structlog.get_logger(__name__)

OUTBOX_SOURCE = "lendflow"
OUTBOX_EVENT_VERSION = 1


def envelope_of(row: OutboxEvent) -> EventEnvelope:
    return EventEnvelope(
        event_id=row.event_id,
        type=row.event_type,
        version=OUTBOX_EVENT_VERSION,
        occurred_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),
        source=OUTBOX_SOURCE,
        subject=row.subject,
        data=row.payload,
    )


class OutboxRelay:
    name = "outbox"

    def __init__(self, settings: Settings, *, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self._sessions = session_maker
        self._producer = Producer(idempotent_producer_config(settings))
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("pipeline.stage_started", stage=self.name, topic=self.settings.kafka.topics.events)
        failures = 0
        try:
            while not stop.is_set():
                try:
                    published = await self.relay_once()
                    failures = 0
                except Exception as exc:
                    if not is_transient(exc) and not isinstance(exc, (RelayNotAcknowledged, KafkaException)):
                        raise
                    if _needs_new_producer(exc):
                        self._replace_producer(exc)
                    failures += 1
                    published = 0
                    log.warning("pipeline.outbox_retrying", error=str(exc)[:300], failures=failures)
                if published < self.settings.pipeline.outbox_batch_size:
                    delay = (
                        backoff_seconds(
                            failures,
                            base=self.settings.pipeline.retry_backoff_seconds,
                            maximum=self.settings.pipeline.retry_backoff_max_seconds,
                        )
                        if failures
                        else self.settings.pipeline.outbox_poll_seconds
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await asyncio.to_thread(self._producer.flush, 30)
            log.info("pipeline.stage_stopped", stage=self.name)

    async def relay_once(self) -> int:
        """Publish one round of unpublished rows; the number published (0 when another relay holds the lock)."""
        async with self._sessions() as session, session.begin():
            locked = await session.scalar(
                select(func.pg_try_advisory_xact_lock(self.settings.pipeline.outbox_lock_key))
            )
            if not locked:
                return 0
            rows = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self.settings.pipeline.outbox_batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return 0
            envelopes = [(row.subject, envelope_of(row)) for row in rows]
            await asyncio.to_thread(self._publish, envelopes)
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([row.id for row in rows]))
                .values(published_at=datetime.now(UTC))
            )
        for _, envelope in envelopes:
            metrics.OUTBOX_PUBLISHED.labels(envelope.type).inc()
        self.published += len(rows)
        log.info("pipeline.outbox_published", count=len(rows), last_id=rows[-1].id)
        return len(rows)

    def _replace_producer(self, exc: BaseException) -> None:
        """A fatal producer error (its idempotence state lost to a broker restart): the producer is
        of no more use. The round was rolled back; a new producer publishes it again."""
        log.warning("pipeline.kafka_client_replaced", stage=self.name, client="producer", error=str(exc)[:300])
        old, self._producer = self._producer, Producer(idempotent_producer_config(self.settings))
        try:
            old.purge()
            old.flush(0)
        except (KafkaException, RuntimeError):
            pass

    def _publish(self, envelopes: list[tuple[str, EventEnvelope]]) -> None:
        failures: list[str] = []
        fatal: list[KafkaError] = []

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(str(error))
                if is_fatal(error):
                    fatal.append(error)

        topic = self.settings.kafka.topics.events
        for subject, envelope in envelopes:
            while True:
                try:
                    self._producer.produce(
                        topic, key=subject.encode(), value=envelope.to_bytes(), on_delivery=on_delivery
                    )
                    break
                except BufferError:
                    self._producer.poll(0.1)
        remaining = self._producer.flush(30)
        if fatal:
            raise KafkaException(fatal[0])
        if remaining or failures:
            raise RelayNotAcknowledged(f"{len(failures)} failed, {remaining} unacknowledged: {failures[:3]}")


class RelayNotAcknowledged(Exception):
    """The broker did not acknowledge every row of a round; the round is rolled back and repeated."""


def _needs_new_producer(exc: BaseException) -> bool:
    error = kafka_error(exc) if isinstance(exc, KafkaException) else None
    return error is not None and is_fatal(error)
