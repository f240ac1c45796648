"""Events per second from incoming to trusted, next to a raw consume-and-produce loop, same broker, same run.

    .venv/bin/python bench/pipeline_throughput.py [--events 20000] [--batch-size 500] [--consumers N] [--processes N]

Both sides get the same warm start (their consumer groups joined and a warm-up batch through), then
the same burst of ``pix.charge.paid`` events is produced to their input topic, and the clock runs
from the start of the burst until a read-committed counter has seen every event on the output.

- pipeline: the validation stage (Redis + PostgreSQL dedupe, schema and business checks against
  PostgreSQL, a Kafka transaction per batch) and the trusted stage (dedupe again, enrichment from
  PostgreSQL, a Kafka transaction per batch), in this process, as `lendflow pipeline` runs them;
  With ``--processes N``, N-1 more `lendflow pipeline` processes (replicas, as production runs them)
  join the same consumer groups and share the partitions: one Python process is bound to one core;
- raw: one consumer and one idempotent acks=all producer copying each message to another topic,
  committing offsets after each flushed batch — no parsing, no Redis, no database, no transactions.

It needs the local stack (`lendflow services up`). It creates a database and topics of its own and
drops the database (and its Redis keys) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
import redis.asyncio as aioredis
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition
from pydantic import SecretStr

from lendflow.logging import configure_logging
from lendflow.services import ensure_topics
from lendflow.settings import KafkaTopics, PipelineGroups, Settings
from pipeline.events import EventEnvelope
from pipeline.kafka import ATTEMPT_HEADER, idempotent_producer_config
from pipeline.runner import PipelineParts, build_stages, run_stages
from storage.db import create_engine, create_session_maker
from storage.migrate import upgrade_to_head
from storage.models import Customer, LoanApplication, PixCharge

SUBJECTS = 60
WARM_UP = 300


class NoDocuments:
    """The benchmark sends no document events; the ECM is never asked."""

    async def sha256_of(self, ecm_document_id: str) -> str | None:
        return None


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg://", "postgresql://")


def bench_settings(base: Settings, dsn: str, batch_size: int, consumers: int) -> Settings:
    suffix = f".bench-{uuid.uuid4().hex[:10]}"
    tag = uuid.uuid4().hex[:10]
    topics = KafkaTopics(**{name: getattr(base.kafka.topics, name) + suffix for name in KafkaTopics.model_fields})
    settings = base.model_copy(
        update={
            "postgres": base.postgres.model_copy(update={"dsn": SecretStr(dsn)}),
            "kafka": base.kafka.model_copy(update={"topics": topics}),
            "redis": base.redis.model_copy(update={"dedupe_ttl_seconds": 3600}),
            "pipeline": base.pipeline.model_copy(
                update={
                    "groups": PipelineGroups(
                        validation=f"bench-validation-{tag}",
                        trusted=f"bench-trusted-{tag}",
                        bridge=f"bench-bridge-{tag}",
                    ),
                    "instance_id": f"bench-{tag}",
                    "batch_size": batch_size,
                    "consumers_per_stage": consumers,
                    "poll_timeout_seconds": 0.1,
                    "redis_key_prefix": f"bench:dedupe:{tag}",
                }
            ),
        }
    )
    ensure_topics(base, suffix=suffix)
    return settings


async def seed(settings: Settings) -> list[PixCharge]:
    engine = create_engine(settings.postgres)
    sessions = create_session_maker(engine)
    charges: list[PixCharge] = []
    async with sessions() as session, session.begin():
        for n in range(SUBJECTS):
            customer = Customer(
                id=uuid.uuid4(), cpf=f"{n:011d}", name="Bench Customer", email=f"bench-{uuid.uuid4().hex}@example.com",
                password_hash="x", birth_date=date(1990, 1, 1), phone="+5511900000000",
                monthly_income=Decimal("9000.00"), status="active",
            )  # fmt: skip
            application = LoanApplication(
                id=uuid.uuid4(), customer_id=customer.id, status="disbursed", amount=Decimal("10000.00"),
                term_months=12, amortization="price",
            )  # fmt: skip
            charge = PixCharge(txid=uuid.uuid4().hex[:30], application_id=application.id, amount=Decimal("950.00"))
            session.add(customer)
            await session.flush()
            session.add(application)
            await session.flush()
            session.add(charge)
            charges.append(charge)
    await engine.dispose()
    return charges


def replica_environment(settings: Settings, replica: int) -> dict[str, str]:
    """What a `lendflow pipeline` replica needs to join this run's stages: configured by environment, as in production."""
    topics, pipeline = settings.kafka.topics, settings.pipeline
    return {
        **os.environ,
        "LENDFLOW_LOG_LEVEL": os.environ.get("BENCH_REPLICA_LOG_LEVEL", "WARNING"),
        "LENDFLOW_POSTGRES__DSN": settings.postgres.dsn.get_secret_value(),
        "LENDFLOW_REDIS__URL": settings.redis.url.get_secret_value(),
        "LENDFLOW_REDIS__DEDUPE_TTL_SECONDS": str(settings.redis.dedupe_ttl_seconds),
        "LENDFLOW_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "LENDFLOW_KAFKA__TOPICS__INCOMING": topics.incoming,
        "LENDFLOW_KAFKA__TOPICS__VALIDATED": topics.validated,
        "LENDFLOW_KAFKA__TOPICS__DLQ": topics.dlq,
        "LENDFLOW_KAFKA__TOPICS__TRUSTED": topics.trusted,
        "LENDFLOW_KAFKA__TOPICS__EVENTS": topics.events,
        "LENDFLOW_PIPELINE__GROUPS__VALIDATION": pipeline.groups.validation,
        "LENDFLOW_PIPELINE__GROUPS__TRUSTED": pipeline.groups.trusted,
        "LENDFLOW_PIPELINE__INSTANCE_ID": f"{pipeline.instance_id}-replica{replica}",
        "LENDFLOW_PIPELINE__REDIS_KEY_PREFIX": pipeline.redis_key_prefix,
        "LENDFLOW_PIPELINE__BATCH_SIZE": str(pipeline.batch_size),
        "LENDFLOW_PIPELINE__CONSUMERS_PER_STAGE": str(pipeline.consumers_per_stage),
        "LENDFLOW_PIPELINE__POLL_TIMEOUT_SECONDS": str(pipeline.poll_timeout_seconds),
        "LENDFLOW_PIPELINE__METRICS_PORT": "0",
    }


