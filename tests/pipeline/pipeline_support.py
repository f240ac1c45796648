"""Helpers of the pipeline tests: rows in PostgreSQL, envelopes, running stages, reading topics, and
the positions in Kafka a test waits for before it asserts that nothing more arrived."""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import uvicorn
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from lendflow.settings import Settings
from pipeline.events import EventEnvelope
from pipeline.runner import PipelineParts, Stage, build_stages, run_stages
from storage.models import Customer, Document, Installment, LoanApplication, PixCharge, SignatureEnvelope

# The pipeline tests keep their dedupe marks in a Redis database of their own, so that a test may
# flush it (Redis losing its data) without touching anyone else's keys.
PIPELINE_REDIS_DB = 13


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url_with_db(url: str, db: int) -> str:
    base = url.split("?")[0]
    head, _, tail = base.rpartition("/")
    return f"{head}/{db}" if tail.isdigit() and head.count("/") >= 2 else f"{base.rstrip('/')}/{db}"


@dataclass
class Simulator:
    url: str
    settings: Settings
    webhooks: asyncio.Queue[tuple[str, dict[str, Any], str]]

    def provider(self, name: str) -> Any:
        return getattr(self.settings.providers, name).model_copy(update={"base_url": f"{self.url}/{name}"})


async def serve_app(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        await asyncio.sleep(0.05)
    return server, task


# --- Rows the checks and the enrichment read ---------------------------------------------------------


def new_txid() -> str:
    return uuid.uuid4().hex[:30]


def new_end_to_end_id() -> str:
    return "E12345678" + datetime.now(UTC).strftime("%Y%m%d%H%M") + uuid.uuid4().hex[:11]


class LenderRecords:
    """Customers, applications, envelopes, charges and documents, written as the other layers would."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def add(self, *rows: Any) -> None:
        async with self.sessions() as session, session.begin():
            for row in rows:
                session.add(row)
                await session.flush()

    async def customer(self, *, status: str = "pending_onboarding") -> Customer:
        cpf = "".join(random.choice("0123456789") for _ in range(11))
        customer = Customer(
            id=uuid.uuid4(),
            cpf=cpf,
            name="Maria da Silva",
            email=f"{uuid.uuid4().hex}@example.com",
            password_hash="x",
            birth_date=date(1990, 5, 17),
            phone="+5511999990000",
            monthly_income=Decimal("8500.00"),
            status=status,
        )
        await self.add(customer)
        return customer

    async def application(self, customer: Customer | None = None, *, status: str = "contract_sent") -> LoanApplication:
        customer = customer or await self.customer(status="active")
        application = LoanApplication(
            id=uuid.uuid4(),
            customer_id=customer.id,
            status=status,
            amount=Decimal("12000.00"),
            term_months=12,
            amortization="price",
        )
        await self.add(application)
        return application

    async def document(
        self, customer: Customer, *, sha256: str, ecm_document_id: str, size_bytes: int,
        content_type: str = "image/jpeg", document_type: str = "id_front", application_id: uuid.UUID | None = None,
    ) -> Document:  # fmt: skip
        document = Document(
            id=uuid.uuid4(),
            customer_id=customer.id,
            application_id=application_id,
            document_type=document_type,
            ecm_document_id=ecm_document_id,
            sha256=sha256,
            content_type=content_type,
            size_bytes=size_bytes,
        )
        await self.add(document)
        return document

    async def signature_envelope(
        self, application: LoanApplication, envelope_id: str | None = None
    ) -> SignatureEnvelope:
        contract = await self.document(
            await self._customer_of(application), sha256="0" * 64, ecm_document_id=f"ecm-{uuid.uuid4().hex}",
            size_bytes=1000, content_type="application/pdf", document_type="contract", application_id=application.id,
        )  # fmt: skip
        envelope = SignatureEnvelope(
            envelope_id=envelope_id or f"env_{uuid.uuid4().hex}", application_id=application.id, document_id=contract.id
        )
        await self.add(envelope)
        return envelope

    async def _customer_of(self, application: LoanApplication) -> Customer:
        async with self.sessions() as session:
            customer = await session.get(Customer, application.customer_id)
        assert customer is not None
        return customer

    async def charge(
        self, application: LoanApplication, *, amount: Decimal = Decimal("1093.72"), installment_number: int | None = 1,
        txid: str | None = None,
    ) -> PixCharge:  # fmt: skip
        charge = PixCharge(
            txid=txid or new_txid(),
            application_id=application.id,
            installment_number=installment_number,
            amount=amount,
            status="open",
        )
        await self.add(charge)
        return charge

    async def installment(self, application: LoanApplication, number: int = 1) -> Installment:
        installment = Installment(
            application_id=application.id,
            number=number,
            due_date=date(2026, 1, 10),
            payment=Decimal("1093.72"),
            interest=Decimal("240.00"),
            amortization=Decimal("853.72"),
            balance=Decimal("11146.28"),
        )
        await self.add(installment)
        return installment


# --- Envelopes ---------------------------------------------------------------------------------------


def envelope(
    event_type: str, subject: Any, data: dict[str, Any], *, source: str = "test",
    delivery_id: str | None = None, event_id: uuid.UUID | None = None,
) -> EventEnvelope:  # fmt: skip
    return EventEnvelope(
        event_id=event_id or uuid.uuid4(),
        type=event_type,
        version=1,
        occurred_at=datetime.now(UTC),
        source=source,
        subject=str(subject),
        delivery_id=delivery_id,
        data=data,
    )


def charge_paid(charge: PixCharge, *, amount: Decimal | None = None, **kwargs: Any) -> EventEnvelope:
    return envelope(
        "pix.charge.paid",
        charge.application_id,
        {
            "txid": charge.txid,
            "end_to_end_id": new_end_to_end_id(),
            "amount": format(amount if amount is not None else charge.amount, "f"),
            "paid_at": datetime.now(UTC).isoformat(),
            "payer_name": "Maria da Silva",
        },
        source="pix",
        **kwargs,
    )


def envelope_signed(signature: SignatureEnvelope, subject: Any | None = None, **kwargs: Any) -> EventEnvelope:
    return envelope(
        "esignature.envelope.signed",
        subject or signature.application_id,
        {
            "envelope_id": signature.envelope_id,
            "external_reference": f"loan-{signature.application_id}",
            "status": "signed",
            "occurred_at": datetime.now(UTC).isoformat(),
            "signer_id": "sig_1",
        },
        source="esignature",
        **kwargs,
    )


# --- Running stages ----------------------------------------------------------------------------------


@asynccontextmanager
async def running(parts: PipelineParts, *names: str, temporal: Client | None = None) -> AsyncIterator[list[Stage]]:
    """Run the named stages in this event loop until the block ends (then stop them gracefully)."""
    if temporal is not None:
        parts.temporal = temporal
    stages = build_stages(parts, names)
    stop = asyncio.Event()
    task = asyncio.create_task(run_stages(stages, stop))
    try:
        yield stages
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


# --- Reading topics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


def read_topic(
    settings: Settings, topic: str, *, until: int | Callable[[list[Record]], bool], timeout: float = 40.0
) -> list[Record]:
    """Committed records of ``topic``, read from the start until ``until`` holds (a count or a
    predicate) or ``timeout`` passes: a wait for progress. It proves nothing about what came after;
    for that, wait with :func:`consumed_through` and read with :func:`read_to_end`."""
    done = until if callable(until) else (lambda records: len(records) >= until)  # type: ignore[operator]
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"test-reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while not done(records) and time.monotonic() < deadline:
            message = consumer.poll(0.1)
            if message is None or message.error() is not None:
                continue
            records.append(_record(message))
        return records
    finally:
        consumer.close()


async def read(settings: Settings, topic: str, **kwargs: Any) -> list[Record]:
    return await asyncio.to_thread(read_topic, settings, topic, **kwargs)


def _record(message: Message) -> Record:
    return Record(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        key=message.key(),
        value=message.value(),
        headers={k: (v or b"").decode("utf-8", "replace") for k, v in (message.headers() or [])},
    )


# --- Positions in Kafka: the positive signals that nothing more is coming ----------------------------
#
# A test that must show something did NOT happen (no duplicate, no dead letter) waits for the stage's
# consumer group to have committed past every input it was given. A stage commits its input offsets
# in the Kafka transaction of its outputs (or, for the bridge, after them), so by then whatever it
# was going to write for those inputs is on the output topics; reading those to their end sees all.


def _admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})


def _partitions(admin: AdminClient, topic: str) -> list[int]:
    return sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions)


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """Each partition's end: the offset the next message will get. Only for a topic written without
    transactions (incoming, or one a test wrote itself): a transaction's commit marker takes an
    offset too, which no consumer ever commits past; use :func:`next_offsets` of what was read there."""
    admin = _admin(settings)
    requests = {TopicPartition(topic, p): OffsetSpec.latest() for p in _partitions(admin, topic)}
    return {tp.partition: future.result(10).offset for tp, future in admin.list_offsets(requests).items()}


def next_offsets(records: Sequence[Record]) -> dict[int, int]:
    """The offsets a consumer commits once it has read these records: the last one's, plus one."""
    positions: dict[int, int] = {}
    for record in records:
        positions[record.partition] = max(positions.get(record.partition, 0), record.offset + 1)
    return positions


def committed_offsets(settings: Settings, group: str, topic: str, admin: AdminClient | None = None) -> dict[int, int]:
    """What the consumer group has committed on ``topic``, by partition, as the admin API lists it."""
    admin = admin or _admin(settings)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in _partitions(admin, topic)])
    listed = admin.list_consumer_group_offsets([request])[group].result(10)
    return {tp.partition: tp.offset for tp in listed.topic_partitions if tp.offset >= 0}


