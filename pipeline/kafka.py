"""Kafka client configuration and message headers shared by the pipeline's stages.

Consumers never commit on their own (``enable.auto.commit=false``): a transactional stage commits
its input offsets inside the Kafka transaction that carries its output, and the event bridge commits
them synchronously once a batch's signals are durable. Either way an offset is committed only after
the message's effect is durable, and a consumer that loses partitions in a rebalance has nothing
pending at that moment (batches finish before the next poll, where rebalances happen).

Consumers read with ``isolation.level=read_committed``: output of an aborted transaction (a stage
killed mid-batch) is never seen downstream. Producers are idempotent with ``acks=all``.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from lendflow.settings import Settings

ATTEMPT_HEADER = "lendflow-attempt"
DLQ_STAGE = "lendflow-dlq-stage"
DLQ_ERROR_CLASS = "lendflow-dlq-error-class"
DLQ_ERROR_MESSAGE = "lendflow-dlq-error-message"
DLQ_ATTEMPT = "lendflow-dlq-attempt"
DLQ_SOURCE_TOPIC = "lendflow-dlq-source-topic"
DLQ_SOURCE_PARTITION = "lendflow-dlq-source-partition"
DLQ_SOURCE_OFFSET = "lendflow-dlq-source-offset"
DLQ_FAILED_AT = "lendflow-dlq-failed-at"
DLQ_EVENT_ID = "lendflow-dlq-event-id"
DLQ_EVENT_TYPE = "lendflow-dlq-event-type"

# Message headers as librdkafka takes and gives them: (name, value) pairs, in order; None is a null value.
Headers = list[tuple[str, str | bytes | None]]

log = structlog.get_logger(__name__)

# What a reader meets while a partition's leadership moves: a topic created a moment ago, a broker
# restarting, a client whose metadata is a step behind. librdkafka does not flag these retriable
# when it reports them from an offset query, so they are named here.
LEADERSHIP_IN_FLUX = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_PARTITION,  # this client's metadata does not list the partition yet
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.UNKNOWN_LEADER_EPOCH,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TRANSPORT,
    }
)


# How every pipeline client lives through a broker restart. librdkafka's defaults back reconnects
# off up to 10 s and give a connection 30 s to set up: after a broker returns, each client (and each
# of its coordinators) would find it only at its next attempt. A pipeline that is to resume within
# seconds of the broker's return asks again within a second, and gives up on a dead address sooner.
RESILIENCE: dict[str, Any] = {
    # librdkafka's own log lines go through the process's logging (JSON in production), served
    # when the client is polled, rather than straight to stderr from its threads.
    "logger": logging.getLogger("pipeline.kafka.client"),
    "reconnect.backoff.ms": 100,
    "reconnect.backoff.max.ms": 1000,
    "socket.connection.setup.timeout.ms": 10_000,
    "retry.backoff.ms": 100,
    "retry.backoff.max.ms": 1000,
}


def instance_id(settings: Settings) -> str:
    return settings.pipeline.instance_id or socket.gethostname()


def consumer_config(settings: Settings, group_id: str, *, member: str) -> dict[str, Any]:
    return {
        **RESILIENCE,
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "group.id": group_id,
        # Static membership: a restarted instance takes its partitions back without a rebalance.
        "group.instance.id": f"{group_id}.{member}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": settings.pipeline.session_timeout_ms,
    }


def transactional_producer_config(settings: Settings, transactional_id: str) -> dict[str, Any]:
    return {
        **RESILIENCE,
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "transactional.id": transactional_id,
        "enable.idempotence": True,
        "acks": "all",
        "transaction.timeout.ms": settings.pipeline.transaction_timeout_ms,
        "linger.ms": 5,
    }


def idempotent_producer_config(settings: Settings) -> dict[str, Any]:
    return {
        **RESILIENCE,
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }


def headers_of(message: Message) -> Headers:
    """A consumed message's headers as (name, bytes or None for a null value) pairs, in order."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(key, value.encode() if isinstance(value, str) else value) for key, value in pairs]