def start_replicas(settings: Settings, count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lendflow",
                "pipeline",
                "--stage",
                "validation",
                "--stage",
                "trusted",
                "--skip-migrations",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            env=replica_environment(settings, replica),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("BENCH_REPLICA_LOG", os.devnull), "ab"),
        )  # fmt: skip
        for replica in range(1, count)
    ]


def charge_events(charges: list[PixCharge], count: int) -> list[tuple[bytes, bytes]]:
    messages = []
    for n in range(count):
        charge = charges[n % len(charges)]
        event = EventEnvelope(
            event_id=uuid.uuid4(),
            type="pix.charge.paid",
            version=1,
            occurred_at=datetime.now(UTC),
            source="pix",
            subject=str(charge.application_id),
            delivery_id=f"evt_{uuid.uuid4().hex}",
            data={
                "txid": charge.txid,
                "end_to_end_id": "E12345678202601011200" + uuid.uuid4().hex[:11],
                "amount": "950.00",
                "paid_at": datetime.now(UTC).isoformat(),
                "payer_name": "Bench Customer",
            },
        )
        messages.append((event.subject.encode(), event.to_bytes()))
    return messages


def produce(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(idempotent_producer_config(settings))
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=[(ATTEMPT_HEADER, b"1")])
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120):
        raise RuntimeError("the burst was not acknowledged")


