"""A live provider simulator and a live webhook receiver, both over real loopback HTTP.

The simulator runs in its own thread (its own event loop, like a separate process would) on a
free port, with short settlement and retry delays; the receiver is a tiny Starlette app that
records every delivery so a test can verify it with the real verifier.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from stack_support import ServerThread, free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integrations.cpf import cpf_check_digits
from integrations.factory import ProviderClients, webhook_verifier
from integrations.webhooks import WebhookEvent
from lendflow.settings import (
    CreditBureauSettings,
    EcmSettings,
    ESignatureSettings,
    FederalRevenueSettings,
    PixSettings,
    ProvidersSettings,
    Settings,
    SimulatorSettings,
)
from simulator.app import create_app

SIMULATOR_ISPB = "12345678"


def _make_cpf(prefix: str = "") -> str:
    while True:
        base = prefix + "".join(random.choice("0123456789") for _ in range(9 - len(prefix)))
        if len(set(base)) > 1:
            return base + cpf_check_digits(base)


@pytest.fixture
def new_cpf() -> Callable[..., str]:
    """``new_cpf(prefix="")``: a fresh valid CPF starting with ``prefix`` (see simulator.people)."""
    return _make_cpf


@pytest.fixture
def new_id() -> Callable[[str], str]:
    """``new_id("loan")`` → ``"loan-3f9c…"``, unique per call."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Delivery:
    provider: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> WebhookEvent:
        return WebhookEvent.model_validate_json(self.body)


class WebhookInbox:
    """Records deliveries; can refuse the first N deliveries whose body contains a marker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._refusals: dict[str, int] = {}
        self.url = ""

    def refuse(self, marker: str, times: int) -> None:
        with self._lock:
            self._refusals[marker] = times

    def record(self, delivery: Delivery) -> bool:
        with self._lock:
            for marker, left in self._refusals.items():
                if left > 0 and marker.encode() in delivery.body:
                    self._refusals[marker] = left - 1
                    return False
            self._deliveries.append(delivery)
            return True

    def matching(self, predicate: Callable[[Delivery], bool]) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if predicate(d)]

    async def wait_for(
        self, predicate: Callable[[Delivery], bool], *, count: int = 1, timeout: float = 5.0
    ) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} deliveries, got {len(found)}")
            await asyncio.sleep(0.02)


def _receiver_app(inbox: WebhookInbox) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        delivery = Delivery(provider=request.path_params["provider"], headers=dict(request.headers), body=body)
        return Response(status_code=200 if inbox.record(delivery) else 503)

    return Starlette(routes=[Route("/v1/webhooks/{provider}", receive, methods=["POST"])])


@pytest.fixture(scope="session")
def webhook_inbox() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox()
    server = ServerThread(_receiver_app(inbox), free_port())
    server.start()
    inbox.url = server.url
    yield inbox
    server.stop()


def _settings_for(port: int, run_dir: Path, webhook_base: str) -> Settings:
    base = f"http://127.0.0.1:{port}"
    return Settings(
        environment="test",
        run_dir=run_dir,
        simulator=SimulatorSettings(
            port=port,
            pix_ispb=SIMULATOR_ISPB,
            settlement_delay_seconds=0.1,
            webhook_retry_base_seconds=0.05,
            webhook_max_attempts=4,
        ),
        providers=ProvidersSettings(
            federal_revenue=FederalRevenueSettings(base_url=f"{base}/federal-revenue", api_key=SecretStr("test-key")),
            credit_bureau=CreditBureauSettings(base_url=f"{base}/credit-bureau", api_key=SecretStr("test-key")),
            ecm=EcmSettings(base_url=f"{base}/ecm", api_key=SecretStr("test-key")),
            esignature=ESignatureSettings(
                base_url=f"{base}/esignature",
                api_key=SecretStr("test-key"),
                webhook_secrets=[SecretStr("esig-current"), SecretStr("esig-previous")],
            ),
            pix=PixSettings(
                base_url=f"{base}/pix",
                api_key=SecretStr("test-key"),
                webhook_secrets=[SecretStr("pix-current")],
            ),
            webhook_target_base_url=f"{webhook_base}/v1/webhooks/",
        ),
    )


@dataclass(frozen=True)
class LiveSimulator:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def live_simulator(webhook_inbox: WebhookInbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSimulator]:
    port = free_port()
    settings = _settings_for(port, tmp_path_factory.mktemp("run"), webhook_inbox.url)
    server = ServerThread(create_app(settings), port)
    server.start()
    yield LiveSimulator(url=server.url, settings=settings)
    server.stop()


@pytest.fixture
def simulator_settings(live_simulator: LiveSimulator) -> Settings:
    return live_simulator.settings


@pytest.fixture
def simulator_url(live_simulator: LiveSimulator) -> str:
    return live_simulator.url


@pytest.fixture
def unreachable_http() -> Callable[[], httpx.AsyncClient]:
    """An HTTP client whose base URL is a loopback port nobody listens on."""
    port = free_port()
    return lambda: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/credit-bureau", timeout=2)


@pytest.fixture(scope="session")
async def providers(live_simulator: LiveSimulator) -> AsyncIterator[ProviderClients]:
    """The real clients, built from settings by the factory, pointed at the live simulator."""
    async with ProviderClients.from_settings(live_simulator.settings) as clients:
        yield clients


@pytest.fixture(scope="session")
async def _admin_session(live_simulator: LiveSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{live_simulator.url}/_admin/") as client:
        yield client


@pytest.fixture
async def admin(_admin_session: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's admin API; every fault set through it is cleared after the test."""
    yield _admin_session
    await _admin_session.delete("faults")


@pytest.fixture
def verify(live_simulator: LiveSimulator) -> Callable[[Delivery], WebhookEvent]:
    """Verify a delivery with the API's verifier for its provider and return its event."""

    def check(delivery: Delivery) -> WebhookEvent:
        verifier = webhook_verifier(live_simulator.settings, delivery.provider)  # type: ignore[arg-type]
        verified = verifier.verify(delivery.headers, delivery.body)
        event = delivery.event
        assert verified.webhook_id == event.id
        return event

    return check
