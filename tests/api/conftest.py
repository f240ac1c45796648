"""Fixtures of the API tests: the real app (its lifespan, PostgreSQL, Redis, Kafka, Temporal) over
ASGI, the provider simulator over real HTTP on a free port, topics and Redis keys of the tests' own,
and the project's worker on each test's own task queue (the app starts workflows there)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import PASSWORD, ServerThread, free_port, serve_over_asgi
from temporalio.client import Client

from api.security import hash_password
from integrations.factory import ProviderClients
from lendflow.services import drop_topics, ensure_topics
from lendflow.settings import (
    CreditBureauSettings,
    EcmSettings,
    ESignatureSettings,
    FederalRevenueSettings,
    KafkaTopics,
    PixSettings,
    ProvidersSettings,
    Settings,
    SimulatorSettings,
)
from simulator.app import create_app as create_simulator
from storage.repositories.operators import create_operator


def _simulator_settings(port: int, run_dir: Path) -> Settings:
    base = f"http://127.0.0.1:{port}"
    return Settings(
        environment="test",
        run_dir=run_dir,
        simulator=SimulatorSettings(
            port=port,
            settlement_delay_seconds=0.1,
            webhook_max_attempts=1,
            webhook_retry_base_seconds=0.05,
            # Nobody listens there: the API tests sign their own webhooks.
            webhook_target_base_url=f"http://127.0.0.1:{free_port()}/v1/webhooks/",
        ),
        providers=ProvidersSettings(
            federal_revenue=FederalRevenueSettings(
                base_url=f"{base}/federal-revenue", api_key=SecretStr("api-test-key")
            ),
            credit_bureau=CreditBureauSettings(base_url=f"{base}/credit-bureau", api_key=SecretStr("api-test-key")),
            ecm=EcmSettings(base_url=f"{base}/ecm", api_key=SecretStr("api-test-key")),
            esignature=ESignatureSettings(
                base_url=f"{base}/esignature",
                api_key=SecretStr("api-test-key"),
                webhook_secrets=[SecretStr("esig-current"), SecretStr("esig-previous")],
            ),
            pix=PixSettings(
                base_url=f"{base}/pix", api_key=SecretStr("api-test-key"), webhook_secrets=[SecretStr("pix-current")]
            ),
        ),
    )


@pytest.fixture(scope="session")
def simulator_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The provider simulator, served over real HTTP for the whole session."""
    port = free_port()
    settings = _simulator_settings(port, tmp_path_factory.mktemp("api-simulator"))
    server = ServerThread(create_simulator(settings), port)
    server.start()
    yield settings
    server.stop()


@pytest.fixture(scope="session")
def api_topic_suffix(settings: Settings) -> Iterator[str]:
    suffix = f".api-{uuid.uuid4().hex[:10]}"
    names = ensure_topics(settings, suffix=suffix)
    yield suffix
    drop_topics(settings, names)


@pytest.fixture
async def providers(simulator_settings: Settings) -> AsyncIterator[ProviderClients]:
    """The worker's provider clients, pointed at this suite's simulator."""
    async with ProviderClients.from_settings(simulator_settings) as clients:
        yield clients


@pytest.fixture
def api_settings(settings: Settings, simulator_settings: Settings, task_queue: str, api_topic_suffix: str) -> Settings:
    """The test database, the simulator's providers, this test's task queue, topics and Redis keys."""
    topics = KafkaTopics(
        **{name: getattr(settings.kafka.topics, name) + api_topic_suffix for name in KafkaTopics.model_fields}
    )
    return settings.model_copy(
        update={
            "providers": simulator_settings.providers,
            "temporal": settings.temporal.model_copy(update={"task_queue": task_queue}),
            "kafka": settings.kafka.model_copy(update={"topics": topics}),
            "auth": settings.auth.model_copy(update={"redis_key_prefix": f"test:auth:{uuid.uuid4().hex[:10]}"}),
        }
    )


async def stop_workflows_of(client: Client, task_queue: str) -> None:
    """Terminate what this test left running on its own task queue (nobody polls it afterwards)."""
    with contextlib.suppress(Exception):
        async for execution in client.list_workflows(f'TaskQueue="{task_queue}" AND ExecutionStatus="Running"'):
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate("test finished")


@pytest.fixture
async def api(api_settings: Settings, temporal_client: Client) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_over_asgi(api_settings) as client:
        yield client
    await stop_workflows_of(temporal_client, api_settings.temporal.task_queue)


@pytest.fixture
def new_operator(session_maker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    """``await new_operator()`` → the username of a fresh operator whose password is PASSWORD."""

    async def make() -> str:
        username = f"ops-{uuid.uuid4().hex[:10]}"
        await create_operator(session_maker, username, await hash_password(PASSWORD))
        return username

    return make


@pytest.fixture
async def simulator_admin(simulator_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's admin API; faults set through it are cleared after the test."""
    base = simulator_settings.providers.ecm.base_url.rsplit("/", 1)[0]
    async with httpx.AsyncClient(base_url=f"{base}/_admin/") as client:
        yield client
        await client.delete("faults")
