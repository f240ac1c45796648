"""Kill -9 the pipeline process mid-stream, restart it: nothing is lost and nothing is doubled.

The pipeline runs as `python -m lendflow pipeline` in a subprocess of its own, configured only by
environment variables (as in production), against this test's topics, consumer groups and the
session's database. It is SIGKILLed twice while batches are in flight, then restarted; every input
must end in exactly one of trusted or the DLQ.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pipeline_support import (
    LenderRecords,
    charge_paid,
    event_ids,
    free_port,
    produce_all,
    read,
    read_to_end,
    running,
    validated_and_trusted,
    validated_only,
)

from lendflow import REPO_ROOT
from lendflow.settings import Settings
from pipeline.runner import PipelineParts, ledger
from pipeline.validation import ValidationStage

EVENTS = 3000


def _environment(settings: Settings, metrics_port: int) -> dict[str, str]:
    topics, pipeline = settings.kafka.topics, settings.pipeline
    return {
        **os.environ,
        "LENDFLOW_ENVIRONMENT": "test",
        "LENDFLOW_LOG_LEVEL": "WARNING",
        "LENDFLOW_POSTGRES__DSN": settings.postgres.dsn.get_secret_value(),
        "LENDFLOW_REDIS__URL": settings.redis.url.get_secret_value(),
        "LENDFLOW_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "LENDFLOW_KAFKA__TOPICS__INCOMING": topics.incoming,
        "LENDFLOW_KAFKA__TOPICS__VALIDATED": topics.validated,
        "LENDFLOW_KAFKA__TOPICS__DLQ": topics.dlq,
        "LENDFLOW_KAFKA__TOPICS__TRUSTED": topics.trusted,
        "LENDFLOW_KAFKA__TOPICS__EVENTS": topics.events,
        "LENDFLOW_PIPELINE__GROUPS__VALIDATION": pipeline.groups.validation,
        "LENDFLOW_PIPELINE__GROUPS__TRUSTED": pipeline.groups.trusted,
        "LENDFLOW_PIPELINE__INSTANCE_ID": pipeline.instance_id or "",
        "LENDFLOW_PIPELINE__REDIS_KEY_PREFIX": pipeline.redis_key_prefix,
        "LENDFLOW_PIPELINE__BATCH_SIZE": "100",
        "LENDFLOW_PIPELINE__TRANSACTION_TIMEOUT_MS": str(pipeline.transaction_timeout_ms),
        "LENDFLOW_PIPELINE__SESSION_TIMEOUT_MS": str(pipeline.session_timeout_ms),
        "LENDFLOW_PIPELINE__METRICS_PORT": str(metrics_port),
    }


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lendflow", "pipeline", "--stage", "validation", "--stage", "trusted",
             "--skip-migrations"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


async def _metrics(port: int) -> str:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                return (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError("the pipeline process serves no metrics")


async def test_killing_the_pipeline_mid_batch_and_restarting_it_loses_nothing_and_duplicates_nothing(
    pipeline_settings: Settings, records: LenderRecords, tmp_path: Path
) -> None:
    topics = pipeline_settings.kafka.topics
    charges = []
    for _ in range(12):  # twelve subjects, spread over the partitions
        charges.append(await records.charge(await records.application(status="disbursed"), amount=Decimal("250.00")))
    rng = random.Random(7)
    messages: list[tuple[bytes | None, bytes]] = []
    expected_trusted: set[str] = set()
    expected_dead: set[str] = set()
    for n in range(EVENTS):
        charge = charges[n % len(charges)]
        roll = rng.random()
        if roll < 0.05:
            event = charge_paid(charge, amount=Decimal("1.00"))  # no such amount: dead-lettered
            expected_dead.add(str(event.event_id))
        elif roll < 0.07:
            poison = f"poison {uuid.uuid4()}".encode()
            messages.append((str(charge.application_id).encode(), poison))
            expected_dead.add(f"raw:{poison.decode()}")
            continue
        else:
            event = charge_paid(charge)
            expected_trusted.add(str(event.event_id))
        messages.append((event.subject.encode(), event.to_bytes()))
        if rng.random() < 0.1:  # a redelivery, a little later in the stream
            messages.append((event.subject.encode(), event.to_bytes()))
    await asyncio.to_thread(produce_all, pipeline_settings, topics.incoming, messages)

    metrics_port = free_port()
    env = _environment(pipeline_settings, metrics_port)
    log = tmp_path / "pipeline.log"
    process = _start(env, log)
    kills = 0
    try:
        for progress in (400, 1400):
            await read(pipeline_settings, topics.trusted, until=progress, timeout=90)
            await asyncio.sleep(rng.uniform(0.0, 0.2))  # somewhere inside a batch
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
            kills += 1
            process = _start(env, log)
        exposed = await _metrics(metrics_port)
        # Both stages committed past every input: all they will ever write for it is on the topics.
        _, trusted = await validated_and_trusted(pipeline_settings, timeout=120)
        dead = await read_to_end(pipeline_settings, topics.dlq)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            exit_code = await asyncio.to_thread(process.wait, 30)
        else:
            exit_code = process.returncode
    output = log.read_text(errors="replace")

    assert kills == 2
    assert exit_code == 0, output[-3000:]
    assert "lendflow_pipeline_consumed_total" in exposed
    trusted_ids, dead_ids = Counter(event_ids(trusted)), Counter(event_ids(dead))
    assert set(trusted_ids) == expected_trusted, "lost or misrouted events"
    assert set(dead_ids) == expected_dead
    assert max(trusted_ids.values()) == 1, "an event reached trusted twice"
    assert max(dead_ids.values()) == 1, "a message was dead-lettered twice"
    assert not set(trusted_ids) & set(dead_ids)


class ProcessDied(BaseException):
    """The process vanished: nothing after this point of the batch runs, nothing is cleaned up."""


class _Dying:
    """Passes every call through, but dies at the moment the batch's input offsets would commit —
    after the batch's output was produced and acknowledged by the broker."""

    def __init__(self, client: object, producer: object | None = None) -> None:
        self._client = client
        self._producer = producer

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def send_offsets_to_transaction(self, *args: object, **kwargs: object) -> None:
        self._client.flush(30)  # type: ignore[attr-defined]
        raise ProcessDied

    def commit(self, *args: object, **kwargs: object) -> None:
        if self._producer is not None:
            self._producer.flush(30)  # type: ignore[attr-defined]
        raise ProcessDied

    def close(self) -> None:  # a dead consumer leaves nothing, commits nothing
        self._client.close()  # type: ignore[attr-defined]

    def flush(self, *args: object) -> int:  # a dead producer neither flushes nor aborts
        return 0