class OutputCounter:
    """Counts read-committed messages arriving on a topic from its current end."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "group.id": f"bench-counter-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in partitions])
        self.count = 0

    def wait_for(self, expected: int, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while self.count < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"saw {self.count} of {expected}")
            for message in self.consumer.consume(1000, 0.1):
                if message.error() is None:
                    self.count += 1
        return time.monotonic()

    def close(self) -> None:
        self.consumer.close()


def raw_loop(settings: Settings, source: str, target: str, stop: threading.Event) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"bench-raw-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer(idempotent_producer_config(settings))
    consumer.subscribe([source])
    try:
        while not stop.is_set():
            batch = [m for m in consumer.consume(settings.pipeline.batch_size, 0.1) if m.error() is None]
            if not batch:
                continue
            for message in batch:
                while True:
                    try:
                        producer.produce(target, key=message.key(), value=message.value(), headers=message.headers())
                        break
                    except BufferError:
                        producer.poll(0.05)
            producer.flush(60)
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def measure(settings: Settings, source: str, target: str, burst: list[tuple[bytes, bytes]]) -> float:
    """Events per second: from the start of the burst to its last event seen on ``target``."""
    counter = OutputCounter(settings, target)
    try:
        started = time.monotonic()
        producing = threading.Thread(target=produce, args=(settings, source, burst))
        producing.start()
        finished = counter.wait_for(len(burst))
        producing.join()
        return len(burst) / (finished - started)
    finally:
        counter.close()


async def run(events: int, batch_size: int, consumers: int, processes: int = 1) -> None:
    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "WARNING"}))
    app_dsn = base.postgres.dsn.get_secret_value()
    database = f"lendflow_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_plain(app_dsn), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    dsn = app_dsn.rsplit("/", 1)[0] + "/" + database
    settings = bench_settings(base, dsn, batch_size, consumers)
    topics = settings.kafka.topics
    redis = aioredis.from_url(settings.redis.url.get_secret_value())
    engine = None
    replicas: list[subprocess.Popen[bytes]] = []
    try:
        upgrade_to_head(dsn)
        charges = await seed(settings)

        # Raw loop: incoming copy → events topic (both unused by the pipeline run below).
        raw_source, raw_target = topics.dlq, topics.events
        stop_raw = threading.Event()
        raw = threading.Thread(target=raw_loop, args=(settings, raw_source, raw_target, stop_raw))
        raw.start()
        await asyncio.to_thread(measure, settings, raw_source, raw_target, charge_events(charges, WARM_UP))
        raw_rate = await asyncio.to_thread(measure, settings, raw_source, raw_target, charge_events(charges, events))
        stop_raw.set()
        raw.join()

        # The pipeline: incoming → validation → validated → trusted → trusted topic.
        engine = create_engine(settings.postgres)
        parts = PipelineParts(
            settings=settings, sessions=create_session_maker(engine), redis=redis, documents=NoDocuments()
        )
        stop = asyncio.Event()
        stages = asyncio.create_task(run_stages(build_stages(parts, ["validation", "trusted"]), stop))
        replicas = start_replicas(settings, processes)
        await asyncio.to_thread(measure, settings, topics.incoming, topics.trusted, charge_events(charges, WARM_UP))
        if replicas:  # let the groups settle on their final assignment before the clock runs
            await asyncio.sleep(10)
            await asyncio.to_thread(measure, settings, topics.incoming, topics.trusted, charge_events(charges, WARM_UP))
        pipeline_rate = await asyncio.to_thread(
            measure, settings, topics.incoming, topics.trusted, charge_events(charges, events)
        )
        stop.set()
        await stages
    finally:
        for replica in replicas:
            replica.terminate()
        for replica in replicas:
            try:
                replica.wait(30)
            except subprocess.TimeoutExpired:
                replica.kill()
        keys = [key async for key in redis.scan_iter(match=f"{settings.pipeline.redis_key_prefix}:*", count=5000)]
        for start in range(0, len(keys), 5000):
            await redis.unlink(*keys[start : start + 5000])
        await redis.aclose()
        if engine is not None:
            await engine.dispose()
        with psycopg.connect(_plain(app_dsn), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(f"events: {events}, batch size: {batch_size}, consumers per stage: {consumers}, processes: {processes}, "
          f"broker: {settings.kafka.bootstrap_servers}, partitions: {settings.kafka.partitions}")  # fmt: skip
    print(f"raw consume-and-produce loop:        {raw_rate:10,.0f} events/s")
    print(f"pipeline incoming → trusted:         {pipeline_rate:10,.0f} events/s")
    print(f"ratio pipeline / raw:                {pipeline_rate / raw_rate:10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--consumers", type=int, default=None, help="per stage (default: settings)")
    parser.add_argument("--processes", type=int, default=1, help="pipeline processes sharing the partitions")
    args = parser.parse_args()
    consumers = args.consumers or Settings().pipeline.consumers_per_stage
    asyncio.run(run(args.events, args.batch_size, consumers, args.processes))


if __name__ == "__main__":
    main()