async def consumed_through(
    settings: Settings, group: str, topic: str, targets: dict[int, int], *, timeout: float = 40.0
) -> None:
    """Wait until the group has committed at least ``targets`` on every partition of ``topic``: it
    has decided every message before them and (its commit going with its outputs) written them."""
    admin = _admin(settings)

    def reached() -> bool:
        committed = committed_offsets(settings, group, topic, admin)
        return all(committed.get(partition, 0) >= offset for partition, offset in targets.items())

    await eventually(lambda: asyncio.to_thread(reached), timeout=timeout, interval=0.1)


async def consumed_to_end(settings: Settings, group: str, topic: str, *, timeout: float = 40.0) -> None:
    """Wait until the group has committed past everything on ``topic`` (written without transactions) now."""
    targets = await asyncio.to_thread(end_offsets, settings, topic)
    await consumed_through(settings, group, topic, targets, timeout=timeout)


def read_topic_to_end(settings: Settings, topic: str) -> list[Record]:
    """Every committed record of ``topic``, read until the end of each partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"test-reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            # A partition at its end answers a fetch only after this wait: keep it short, a test reads to the end often.
            "fetch.wait.max.ms": 20,
        }
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records: list[Record] = []
        at_end: set[int] = set()
        while at_end != set(partitions):
            message = consumer.poll(10)
            assert message is not None, f"{topic} did not reach its end"
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                at_end.add(message.partition())
                continue
            at_end.discard(message.partition())
            records.append(_record(message))
        return records
    finally:
        consumer.close()


async def read_to_end(settings: Settings, topic: str) -> list[Record]:
    return await asyncio.to_thread(read_topic_to_end, settings, topic)


async def validated_only(settings: Settings, *, timeout: float = 40.0) -> list[Record]:
    """Once the validation stage has decided everything on incoming so far: all it validated."""
    topics = settings.kafka.topics
    await consumed_to_end(settings, settings.pipeline.groups.validation, topics.incoming, timeout=timeout)
    return await read_to_end(settings, topics.validated)


async def validated_and_trusted(settings: Settings, *, timeout: float = 40.0) -> tuple[list[Record], list[Record]]:
    """Once the validation and trusted stages have decided everything published on incoming so far:
    what each wrote, all of it (their dead letters are on the DLQ by then too)."""
    topics = settings.kafka.topics
    validated = await validated_only(settings, timeout=timeout)
    await consumed_through(
        settings, settings.pipeline.groups.trusted, topics.validated, next_offsets(validated), timeout=timeout
    )
    return validated, await read_to_end(settings, topics.trusted)


async def eventually(check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(interval)


def event_ids(records: Sequence[Record]) -> list[str]:
    ids = []
    for record in records:
        try:
            ids.append(str(json.loads(record.value or b"")["event_id"]))
        except (ValueError, KeyError, TypeError):
            ids.append(f"raw:{(record.value or b'').decode('utf-8', 'replace')}")
    return ids


class TcpProxy:
    """A loopback TCP proxy that a test can cut and restore: a dependency going down for real."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        for task in (
            asyncio.create_task(self._pipe(reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        for task in list(self._pipes):
            task.cancel()
        if server is not None:
            await server.wait_closed()


def produce_all(settings: Settings, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Produce many messages at once (idempotent, acks=all) and wait for every acknowledgement."""
    from confluent_kafka import Producer

    from pipeline.kafka import ATTEMPT_HEADER, idempotent_producer_config

    failures: list[str] = []
    producer = Producer(idempotent_producer_config(settings))
    for key, value in messages:
        while True:
            try:
                producer.produce(
                    topic,
                    key=key,
                    value=value,
                    headers=[(ATTEMPT_HEADER, b"1")],
                    on_delivery=lambda err, _msg: failures.append(str(err)) if err else None,
                )
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0 and not failures, failures
