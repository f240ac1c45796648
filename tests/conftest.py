"""Fixtures that meet the real stack.

The services (PostgreSQL, Redis, Kafka, Temporal) are brought up once per session, or reused when
they already run (`make test` starts them first). Each test session gets a database of its own,
migrated from scratch and dropped at the end; each test takes fresh ids (uuid task queues and
workflow ids, topic suffixes, Redis key prefixes) so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from integrations.factory import ProviderClients
from lendflow.services import drop_topics, ensure_topics, services_up
from lendflow.settings import Settings
from lendflow.temporal import connect
from storage.db import create_engine, create_session_maker
from storage.migrate import upgrade_to_head
from workers.temporal_worker import build_worker, project_activities

# Fixtures whose set-up starts or reaches a service: the local stack (PostgreSQL, Redis, Kafka, the
# Temporal dev server), the provider simulator and the webhook receiver (servers on loopback), the
# time-skipping test server, other processes (the supervisor, the api and worker processes, a Kafka
# broker of a test's own), a browser, and the deployment tools (helm, kubeconform, docker compose,
# terraform, tflint, checkov: each is installed by a script and run as a process). A test asks for
# them directly or through other fixtures (`item.fixturenames` is the closure), so every fixture that
# builds on `stack` or `settings` is covered by naming `stack` here.
SERVICE_FIXTURES = frozenset(
    {
        # the local stack and everything built on it
        "stack",
        "settings",
        "engine",
        "session_maker",
        "redis",
        "topic_suffix",
        "temporal_client",
        "worker",
        # the provider simulator and the webhook receiver, served on loopback
        "providers",
        "live_simulator",
        "webhook_inbox",
        "simulator",
        "simulator_settings",
        # the time-skipping Temporal test server
        "env",
        "isolated_env",
        # processes a test starts, a browser, whole stacks
        "process",
        "supervise",
        "broker",
        "browser",
        "journey_stack",
        "app_stack",
        "ui_stack",
        # deployment tools, installed and run as processes
        "tools",
        "docker",
        "terraform",
        "tflint",
        "checkov",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs a service with `services`, so `pytest -m "not services"` is the fast loop."""
    services = pytest.mark.services
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(services)


def _plain_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings(environment="test")


@pytest.fixture(scope="session")
def stack(base_settings: Settings) -> Settings:
    """The local services, up (started now, or found running)."""
    services_up(base_settings)
    return base_settings


@pytest.fixture(scope="session")
def settings(stack: Settings) -> Iterator[Settings]:
    """Settings pointing at a database created for this test session and migrated to head."""
    app_dsn = stack.postgres.dsn.get_secret_value()
    name = f"lendflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain_dsn(app_dsn), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    test_dsn = app_dsn.rsplit("/", 1)[0] + "/" + name
    upgrade_to_head(test_dsn)
    yield stack.model_copy(update={"postgres": stack.postgres.model_copy(update={"dsn": SecretStr(test_dsn)})})
    with psycopg.connect(_plain_dsn(app_dsn), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.postgres)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_maker(engine)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(settings.redis.url.get_secret_value())
    yield client
    await client.aclose()


@pytest.fixture
def topic_suffix(settings: Settings) -> Iterator[str]:
    """A suffix for this test's own copies of the project's topics, created before the test runs and
    deleted after it."""
    suffix = f".test-{uuid.uuid4().hex[:10]}"
    names = ensure_topics(settings, suffix=suffix)
    yield suffix
    drop_topics(settings, names)


@pytest.fixture(scope="session")
async def temporal_client(settings: Settings) -> Client:
    return await connect(settings.temporal)


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
async def providers(settings: Settings) -> AsyncIterator[ProviderClients]:
    """The typed provider clients, pointed at the provider simulator from settings."""
    async with ProviderClients.from_settings(settings) as clients:
        yield clients


@pytest.fixture
async def worker(
    temporal_client: Client,
    task_queue: str,
    session_maker: async_sessionmaker[AsyncSession],
    providers: ProviderClients,
) -> AsyncIterator[Worker]:
    """The project's worker (every workflow and activity), polling a task queue of this test's own."""
    worker = build_worker(temporal_client, task_queue, project_activities(session_maker, providers))
    async with worker:
        yield worker