def position(message: Message) -> tuple[str, int, int]:
    """The topic, partition and offset of a consumed message, which a consumed message always has."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("not a consumed message: it has no topic, partition or offset")
    return topic, partition, offset


def header(message: Message, name: str) -> str | None:
    for key, value in headers_of(message):
        if key == name and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


def attempt_of(message: Message) -> int:
    raw = header(message, ATTEMPT_HEADER)
    try:
        return max(1, int(raw)) if raw is not None else 1
    except ValueError:
        return 1


def next_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    """The offsets to commit after ``messages``: one past the last of each partition."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        topic, partition, offset = position(message)
        last[(topic, partition)] = max(last.get((topic, partition), -1), offset)
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]


def first_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    first: dict[tuple[str, int], int] = {}
    for message in messages:
        topic, partition, offset = position(message)
        first[(topic, partition)] = min(first.get((topic, partition), offset), offset)
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in sorted(first.items())]


# Errors after which a client is of no more use: a new one must take its place. A transactional
# producer whose epoch was bumped (its transaction timed out on the coordinator while the broker
# was away) or that was fenced; a static consumer fenced by a newer member with its instance id.
FATAL_CODES = frozenset(
    {
        KafkaError._FENCED,
        KafkaError._FATAL,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.INVALID_PRODUCER_ID_MAPPING,
    }
)


def is_fatal(error: KafkaError) -> bool:
    return error.fatal() or error.code() in FATAL_CODES


def kafka_error(exc: KafkaException) -> KafkaError | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None


def is_transient(error: KafkaError | None) -> bool:
    """Whether asking again shortly may succeed."""
    return error is not None and not is_fatal(error) and (error.retriable() or error.code() in LEADERSHIP_IN_FLUX)


def reader(bootstrap_servers: str, *, purpose: str) -> Consumer:
    """A consumer that reads without joining any real group or committing anything."""
    return Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"lendflow-{purpose}-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )


def watermarks(consumer: Consumer, tp: TopicPartition, timeout: float) -> tuple[int, int]:
    """Low and high watermarks of ``tp``, asked again while its leadership is in flux."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return consumer.get_watermark_offsets(tp, timeout=max(0.5, deadline - time.monotonic()))
        except KafkaException as exc:
            if not is_transient(kafka_error(exc)) or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def read_committed(
    bootstrap_servers: str, topic: str, *, purpose: str, limit: int | None = None, timeout: float = 10.0
) -> list[Message]:
    """Every committed message now in ``topic``, oldest first per partition, up to ``limit``.

    "Now" is the high watermarks read at the start: messages produced while reading may or may not
    be included. A topic that does not exist yet reads as empty.
    """
    consumer = reader(bootstrap_servers, purpose=purpose)
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or (metadata.error is not None and not metadata.partitions):
            return []
        ends: dict[int, int] = {}
        for partition in sorted(metadata.partitions):
            low, high = watermarks(consumer, TopicPartition(topic, partition), timeout)
            if high > low:
                ends[partition] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in ends])
        found: list[Message] = []
        deadline = time.monotonic() + timeout
        idle_since = time.monotonic()
        while ends and time.monotonic() < deadline and (limit is None or len(found) < limit):
            message = consumer.poll(0.2)
            if message is None:
                # Read-committed: the last offsets may be transaction markers that never surface.
                for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                    if tp.offset >= ends.get(tp.partition, 0):
                        ends.pop(tp.partition, None)
                if time.monotonic() - idle_since > 2.0:
                    break
                continue
            idle_since = time.monotonic()
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("kafka.read_error", topic=topic, error=str(error))
                continue
            found.append(message)
            _, partition, offset = position(message)
            if offset + 1 >= ends.get(partition, 0):
                ends.pop(partition, None)
        found.sort(key=lambda message: position(message)[1:])
        return found[:limit] if limit is not None else found
    finally:
        consumer.close()
