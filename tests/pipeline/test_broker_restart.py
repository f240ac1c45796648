"""Kill -9 the Kafka broker mid-stream, twice, and start it again: the stages resume on their own.

The broker is the test's own (:mod:`own_broker`), never the shared one. The validation and trusted
stages run in this event loop against it; events are fed in three waves, the broker is killed
while a wave is in flight and brought back after a pause. Every event must end exactly once in
trusted, within a bounded time of the broker's return, and no stage may have exited meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from own_broker import OwnKafka
from pipeline_support import LenderRecords, charge_paid, event_ids, produce_all, read, validated_and_trusted

from lendflow.services import ensure_topics
from lendflow.settings import Settings
from pipeline.runner import PipelineParts, build_stages, run_stages

WAVE = 400
# How long the broker stays down (the outage first reported lasted 20 s; shorter keeps the suite quick, and the
# reconnect backoff it exposes is capped well below it).
PAUSE_SECONDS = float(os.environ.get("LENDFLOW_TEST_BROKER_PAUSE", "8"))
# From the broker's return to the wave's last event trusted.
RESUME_WITHIN_SECONDS = 45.0


@pytest.fixture
def broker(pipeline_settings: Settings, tmp_path: Path) -> OwnKafka:
    kafka = OwnKafka.for_test(pipeline_settings, tmp_path / "run")
    kafka.up()
    yield kafka
    kafka.stop()


@pytest.mark.timeout(600)
async def test_stages_resume_after_the_broker_is_killed_and_restarted_twice_with_every_event_trusted_once(
    broker: OwnKafka, parts: PipelineParts, records: LenderRecords
) -> None:
    settings = broker.settings
    ensure_topics(settings)
    topics = settings.kafka.topics
    parts.settings = settings
    charges = [
        await records.charge(await records.application(status="disbursed"), amount=Decimal("250.00")) for _ in range(9)
    ]
    waves = [[charge_paid(charges[n % len(charges)]) for n in range(WAVE)] for _ in range(3)]

    stages = build_stages(parts, ["validation", "trusted"])
    stop = asyncio.Event()
    pipeline = asyncio.create_task(run_stages(stages, stop))
    seen: list[str] = []
    try:
        for number, wave in enumerate(waves):
            await asyncio.to_thread(
                produce_all, settings, topics.incoming, [(e.subject.encode(), e.to_bytes()) for e in wave]
            )
            expected = sum(len(w) for w in waves[: number + 1])
            if number < 2:
                # Somewhere in the middle of the wave: some of it trusted, the rest in flight.
                await read(settings, topics.trusted, until=expected - WAVE // 2, timeout=60)
                await asyncio.to_thread(broker.kill)
                await asyncio.sleep(PAUSE_SECONDS)
                assert not pipeline.done(), "a stage exited while the broker was down"
                await asyncio.to_thread(broker.restart)
            returned = time.monotonic()
            trusted = await read(settings, topics.trusted, until=expected, timeout=RESUME_WITHIN_SECONDS + 30)
            took = time.monotonic() - returned
            print(f"wave {number}: all {expected} trusted {took:.1f}s after the broker was back")
            seen = event_ids(trusted)
            assert len(set(seen)) >= expected, f"wave {number}: {len(set(seen))} of {expected} trusted"
            assert took <= RESUME_WITHIN_SECONDS, f"wave {number} took {took:.1f}s after the broker returned"
            assert not pipeline.done(), "a stage exited"
        # Both stages committed past every input: all they will ever write for it is on trusted.
        _, trusted = await validated_and_trusted(settings, timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(pipeline, timeout=60)

    counts = Counter(event_ids(trusted))
    assert set(counts) == {str(e.event_id) for wave in waves for e in wave}, "lost or foreign events"
    assert max(counts.values()) == 1, "an event reached trusted twice"
