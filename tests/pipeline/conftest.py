"""Fixtures of the pipeline tests: topics, groups and Redis keys of each test's own, the provider
simulator over real HTTP (its ECM and its webhooks), and the parts the stages are built from."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from pipeline_support import (
    PIPELINE_REDIS_DB,
    LenderRecords,
    Simulator,
    free_port,
    redis_url_with_db,
    serve_app,
)
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.ecm import EcmClient
from integrations.factory import provider_http_client
from integrations.webhooks import WebhookVerificationError
from lendflow.settings import KafkaTopics, PipelineGroups, Settings
from pipeline.intake import EventProducer
from pipeline.runner import PipelineParts
from pipeline.validation import EcmDocumentStore


@pytest.fixture
def pipeline_settings(settings: Settings, topic_suffix: str) -> Settings:
    """Settings whose topics, consumer groups, instance and Redis keys belong to this test alone."""
    tag = uuid.uuid4().hex[:10]
    topics = KafkaTopics(
        **{name: getattr(settings.kafka.topics, name) + topic_suffix for name in KafkaTopics.model_fields}
    )
    return settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"topics": topics}),
            "redis": settings.redis.model_copy(
                update={"url": SecretStr(redis_url_with_db(settings.redis.url.get_secret_value(), PIPELINE_REDIS_DB))}
            ),
            "pipeline": settings.pipeline.model_copy(
                update={
                    "groups": PipelineGroups(
                        validation=f"test-validation-{tag}", trusted=f"test-trusted-{tag}", bridge=f"test-bridge-{tag}"
                    ),
                    "instance_id": f"test-{tag}",
                    "batch_size": 200,
                    "poll_timeout_seconds": 0.2,
                    "retry_backoff_seconds": 0.2,
                    "retry_backoff_max_seconds": 1.0,
                    "session_timeout_ms": 6000,
                    "transaction_timeout_ms": 10000,
                    "redis_key_prefix": f"test:dedupe:{tag}",
                    "outbox_lock_key": random.randint(10**9, 2 * 10**9),
                    "outbox_poll_seconds": 0.1,
                }
            ),
        }
    )


@pytest.fixture
async def pipeline_redis(pipeline_settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(pipeline_settings.redis.url.get_secret_value())
    yield client
    await client.aclose()


# --- The provider simulator, served over real HTTP --------------------------------------------------


@pytest.fixture(scope="session")
async def simulator(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Simulator]:
    """The project's simulator on a free port, delivering its webhooks to a receiver of ours that
    verifies them as the API does and queues (provider, body, delivery id)."""
    from integrations.factory import webhook_verifier
    from simulator.app import create_app

    webhooks: asyncio.Queue[tuple[str, dict[str, Any], str]] = asyncio.Queue()
    receiver = FastAPI()

    @receiver.post("/{provider}")
    async def receive(provider: str, request: Request) -> dict[str, str]:
        raw = await request.body()
        try:
            verified = webhook_verifier(settings, provider).verify(dict(request.headers), raw)  # type: ignore[arg-type]
        except WebhookVerificationError:
            return {"status": "rejected"}
        await webhooks.put((provider, await request.json(), verified.webhook_id))
        return {"status": "accepted"}

    receiver_port, simulator_port = free_port(), free_port()
    sim_settings = settings.model_copy(
        update={
            "simulator": settings.simulator.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": simulator_port,
                    "data_dir": tmp_path_factory.mktemp("simulator"),
                    "webhook_target_base_url": f"http://127.0.0.1:{receiver_port}/",
                    "settlement_delay_seconds": 0.1,
                }
            )
        }
    )
    receiver_server, receiver_task = await serve_app(receiver, receiver_port)
    server, task = await serve_app(create_app(sim_settings), simulator_port)
    yield Simulator(url=f"http://127.0.0.1:{simulator_port}", settings=sim_settings, webhooks=webhooks)
    server.should_exit = True
    receiver_server.should_exit = True
    await asyncio.gather(task, receiver_task)


@pytest.fixture
async def ecm(simulator: Simulator) -> AsyncIterator[EcmClient]:
    http = provider_http_client(simulator.provider("ecm"))
    yield EcmClient(http)
    await http.aclose()


@pytest.fixture
def records(session_maker: async_sessionmaker[AsyncSession]) -> LenderRecords:
    return LenderRecords(session_maker)


@pytest.fixture
async def producer(pipeline_settings: Settings) -> AsyncIterator[EventProducer]:
    """The intake producer, on this test's incoming topic."""
    producer = EventProducer(pipeline_settings)
    yield producer
    await producer.aclose()


@pytest.fixture
async def parts(
    pipeline_settings: Settings,
    pipeline_redis: aioredis.Redis,
    session_maker: async_sessionmaker[AsyncSession],
    ecm: EcmClient,
) -> PipelineParts:
    return PipelineParts(
        settings=pipeline_settings, sessions=session_maker, redis=pipeline_redis, documents=EcmDocumentStore(ecm)
    )
