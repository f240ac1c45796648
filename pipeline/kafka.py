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

import socket
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

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

Headers = list[tuple[str, bytes]]


def instance_id(settings: Settings) -> str:
    return settings.pipeline.instance_id or socket.gethostname()


def consumer_config(settings: Settings, group_id: str, *, member: str) -> dict[str, Any]:
    return {
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
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "transactional.id": transactional_id,
        "enable.idempotence": True,
        "acks": "all",
        "transaction.timeout.ms": settings.pipeline.transaction_timeout_ms,
        "linger.ms": 5,
    }


def idempotent_producer_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }


def header(message: Message, name: str) -> str | None:
    for key, value in message.headers() or []:
        if key == name and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
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
        key = (message.topic(), message.partition())
        last[key] = max(last.get(key, -1), message.offset())
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]


def first_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    first: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        first[key] = min(first.get(key, message.offset()), message.offset())
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in sorted(first.items())]


def is_fatal(error: KafkaError) -> bool:
    return error.fatal() or error.code() in (KafkaError._FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


def kafka_error(exc: KafkaException) -> KafkaError | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
