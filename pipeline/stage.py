"""The consume → decide → produce loop shared by the validation and trusted stages.

One batch at a time: poll up to ``pipeline.batch_size`` messages, drop duplicates (Redis, then
PostgreSQL claims; see :mod:`pipeline.dedupe`), let the stage decide each survivor's output, then
produce the outputs and commit the input offsets in one Kafka transaction. A transient failure
aborts the batch, rewinds the consumer to the batch's first offsets and retries with backoff.

Blocking librdkafka calls run in worker threads (``asyncio.to_thread``), one at a time per stage,
so the event loop stays free for the database, Redis and the other stages of the process.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from lendflow.settings import Settings
from pipeline import metrics
from pipeline.dedupe import Claim, DedupeLedger, delivery_key, event_key
from pipeline.dlq import DeadLetter, dead_letter
from pipeline.errors import TransactionAborted, TransientFailure, backoff_seconds, transient_as_failure
from pipeline.events import EventEnvelope, EventRejected, parse_envelope
from pipeline.kafka import (
    ATTEMPT_HEADER,
    DLQ_ERROR_CLASS,
    attempt_of,
    consumer_config,
    first_offsets,
    instance_id,
    is_fatal,
    kafka_error,
    next_offsets,
    transactional_producer_config,
)

log = structlog.get_logger(__name__)

KAFKA_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class Item:
    """One consumed message on its way through a batch."""

    message: Message
    attempt: int
    envelope: EventEnvelope | None = None
    rejection: Exception | None = None
    claim: Claim | None = None
    outputs: list[Output] = field(default_factory=list)
    outcome: str | None = None

    @property
    def event_type(self) -> str:
        return self.envelope.type if self.envelope else "unknown"


class ConsumingStage(ABC):
    """A stage that reads one topic in batches, retrying a batch after a transient failure."""

    name: str
    input_topic: str

    def __init__(self, settings: Settings, *, group_id: str, ledger: DedupeLedger, worker: int = 0) -> None:
        self.settings = settings
        self.group_id = group_id
        self.ledger = ledger
        # This consumer's name in its group, stable across restarts (static membership, fencing).
        self._member = f"{instance_id(settings)}-{worker}"
        self._consumer: Consumer | None = None
        self.batches_committed = 0

    @abstractmethod
    async def _handle(self, messages: list[Message]) -> None:
        """Make the batch's effect durable and commit its offsets; raise TransientFailure to retry."""

    # --- The loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self._open)
        log.info("pipeline.stage_started", stage=self.name, group=self.group_id, topic=self.input_topic)
        failures = 0
        try:
            while not stop.is_set():
                messages = await asyncio.to_thread(self._poll)
                if not messages:
                    continue
                try:
                    await self._handle(messages)
                    failures = 0
                except TransientFailure as exc:
                    failures += 1
                    delay = backoff_seconds(
                        failures,
                        base=self.settings.pipeline.retry_backoff_seconds,
                        maximum=self.settings.pipeline.retry_backoff_max_seconds,
                    )
                    metrics.RETRIES.labels(self.name).inc()
                    log.warning(
                        "pipeline.batch_retrying",
                        stage=self.name,
                        error_class=type(exc.__cause__ or exc).__name__,
                        error=str(exc.__cause__ or exc)[:300],
                        failures=failures,
                        retry_in_seconds=delay,
                    )
                    await asyncio.to_thread(self._rewind, messages)
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                    except TimeoutError:
                        pass
        finally:
            await asyncio.to_thread(self._close)
            log.info("pipeline.stage_stopped", stage=self.name, group=self.group_id)

    # --- librdkafka, in worker threads ---------------------------------------------------------

    def _open(self) -> None:
        self._consumer = Consumer(consumer_config(self.settings, self.group_id, member=self._member))
        self._consumer.subscribe([self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("pipeline.partitions_assigned", stage=self.name, partitions=[p.partition for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Batches finish (committed in their transaction, or aborted and rewound) before the next
        # poll, and rebalances happen only inside a poll: nothing done is left uncommitted here.
        log.info("pipeline.partitions_revoked", stage=self.name, partitions=[p.partition for p in partitions])

    def _poll(self) -> list[Message]:
        assert self._consumer is not None
        messages = self._consumer.consume(
            num_messages=self.settings.pipeline.batch_size, timeout=self.settings.pipeline.poll_timeout_seconds
        )
        good = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.fatal():
                raise KafkaException(error)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("pipeline.consume_error", stage=self.name, error=str(error))
        self._record_lag()
        return good

    def _record_lag(self) -> None:
        assert self._consumer is not None
        try:
            assignment = self._consumer.assignment()
            if not assignment:
                return
            positions = self._consumer.position(assignment)
            for tp in positions:
                _, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high >= 0 and tp.offset >= 0:
                    metrics.CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(max(0, high - tp.offset))
        except KafkaException:
            pass

    def _rewind(self, messages: list[Message]) -> None:
        assert self._consumer is not None
        assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        for tp in first_offsets(messages):
            if (tp.topic, tp.partition) in assigned:
                try:
                    self._consumer.seek(tp)
                except KafkaException as exc:
                    log.warning("pipeline.rewind_failed", stage=self.name, partition=tp.partition, error=str(exc))

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class TransactionalStage(ConsumingStage):
    """A stage that reads one topic and writes others, exactly once per input message."""

    # Whether a provider's delivery id is a dedupe key too. Only the first stage needs it: it turns
    # a redelivered webhook into one event, and from there on the event id says it all.
    dedupe_by_delivery = False

    def __init__(self, settings: Settings, *, group_id: str, ledger: DedupeLedger, worker: int = 0) -> None:
        super().__init__(settings, group_id=group_id, ledger=ledger, worker=worker)
        self._producer: Producer | None = None

    # --- What a stage decides ------------------------------------------------------------------

    @abstractmethod
    async def decide(self, items: Sequence[Item]) -> None:
        """Give every item its outputs and outcome; raise only for transient failures."""

    def output(self, topic: str, item: Item, value: bytes) -> Output:
        return Output(
            topic=topic,
            key=item.message.key(),
            value=value,
            headers=[(ATTEMPT_HEADER, str(item.attempt).encode())],
        )

    def reject(self, item: Item, error: Exception) -> None:
        """Send the item's original bytes to the DLQ with the error in the headers."""
        letter: DeadLetter = dead_letter(
            item.message,
            stage=self.name,
            error=error,
            attempt=item.attempt,
            event_id=str(item.envelope.event_id) if item.envelope else None,
            event_type=item.envelope.type if item.envelope else None,
        )
        item.outputs = [Output(self.settings.kafka.topics.dlq, letter.key, letter.value, letter.headers)]
        item.outcome = "dead_lettered"
        log.warning(
            "pipeline.dead_lettered",
            stage=self.name,
            event_id=str(item.envelope.event_id) if item.envelope else None,
            event_type=item.event_type,
            error_class=type(error).__name__,
            error=str(error)[:300],
            partition=item.message.partition(),
            offset=item.message.offset(),
            attempt=item.attempt,
        )

    def counted(self, item: Item) -> None:
        """Count an item's outcome once its batch committed."""
        if item.outcome == "dead_lettered":
            error_class = next(
                (v.decode() for k, v in item.outputs[0].headers if k == DLQ_ERROR_CLASS), "unknown"
            )
            metrics.DEAD_LETTERED.labels(self.name, item.event_type, error_class).inc()

    async def _handle(self, messages: list[Message]) -> None:
        items = [self._read(message) for message in messages]
        with transient_as_failure():
            with_claims = [item for item in items if item.claim is not None]
            _, duplicates = await self.ledger.screen([item.claim for item in with_claims])  # type: ignore[misc]
            dropped = {id(claim) for claim in duplicates}
            live = [item for item in items if item.claim is None or id(item.claim) not in dropped]
            for item in live:
                if item.rejection is not None:
                    self.reject(item, item.rejection)
            await self.decide([item for item in live if item.rejection is None])
            for item in live:
                if item.claim is not None:
                    item.claim.outcome = item.outcome
            admitted, late_duplicates = await self.ledger.claim([i.claim for i in live if i.claim is not None])
            dropped |= {id(claim) for claim in late_duplicates}
        done = [item for item in items if item.claim is None or id(item.claim) not in dropped]
        outputs = [output for item in done for output in item.outputs]
        await asyncio.to_thread(self._commit, outputs, next_offsets(messages))
        self.batches_committed += 1
        for item in items:
            metrics.CONSUMED.labels(self.name, item.event_type).inc()
            if item.claim is not None and id(item.claim) in dropped:
                metrics.DEDUPLICATED.labels(self.name, item.event_type).inc()
                log.info(
                    "pipeline.deduplicated",
                    stage=self.name,
                    event_id=str(item.envelope.event_id) if item.envelope else None,
                    event_type=item.event_type,
                    reason=item.claim.duplicate_of,
                )
            else:
                self.counted(item)
        try:
            await self.ledger.confirm(admitted)
        except Exception as exc:  # the effect is durable; PostgreSQL claims cover the missing marks
            log.warning("pipeline.marks_not_confirmed", stage=self.name, error=str(exc)[:300])

    def _read(self, message: Message) -> Item:
        item = Item(message=message, attempt=attempt_of(message))
        try:
            item.envelope = parse_envelope(message.value())
        except EventRejected as exc:
            item.rejection = exc
            return item
        keys = [event_key(item.envelope.event_id)]
        if item.envelope.delivery_id and self.dedupe_by_delivery:
            keys.append(delivery_key(item.envelope.source, item.envelope.delivery_id))
        item.claim = Claim(
            keys=tuple(keys),
            event_type=item.envelope.type,
            attempt=item.attempt,
            partition=message.partition(),
            offset=message.offset(),
        )
        return item

    def _open(self) -> None:
        self._producer = Producer(
            transactional_producer_config(self.settings, f"{self.group_id}.{self._member}")
        )
        self._producer.init_transactions(KAFKA_TIMEOUT_SECONDS)
        super()._open()

    def _close(self) -> None:
        super()._close()
        if self._producer is not None:
            self._producer.flush(KAFKA_TIMEOUT_SECONDS)
            self._producer = None

    def _commit(self, outputs: list[Output], offsets: list[TopicPartition]) -> None:
        assert self._producer is not None and self._consumer is not None
        producer = self._producer
        producer.begin_transaction()
        try:
            for output in outputs:
                self._produce(output)
            producer.send_offsets_to_transaction(
                offsets, self._consumer.consumer_group_metadata(), KAFKA_TIMEOUT_SECONDS
            )
            deadline = time.monotonic() + KAFKA_TIMEOUT_SECONDS
            while True:
                try:
                    producer.commit_transaction(KAFKA_TIMEOUT_SECONDS)
                    return
                except KafkaException as exc:
                    error = kafka_error(exc)
                    if error is not None and error.retriable() and time.monotonic() < deadline:
                        continue
                    raise
        except KafkaException as exc:
            error = kafka_error(exc)
            if error is not None and error.txn_requires_abort() and not is_fatal(error):
                producer.abort_transaction(KAFKA_TIMEOUT_SECONDS)
                raise TransactionAborted(str(error)) from exc
            raise
        except Exception as exc:
            producer.abort_transaction(KAFKA_TIMEOUT_SECONDS)
            raise TransactionAborted(str(exc)) from exc

    def _produce(self, output: Output) -> None:
        assert self._producer is not None
        while True:
            try:
                self._producer.produce(
                    output.topic,
                    key=output.key,
                    value=output.value,
                    headers=output.headers,
                    on_delivery=self._on_delivery,
                )
                return
            except BufferError:
                self._producer.poll(0.1)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        # A failed delivery fails the transaction's commit; here it is only logged.
        if error is not None:
            log.warning("pipeline.delivery_failed", stage=self.name, topic=message.topic(), error=str(error))
