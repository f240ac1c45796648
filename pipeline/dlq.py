"""Dead letters: how a stage writes one, and how ops read and replay them (`lendflow dlq`).

A dead letter is the original message — key and value byte for byte, and its own headers — plus
headers that say which stage gave up on it, the error's class and message, the attempt, and where
it came from. A replay re-produces the original bytes to the incoming topic with the attempt
raised by one; the pipeline lets an event through again only with a higher attempt than the one it
saw, so replaying the same letter twice applies it once. Each replay is recorded in
``dead_letter_replays`` (unique per letter), and a letter whose attempt reached
``pipeline.max_attempts`` is not replayed again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from confluent_kafka import KafkaError, Message, Producer, TopicPartition
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lendflow.logging import mask_cpfs
from lendflow.settings import Settings
from pipeline import metrics
from pipeline.kafka import (
    ATTEMPT_HEADER,
    DLQ_ATTEMPT,
    DLQ_ERROR_CLASS,
    DLQ_ERROR_MESSAGE,
    DLQ_EVENT_ID,
    DLQ_EVENT_TYPE,
    DLQ_FAILED_AT,
    DLQ_SOURCE_OFFSET,
    DLQ_SOURCE_PARTITION,
    DLQ_SOURCE_TOPIC,
    DLQ_STAGE,
    Headers,
    headers_of,
    idempotent_producer_config,
    position,
    read_committed,
    reader,
    watermarks,
)
from storage.models import DeadLetterReplay

log = structlog.get_logger(__name__)

MAX_ERROR_MESSAGE = 1000


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: Headers


def dead_letter(
    message: Message,
    *,
    stage: str,
    error: BaseException,
    attempt: int,
    event_id: str | None = None,
    event_type: str | None = None,
) -> DeadLetter:
    """The letter for ``message``: its bytes untouched, the error in the headers."""
    original = [(k, v) for k, v in headers_of(message) if not k.startswith("lendflow-dlq-")]
    topic, partition, offset = position(message)
    text = mask_cpfs(str(error))[:MAX_ERROR_MESSAGE]
    headers: Headers = [
        *original,
        (DLQ_STAGE, stage.encode()),
        (DLQ_ERROR_CLASS, type(error).__name__.encode()),
        (DLQ_ERROR_MESSAGE, text.encode()),
        (DLQ_ATTEMPT, str(attempt).encode()),
        (DLQ_SOURCE_TOPIC, topic.encode()),
        (DLQ_SOURCE_PARTITION, str(partition).encode()),
        (DLQ_SOURCE_OFFSET, str(offset).encode()),
        (DLQ_FAILED_AT, datetime.now(UTC).isoformat().encode()),
    ]
    if event_id:
        headers.append((DLQ_EVENT_ID, event_id.encode()))
    if event_type:
        headers.append((DLQ_EVENT_TYPE, event_type.encode()))
    return DeadLetter(key=message.key(), value=message.value(), headers=headers)


@dataclass(frozen=True)
class Letter:
    """A dead letter as read back from the DLQ topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def letter_id(self) -> str:
        return f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode("utf-8", "replace")
        return None

    @property
    def stage(self) -> str | None:
        return self.header(DLQ_STAGE)

    @property
    def error_class(self) -> str | None:
        return self.header(DLQ_ERROR_CLASS)

    @property
    def error_message(self) -> str | None:
        return self.header(DLQ_ERROR_MESSAGE)

    @property
    def attempt(self) -> int:
        raw = self.header(DLQ_ATTEMPT)
        return int(raw) if raw and raw.isdigit() else 1

    @property
    def event_id(self) -> str | None:
        return self.header(DLQ_EVENT_ID)

    @property
    def event_type(self) -> str | None:
        return self.header(DLQ_EVENT_TYPE)

    @property
    def failed_at(self) -> str | None:
        return self.header(DLQ_FAILED_AT)

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith("lendflow-dlq-") and k != ATTEMPT_HEADER]


def parse_letter_id(text: str) -> tuple[int, int]:
    """``"3:120"`` → (partition 3, offset 120)."""
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise ValueError(f"a letter is PARTITION:OFFSET, not {text!r}")
    return int(partition), int(offset)


def _letter(message: Message) -> Letter:
    topic, partition, offset = position(message)
    return Letter(
        topic=topic,
        partition=partition,
        offset=offset,
        key=message.key(),
        value=message.value(),
        headers=tuple((k, v.encode() if isinstance(v, str) else v or b"") for k, v in headers_of(message)),
    )


def read_letters(settings: Settings, *, limit: int | None = None, timeout: float = 10.0) -> list[Letter]:
    """Every dead letter now in the DLQ (oldest first per partition), up to ``limit``."""
    messages = read_committed(
        settings.kafka.bootstrap_servers, settings.kafka.topics.dlq, purpose="dlq-reader", limit=limit, timeout=timeout
    )
    return [_letter(message) for message in messages]


@dataclass(frozen=True)
class LetterPosition:
    """Where a listing of the DLQ goes on: ``offset`` is the next one to read in ``partition``."""

    partition: int
    offset: int


@dataclass(frozen=True)
class LetterPage:
    """One page of dead letters, in (partition, offset) order.

    ``resume_at`` is where the next page starts, or None once every partition was read to the end
    it had when the reader reached it (its last stable offset: a transaction still open shows only
    once it commits). ``partial`` says the scan ran out of its time budget before it could fill the
    page or reach the end: letters may follow ``resume_at`` that this page could not reach.
    """

    letters: list[Letter]
    resume_at: LetterPosition | None
    partial: bool


