"""A stage lives through Kafka failing without exiting, and says when its lag cannot be read.

Both run on the shared broker without harming it: the fenced producer is a second producer with the
stage's own transactional id (what a zombie replica does), and the unreadable lag comes from a
consumer whose position query fails as it does while the broker is away.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from pipeline_support import LenderRecords, charge_paid, event_ids, eventually, produce_all, read, validated_only
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from lendflow.settings import Settings
from pipeline import stage as stage_module
from pipeline.kafka import transactional_producer_config
from pipeline.runner import PipelineParts, build_stages, run_stages
from pipeline.stage import TransactionalStage


@contextmanager
def stage_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What the stage module logs inside the block (a fresh logger: one cached earlier in the
    session, with caching on, would bypass the capture)."""
    with capture_logs() as logs:
        monkeypatch.setattr(stage_module, "log", structlog.get_logger(stage_module.__name__))
        yield logs


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


class _PositionUnreadable:
    """A real consumer whose position query fails as it does while the broker is away."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    def __getattr__(self, name: str) -> object:
        return getattr(self._consumer, name)

    def position(self, partitions: object) -> object:
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "broker transport failure"))


async def test_a_lag_that_cannot_be_read_is_marked_stale_and_logged_until_it_can_be_read_again(
    parts: PipelineParts, pipeline_settings: Settings, records: LenderRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = pipeline_settings.kafka.topics
    charge = await records.charge(await records.application(status="disbursed"))
    events = [charge_paid(charge) for _ in range(5)]
    await asyncio.to_thread(
        produce_all, pipeline_settings, topics.incoming, [(e.subject.encode(), e.to_bytes()) for e in events]
    )
    (stage,) = build_stages(parts, ["validation"])
    assert isinstance(stage, TransactionalStage)
    group = pipeline_settings.pipeline.groups.validation
    labels = {"group": group, "topic": topics.incoming}
    await asyncio.to_thread(stage._recover)
    try:
        await eventually(lambda: asyncio.to_thread(lambda: bool(stage._poll() or stage._consumer.assignment())))  # type: ignore[union-attr]
        real = stage._consumer
        assert real is not None
        await asyncio.to_thread(stage._record_lag)
        assert _sample("lendflow_pipeline_consumer_lag_stale", **labels) == 0
        failures_before = _sample("lendflow_pipeline_lag_read_failures_total", **labels) or 0.0

        stage._consumer = _PositionUnreadable(real)  # type: ignore[assignment]
        with stage_logs(monkeypatch) as logs:
            await asyncio.to_thread(stage._record_lag)
            await asyncio.to_thread(stage._record_lag)
        assert _sample("lendflow_pipeline_consumer_lag_stale", **labels) == 1
        assert _sample("lendflow_pipeline_lag_read_failures_total", **labels) == failures_before + 2
        unknown = [entry for entry in logs if entry["event"] == "pipeline.lag_unknown"]
        assert len(unknown) == 1, "one warning when the lag turns stale, not one per poll"
        assert unknown[0]["log_level"] == "warning" and unknown[0]["error_code"] == "_TRANSPORT"

        stage._consumer = real
        with stage_logs(monkeypatch) as logs:
            await asyncio.to_thread(stage._record_lag)
        assert _sample("lendflow_pipeline_consumer_lag_stale", **labels) == 0
        assert [entry["event"] for entry in logs] == ["pipeline.lag_known_again"]
    finally:
        await asyncio.to_thread(stage._close)


async def test_a_stage_whose_producer_is_fenced_replaces_it_and_goes_on_with_every_event_once(
    parts: PipelineParts, pipeline_settings: Settings, records: LenderRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A producer with the stage's transactional id fences the stage's own (a fatal error for it):
    the stage must neither exit nor lose or double an event."""
    topics = pipeline_settings.kafka.topics
    charge = await records.charge(await records.application(status="disbursed"))
    before = [charge_paid(charge) for _ in range(30)]
    after = [charge_paid(charge) for _ in range(30)]
    (stage,) = build_stages(parts, ["validation"])
    assert isinstance(stage, TransactionalStage)
    stop = asyncio.Event()
    task = asyncio.create_task(run_stages([stage], stop))
    recoveries = _sample("lendflow_pipeline_kafka_recoveries_total", stage="validation", error_code="_FENCED") or 0.0
    try:
        await asyncio.to_thread(
            produce_all, pipeline_settings, topics.incoming, [(e.subject.encode(), e.to_bytes()) for e in before]
        )
        await read(pipeline_settings, topics.validated, until=len(before))

        def fence() -> None:
            zombie = Producer(transactional_producer_config(pipeline_settings, f"{stage.group_id}.{stage._member}"))
            zombie.init_transactions(30)

        await asyncio.to_thread(fence)
        with stage_logs(monkeypatch) as logs:
            await asyncio.to_thread(
                produce_all, pipeline_settings, topics.incoming, [(e.subject.encode(), e.to_bytes()) for e in after]
            )
            validated = await validated_only(pipeline_settings)
        assert not task.done(), "the stage exited"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)

    replaced = [e for e in logs if e["event"] == "pipeline.kafka_client_replaced" and e.get("client") == "producer"]
    assert replaced, "the fenced producer was not replaced"
    assert Counter(event_ids(validated)) == Counter(str(e.event_id) for e in before + after)
    assert (
        _sample("lendflow_pipeline_kafka_recoveries_total", stage="validation", error_code="_FENCED") >= recoveries + 1
    )
