"""Reading a topic from end to end (`lendflow dlq`, the ops API's DLQ view, the tests' own checks),
against the real broker, including a topic created a moment ago."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from lendflow.services import ServiceError, await_readable, drop_topics, ensure_topics
from lendflow.settings import Settings
from pipeline.kafka import is_transient, read_committed, transactional_producer_config


def test_leadership_moves_are_transient_and_the_rest_is_not() -> None:
    # An offset query reports these without librdkafka's retriable flag (seen in CI as
    # "Failed to get watermark offsets: Broker: Not leader for partition" on a topic just created).
    for code in (
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError._UNKNOWN_PARTITION,
        KafkaError._TRANSPORT,
    ):
        assert not KafkaError(code).retriable()
        assert is_transient(KafkaError(code)), KafkaError(code).name()
    assert is_transient(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, retriable=True))
    for error in (
        KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED),
        KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION, fatal=True),
        None,
    ):
        assert not is_transient(error), error


def test_every_partition_of_a_topic_answers_once_it_is_created(settings: Settings) -> None:
    # Leaders show in the metadata a moment before the partitions serve reads (CI met
    # NOT_LEADER_FOR_PARTITION there): ensure_topics returns only once each one answers.
    names = ensure_topics(settings, suffix=f".test-{uuid.uuid4().hex[:10]}")
    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": f"t-{uuid.uuid4()}"})
    try:
        metadata = consumer.list_topics(timeout=10).topics
        for name in names:
            assert metadata[name].partitions, name
            for partition in metadata[name].partitions.values():
                assert partition.leader >= 0, (name, partition.id)
                # Asked once, with no retry: the partition answers right away.
                assert consumer.get_watermark_offsets(TopicPartition(name, partition.id), timeout=5) == (0, 0)
    finally:
        consumer.close()
        drop_topics(settings, names)


def test_a_tests_own_topics_are_deleted_after_it(settings: Settings) -> None:
    names = ensure_topics(settings, suffix=f".test-{uuid.uuid4().hex[:10]}")
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    assert set(names) <= set(admin.list_topics(timeout=10).topics)

    drop_topics(settings, names)

    deadline = time.monotonic() + 30
    while set(names) & set(admin.list_topics(timeout=10).topics):
        assert time.monotonic() < deadline, "the topics are still listed 30 s after their deletion"
        time.sleep(0.2)
    drop_topics(settings, names)  # deleting what is gone already is not an error


def test_waiting_for_a_topic_names_the_one_that_never_came(settings: Settings) -> None:
    missing = f"never-created.{uuid.uuid4().hex}"
    started = time.monotonic()
    with pytest.raises(ServiceError, match=missing):
        await_readable(settings.kafka.bootstrap_servers, [missing], timeout=1.0)
    assert time.monotonic() - started >= 1.0  # it waited for the deadline before giving up


def test_a_topic_reads_back_committed_messages_in_order_and_never_aborted_ones(
    settings: Settings, topic_suffix: str
) -> None:
    topic = settings.kafka.topics.incoming + topic_suffix
    partitions = settings.kafka.partitions_for(settings.kafka.topics.incoming)
    assert partitions > 1
    producer = Producer(transactional_producer_config(settings, f"test-reader-{uuid.uuid4()}"))
    producer.init_transactions(10)
    producer.begin_transaction()
    for n in range(12):
        producer.produce(topic, key=b"k", value=f"kept {n}".encode(), partition=n % partitions)
    producer.commit_transaction(10)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted", partition=0)
    producer.abort_transaction(10)

    found = read_committed(settings.kafka.bootstrap_servers, topic, purpose="test", timeout=10)

    assert sorted(message.value() for message in found) == sorted(f"kept {n}".encode() for n in range(12))
    assert [(m.partition(), m.offset()) for m in found] == sorted((m.partition(), m.offset()) for m in found)
    assert len(read_committed(settings.kafka.bootstrap_servers, topic, purpose="test", limit=5)) == 5
    assert read_committed(settings.kafka.bootstrap_servers, f"missing.{uuid.uuid4().hex}", purpose="test") == []