def read_letter_page(
    settings: Settings,
    *,
    start: LetterPosition | None,
    limit: int,
    budget_seconds: float = 10.0,
    timeout: float = 10.0,
) -> LetterPage:
    """Up to ``limit`` dead letters from ``start`` (the beginning when None), partition by partition.

    Each partition is read from its position (seek, then read) until the page holds ``limit + 1``
    letters; the extra one only says where the next page starts. So a page costs at most
    ``limit + 1`` messages wherever it starts, and every letter is reachable by following pages.
    Offsets below a partition's low watermark are gone (retention) and skipped.
    """
    topic = settings.kafka.topics.dlq
    consumer = reader(settings.kafka.bootstrap_servers, purpose="dlq-reader")
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or (metadata.error is not None and not metadata.partitions):
            return LetterPage([], None, partial=False)
        deadline = time.monotonic() + budget_seconds
        found: list[Letter] = []
        for partition in sorted(p for p in metadata.partitions if start is None or p >= start.partition):
            first = start.offset if start is not None and partition == start.partition else 0
            if time.monotonic() >= deadline:
                return LetterPage(found, LetterPosition(partition, first), partial=True)
            low, high = watermarks(consumer, TopicPartition(topic, partition), timeout)
            next_offset = max(low, first)
            if next_offset >= high:
                continue
            consumer.assign([TopicPartition(topic, partition, next_offset)])
            while next_offset < high:
                if time.monotonic() >= deadline:
                    return LetterPage(found, LetterPosition(partition, next_offset), partial=True)
                message = consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
                if message is None:
                    # Read-committed: offsets of transaction markers and aborted messages never
                    # surface; the consumer's position moves past them.
                    [reached] = consumer.position([TopicPartition(topic, partition)])
                    next_offset = max(next_offset, reached.offset)
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        log.warning("pipeline.dlq_read_error", partition=partition, error=str(error))
                    continue
                _, of_partition, offset = position(message)
                if of_partition != partition:  # fetched before the assignment moved on
                    continue
                if len(found) == limit:
                    return LetterPage(found, LetterPosition(partition, offset), partial=False)
                found.append(_letter(message))
                next_offset = offset + 1
        return LetterPage(found, None, partial=False)
    finally:
        consumer.close()


def read_letter(settings: Settings, partition: int, offset: int, *, timeout: float = 10.0) -> Letter | None:
    topic = settings.kafka.topics.dlq
    consumer = reader(settings.kafka.bootstrap_servers, purpose="dlq-reader")
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or partition not in metadata.partitions:
            return None
        low, high = watermarks(consumer, TopicPartition(topic, partition), timeout)
        if not low <= offset < high:
            return None
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return None
                continue
            return _letter(message) if message.offset() == offset else None
        return None
    finally:
        consumer.close()


@dataclass(frozen=True)
class ReplayOutcome:
    letter: Letter
    status: str  # replayed | already_replayed | attempts_exhausted
    attempt: int


class DeadLetterReplayer:
    """Re-produces dead letters to the incoming topic, recording each replay."""

    def __init__(self, settings: Settings, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self._sessions = session_maker

    async def replay(self, letters: Sequence[Letter], *, force: bool = False) -> list[ReplayOutcome]:
        outcomes: list[ReplayOutcome] = []
        pending: list[tuple[Letter, int]] = []
        for letter in letters[: self.settings.pipeline.replay_limit]:
            if letter.attempt >= self.settings.pipeline.max_attempts:
                outcomes.append(ReplayOutcome(letter, "attempts_exhausted", letter.attempt))
            else:
                pending.append((letter, letter.attempt + 1))
        if not pending:
            return outcomes
        incoming = self.settings.kafka.topics.incoming
        async with self._sessions() as session, session.begin():
            to_send: list[tuple[Letter, int]] = []
            for letter, attempt in pending:
                statement = (
                    insert(DeadLetterReplay)
                    .values(
                        dlq_topic=letter.topic,
                        dlq_partition=letter.partition,
                        dlq_offset=letter.offset,
                        event_id=letter.event_id,
                        event_type=letter.event_type,
                        attempt=attempt,
                        replayed_to=incoming,
                    )
                    .on_conflict_do_nothing(constraint="uq_dead_letter_replays_letter")
                    .returning(DeadLetterReplay.id)
                )
                recorded = (await session.execute(statement)).scalar_one_or_none()
                if recorded is None and not force:
                    outcomes.append(ReplayOutcome(letter, "already_replayed", attempt))
                else:
                    to_send.append((letter, attempt))
            # The rows commit only once the broker acknowledged every replay.
            await asyncio.to_thread(self._produce, incoming, to_send)
        for letter, attempt in to_send:
            outcomes.append(ReplayOutcome(letter, "replayed", attempt))
            metrics.REPLAYED.labels(letter.event_type or "unknown").inc()
            log.info(
                "pipeline.dead_letter_replayed",
                letter=letter.letter_id,
                event_id=letter.event_id,
                event_type=letter.event_type,
                attempt=attempt,
            )
        return outcomes

    def _produce(self, topic: str, letters: Sequence[tuple[Letter, int]]) -> None:
        if not letters:
            return
        failures: list[str] = []

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(str(error))

        producer = Producer(idempotent_producer_config(self.settings))
        for letter, attempt in letters:
            producer.produce(
                topic,
                key=letter.key,
                value=letter.value,
                headers=[*letter.original_headers, (ATTEMPT_HEADER, str(attempt).encode())],
                on_delivery=on_delivery,
            )
        remaining = producer.flush(30)
        if remaining or failures:
            raise RuntimeError(f"replay not acknowledged by the broker: {failures or f'{remaining} in flight'}")
