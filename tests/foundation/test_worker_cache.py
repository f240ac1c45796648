"""The worker's sticky cache is bounded by settings: the value configured is the one the Worker gets."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from temporalio.client import Client

from lendflow.settings import Settings, TemporalSettings
from workers.temporal_worker import build_worker


def test_the_cache_size_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDFLOW_TEMPORAL__WORKER_MAX_CACHED_WORKFLOWS", "37")
    assert Settings().temporal.worker_max_cached_workflows == 37


def test_a_negative_cache_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="worker_max_cached_workflows"):
        TemporalSettings(worker_max_cached_workflows=-1)


async def test_the_configured_cache_size_reaches_the_worker(
    temporal_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDFLOW_TEMPORAL__WORKER_MAX_CACHED_WORKFLOWS", "37")
    configured = Settings().temporal.worker_max_cached_workflows
    worker = build_worker(temporal_client, f"test-{uuid.uuid4()}", [], max_cached_workflows=configured)
    assert worker.config()["max_cached_workflows"] == 37


async def test_without_a_value_the_worker_gets_the_documented_default(temporal_client: Client) -> None:
    worker = build_worker(temporal_client, f"test-{uuid.uuid4()}", [])
    assert worker.config()["max_cached_workflows"] == TemporalSettings().worker_max_cached_workflows