class DiesBeforeCommitting(ValidationStage):
    def _open(self) -> None:
        super()._open()
        self.abandoned = self._producer
        self._producer = _Dying(self._producer)  # type: ignore[assignment]
        self._consumer = _Dying(self._consumer, producer=self.abandoned)  # type: ignore[assignment]


async def test_a_batch_whose_process_died_before_committing_leaves_no_trace_downstream(
    parts: PipelineParts, pipeline_settings: Settings, records: LenderRecords
) -> None:
    """The exact window between producing a batch's output and committing its offsets: the restarted
    stage fences the dead one's transaction and redoes the batch, so each event is validated once."""
    topics = pipeline_settings.kafka.topics
    charge = await records.charge(await records.application(status="disbursed"))
    events = [charge_paid(charge) for _ in range(50)]
    await asyncio.to_thread(
        produce_all, pipeline_settings, topics.incoming, [(e.subject.encode(), e.to_bytes()) for e in events]
    )
    validation_ledger = ledger(
        pipeline_settings, pipeline_settings.pipeline.groups.validation, parts.redis, parts.sessions
    )

    def stage(kind: type[ValidationStage]) -> ValidationStage:
        return kind(
            pipeline_settings, ledger=validation_ledger, session_maker=parts.sessions, documents=parts.documents
        )  # type: ignore[arg-type]

    dying = stage(DiesBeforeCommitting)
    with pytest.raises(ProcessDied):
        await dying.run(asyncio.Event())
    async with running(parts, "validation"):
        validated = await validated_only(pipeline_settings)
    del dying

    assert Counter(event_ids(validated)) == Counter(str(e.event_id) for e in events)
