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
import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
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
    Headers,
    attempt_of,
    consumer_config,
    first_offsets,
    instance_id,
    is_fatal,
    kafka_error,
    next_offsets,
    position,
    transactional_producer_config,
)

log = structlog.get_logger(__name__)

KAFKA_TIMEOUT_SECONDS = 30.0
# Retrying after Kafka failed: every Kafka call in the way blocks until the broker answers or its
# own timeout, so a long pause of ours would only delay the resumption after the broker's return.
KAFKA_RETRY_BACKOFF_MAX_SECONDS = 1.0
# How long each step of a transaction's commit may take before the transaction is given up on
# (aborted, or its producer replaced), and how long the whole commit may take before its producer is
# abandoned (see TransactionalStage._commit_in_time).
TRANSACTION_COMMIT_SECONDS = 5.0
COMMIT_DEADLINE_SECONDS = 12.0


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers


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
        """Consume until ``stop`` is set. Kafka failing (a broker restart, a fenced client) never ends
        the loop: the stage recovers its clients, rewinds to what is committed and goes on. Only an
        error that is neither transient nor Kafka's (a bug) is raised."""
        log.info("pipeline.stage_started", stage=self.name, group=self.group_id, topic=self.input_topic)
        failures = 0
        try:
            while not stop.is_set():
                messages: list[Message] = []
                try:
                    await asyncio.to_thread(self._recover)
                    messages = await asyncio.to_thread(self._poll)
                    if not messages:
                        continue
                    await self._handle(messages)
                    failures = 0
                    continue
                except TransientFailure as exc:
                    cause: BaseException = exc.__cause__ or exc
                    metrics.RETRIES.labels(self.name).inc()
                    if isinstance(cause, KafkaException):
                        metrics.KAFKA_RECOVERIES.labels(self.name, _code_name(kafka_error(cause))).inc()
                    if isinstance(exc, TransactionAborted):
                        # Whether the batch's transaction committed or not, the committed offsets say.
                        self._rewind_to = messages
                        maximum = KAFKA_RETRY_BACKOFF_MAX_SECONDS
                    else:
                        await asyncio.to_thread(self._rewind, messages)
                        maximum = self.settings.pipeline.retry_backoff_max_seconds
                except KafkaException as exc:
                    # The broker is away (a call timed out) or a client is fenced: recover, then go on.
                    cause = exc
                    error = kafka_error(exc)
                    if error is not None and is_fatal(error):
                        self._discard_clients(error)
                    if messages:
                        self._rewind_to = messages
                    metrics.KAFKA_RECOVERIES.labels(self.name, _code_name(error)).inc()
                    maximum = KAFKA_RETRY_BACKOFF_MAX_SECONDS
                failures += 1
                delay = backoff_seconds(failures, base=self.settings.pipeline.retry_backoff_seconds, maximum=maximum)
                log.warning(
                    "pipeline.batch_retrying",
                    stage=self.name,
                    error_class=type(cause).__name__,
                    error=str(cause)[:300],
                    failures=failures,
                    retry_in_seconds=delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await asyncio.to_thread(self._close)
            log.info("pipeline.stage_stopped", stage=self.name, group=self.group_id)

    # --- librdkafka, in worker threads ---------------------------------------------------------

    _rewind_to: list[Message] | None = None

    def _recover(self) -> None:
        """Before polling: clients that are missing are made (again), and a batch whose Kafka
        commit failed is rewound to the offsets committed for it. Raises KafkaException while the
        broker cannot answer; the loop asks again."""
        if self._consumer is None:
            self._open()
        if self._rewind_to is not None:
            self._rewind_to_committed(self._rewind_to)
            self._rewind_to = None

    def _open(self) -> None:
        self._consumer = Consumer(consumer_config(self.settings, self.group_id, member=self._member))
        self._consumer.subscribe(
            [self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    def _discard_clients(self, error: KafkaError) -> None:
        """A fatal error: the consumer is of no more use (a static member fenced). A new one, made
        by :meth:`_recover`, starts from the committed offsets."""
        log.warning("pipeline.kafka_client_replaced", stage=self.name, client="consumer", error=str(error)[:300])
        consumer, self._consumer = self._consumer, None
        self._rewind_to = None  # a new consumer starts from the committed offsets anyway
        if consumer is not None:
            try:
                consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.info("pipeline.kafka_client_close_failed", stage=self.name, error=str(exc)[:300])

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("pipeline.partitions_assigned", stage=self.name, partitions=[p.partition for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Batches finish (committed in their transaction, or aborted and rewound) before the next
        # poll, and rebalances happen only inside a poll: nothing done is left uncommitted here.
        log.info("pipeline.partitions_revoked", stage=self.name, partitions=[p.partition for p in partitions])

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The group coordinator was out of reach for a session: the partitions may be someone
        # else's by now. When they come back, they start from their committed offsets.
        log.warning("pipeline.partitions_lost", stage=self.name, partitions=[p.partition for p in partitions])

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
            elif is_fatal(error):
                raise KafkaException(error)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("pipeline.consume_error", stage=self.name, error=str(error))
        self._record_lag()
        return good

    def _record_lag(self) -> None:
        """Set the lag gauge of each assigned partition; when it cannot be read, say so (a log line
        when it turns stale, and ``lendflow_pipeline_consumer_lag_stale`` = 1) rather than leave
        an old figure standing as if it were current."""
        assert self._consumer is not None
        try:
            assignment = self._consumer.assignment()
            if not assignment:
                return
            unknown: list[int] = []
            for tp in self._consumer.position(assignment):
                if tp.error is not None:
                    unknown.append(tp.partition)
                    continue
                _, high = self._consumer.get_watermark_offsets(tp, cached=True)
                # Before a partition's first fetch there is no figure yet: nothing to report.
                if high >= 0 and tp.offset >= 0:
                    metrics.CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                        max(0, high - tp.offset)
                    )
            if unknown:
                self._lag_stale(f"no position for partitions {unknown}")
            else:
                self._lag_fresh()
        except KafkaException as exc:
            self._lag_stale(str(exc)[:300], error_code=_code_name(kafka_error(exc)))

    _lag_is_stale = False

    def _lag_stale(self, reason: str, *, error_code: str = "unknown") -> None:
        metrics.CONSUMER_LAG_STALE.labels(self.group_id, self.input_topic).set(1)
        metrics.LAG_READ_FAILURES.labels(self.group_id, self.input_topic).inc()
        if not self._lag_is_stale:
            self._lag_is_stale = True
            log.warning(
                "pipeline.lag_unknown", stage=self.name, group=self.group_id, error_code=error_code, reason=reason
            )

    def _lag_fresh(self) -> None:
        metrics.CONSUMER_LAG_STALE.labels(self.group_id, self.input_topic).set(0)
        if self._lag_is_stale:
            self._lag_is_stale = False
            log.info("pipeline.lag_known_again", stage=self.name, group=self.group_id)

    def _rewind(self, messages: list[Message]) -> None:
        """Back to the batch's first offsets (nothing of it was committed); when a partition cannot
        be rewound, the consumer is replaced so that it starts again from the committed offsets."""
        assert self._consumer is not None
        assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        for tp in first_offsets(messages):
            if (tp.topic, tp.partition) in assigned:
                try:
                    self._consumer.seek(tp)
                except KafkaException as exc:
                    log.warning("pipeline.rewind_failed", stage=self.name, partition=tp.partition, error=str(exc))
                    self._discard_clients(kafka_error(exc) or KafkaError(KafkaError._STATE))
                    return

    def _rewind_to_committed(self, messages: list[Message]) -> None:
        """Seek each partition of ``messages`` to its committed offset (or, with none committed
        yet, the batch's first): the batch is redone exactly when its transaction did not commit."""
        assert self._consumer is not None
        assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        firsts = [tp for tp in first_offsets(messages) if (tp.topic, tp.partition) in assigned]
        if not firsts:
            return  # revoked meanwhile: whoever has them now starts from the committed offsets
        committed = self._consumer.committed(
            [TopicPartition(tp.topic, tp.partition) for tp in firsts], timeout=KAFKA_TIMEOUT_SECONDS
        )
        for first, known in zip(firsts, committed, strict=True):
            if known.error is not None:
                raise KafkaException(known.error)
            target = TopicPartition(first.topic, first.partition, known.offset if known.offset >= 0 else first.offset)
            try:
                self._consumer.seek(target)
            except KafkaException as exc:
                log.warning("pipeline.rewind_failed", stage=self.name, partition=first.partition, error=str(exc))
                self._discard_clients(kafka_error(exc) or KafkaError(KafkaError._STATE))
                return
        log.info("pipeline.rewound_to_committed", stage=self.name, partitions=[tp.partition for tp in firsts])

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def _code_name(error: KafkaError | None) -> str:
    return error.name() if error is not None else "unknown"


class TransactionalStage(ConsumingStage):
    """A stage that reads one topic and writes others, exactly once per input message."""

    # Whether a provider's delivery id is a dedupe key too. Only the first stage needs it: it turns
    # a redelivered webhook into one event, and from there on the event id says it all.
    dedupe_by_delivery = False

    def __init__(self, settings: Settings, *, group_id: str, ledger: DedupeLedger, worker: int = 0) -> None:
        super().__init__(settings, group_id=group_id, ledger=ledger, worker=worker)
        self._producer: Producer | None = None
        self._delivery_failures = 0

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
                (v.decode() for k, v in item.outputs[0].headers if k == DLQ_ERROR_CLASS and isinstance(v, bytes)),
                "unknown",
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
        await self._commit_in_time(outputs, next_offsets(messages))
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
        _, partition, offset = position(message)
        item.claim = Claim(
            keys=tuple(keys),
            event_type=item.envelope.type,
            attempt=item.attempt,
            partition=partition,
            offset=offset,
        )
        return item

    def _recover(self) -> None:
        # The producer first: its init fences (and so settles) any transaction a replaced producer
        # left open, and only then do the committed offsets say what the last batch became.
        if self._producer is not None:
            self._producer.poll(0)  # serves its error callback: did it lose the brokers meanwhile?
            if self._brokers_lost:
                self._discard_producer(self._producer, "it lost every broker: its coordinators are stale")
        if self._producer is None:
            self._producer = self._new_producer()
        super()._recover()

    def _new_producer(self) -> Producer:
        self._brokers_lost = False
        config = transactional_producer_config(self.settings, f"{self.group_id}.{self._member}")
        producer = Producer({**config, "error_cb": self._on_producer_error})
        try:
            producer.init_transactions(KAFKA_TIMEOUT_SECONDS)
        except KafkaException:
            _drop(producer)
            raise
        return producer

    _brokers_lost = False

    def _on_producer_error(self, error: KafkaError) -> None:
        # A producer that saw every broker go away may hold a coordinator it will not look up
        # again: its next send_offsets_to_transaction would hang (confluentinc/librdkafka#5456,
        # #5511). It is replaced before the next batch; its init waits for the broker's return.
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._brokers_lost = True

    def _discard_producer(self, producer: Producer, reason: str) -> None:
        """Drop a transactional producer; the next batch gets a new one with the same transactional
        id, whose init aborts or completes whatever this one left open."""
        if self._producer is producer:  # not a new one that took an abandoned one's place
            self._producer = None
            log.warning("pipeline.kafka_client_replaced", stage=self.name, client="producer", error=reason[:300])
        _drop(producer)

    def _close(self) -> None:
        super()._close()
        if self._producer is not None:
            self._producer.flush(KAFKA_TIMEOUT_SECONDS)
            self._producer = None

    async def _commit_in_time(self, outputs: list[Output], offsets: list[TopicPartition]) -> None:
        """:meth:`_commit` in a worker thread, given up on after :data:`COMMIT_DEADLINE_SECONDS`.

        librdkafka's ``send_offsets_to_transaction`` can block past its own timeout when the group
        coordinator it cached went away (a broker restart; confluentinc/librdkafka#5456, still so in
        2.16): the stage waited minutes for it. Past the deadline the producer is abandoned to its
        thread; the next batch's new producer, with the same transactional id, fences it, so the
        abandoned transaction can no longer commit, and the committed offsets say what became of it.
        """
        producer = self._producer
        work = _in_daemon_thread(self._commit, outputs, offsets)
        try:
            await asyncio.wait_for(asyncio.shield(work), timeout=COMMIT_DEADLINE_SECONDS)
        except TimeoutError:
            work.add_done_callback(_swallow)
            if producer is not None and self._producer is producer:
                self._producer = None  # not dropped: its thread still uses it
                log.warning(
                    "pipeline.kafka_client_replaced", stage=self.name, client="producer",
                    error=f"the transaction's commit hung for {COMMIT_DEADLINE_SECONDS:.0f}s",
                )  # fmt: skip
            raise TransactionAborted(f"the commit did not return within {COMMIT_DEADLINE_SECONDS:.0f}s") from None

    def _commit(self, outputs: list[Output], offsets: list[TopicPartition]) -> None:
        """Produce ``outputs`` and commit ``offsets`` in one transaction. Any failure ends the
        transaction — aborted, or its producer replaced when it cannot be aborted (fenced, fatal,
        broker away) — and raises :class:`TransactionAborted`: the stage then rewinds to the
        committed offsets, which tell whether the batch made it."""
        assert self._producer is not None and self._consumer is not None
        producer = self._producer
        self._delivery_failures = 0
        try:
            producer.begin_transaction()
            for output in outputs:
                self._produce(output)
            producer.send_offsets_to_transaction(
                offsets, self._consumer.consumer_group_metadata(), TRANSACTION_COMMIT_SECONDS
            )
            deadline = time.monotonic() + TRANSACTION_COMMIT_SECONDS
            while True:
                try:
                    producer.commit_transaction(max(1.0, deadline - time.monotonic()))
                    return
                except KafkaException as exc:
                    error = kafka_error(exc)
                    # A retriable commit may be called again; its outcome is the same transaction's.
                    if error is not None and error.retriable() and not error.txn_requires_abort() \
                            and not is_fatal(error) and time.monotonic() < deadline:  # fmt: skip
                        continue
                    raise
        except Exception as exc:
            error = kafka_error(exc) if isinstance(exc, KafkaException) else None
            self._end_failed_transaction(producer, error, exc)
            raise TransactionAborted(str(error or exc)) from exc

    def _end_failed_transaction(self, producer: Producer, error: KafkaError | None, exc: Exception) -> None:
        if error is None or not is_fatal(error):
            try:
                producer.abort_transaction(TRANSACTION_COMMIT_SECONDS)
                return
            except KafkaException as abort_exc:
                abort_error = kafka_error(abort_exc)
                if abort_error is not None and abort_error.code() == KafkaError._STATE and error is None:
                    return  # no transaction had begun (begin_transaction itself failed on a bug)
                exc = abort_exc
        self._discard_producer(producer, str(exc))

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
        # A failed delivery fails the transaction's commit; here it is only logged, once per
        # transaction (a broker gone away fails every message of the batch alike).
        if error is not None:
            self._delivery_failures += 1
            if self._delivery_failures == 1:
                log.warning("pipeline.delivery_failed", stage=self.name, topic=message.topic(), error=str(error))


def _drop(producer: Producer) -> None:
    """Let go of a producer that is of no more use, without waiting on a broker that may be away."""
    try:
        producer.purge()
        producer.flush(0)
    except (KafkaException, RuntimeError):
        pass


def _swallow(task: asyncio.Future[None]) -> None:
    """Retrieve the outcome of an abandoned commit, so that it is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()


def _in_daemon_thread(function: Callable[..., None], *args: object) -> asyncio.Future[None]:
    """Run ``function`` in a daemon thread of its own: one that hangs in librdkafka can be left
    behind without holding up the executor or the process's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def target() -> None:
        outcome: BaseException | None = None
        try:
            function(*args)
        except BaseException as error:  # handed to the awaiting coroutine, whatever it is
            outcome = error
        with contextlib.suppress(RuntimeError):  # the loop is gone: no one waits for an abandoned commit
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=target, name="pipeline-commit", daemon=True).start()
    return future
