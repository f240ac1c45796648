"""Helpers of the suites that drive the real stack: people the simulator knows, accounts, servers, Kafka reads, polling."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from confluent_kafka import Message

from api.main import create_app
from integrations.cpf import cpf_check_digits, format_cpf
from lendflow.settings import (
    CreditBureauSettings,
    EcmSettings,
    ESignatureSettings,
    FederalRevenueSettings,
    KafkaTopics,
    PipelineGroups,
    PixSettings,
    ProvidersSettings,
    Settings,
    SimulatorSettings,
)
from pipeline.kafka import read_committed
from simulator.people import credit_profile_for, registration_for

T = TypeVar("T")
PASSWORD = "correct horse battery staple"


def new_cpf(*, min_score: int = 800) -> str:
    """A fresh valid CPF, regular at the Federal Revenue, whose bureau score is at least ``min_score``.

    Drawn from all nine-digit bases (the simulator's documented 997/998/999 prefixes left out), so
    two tests of a session practically never draw the same one.
    """
    while True:
        base = "".join(random.choice("0123456789") for _ in range(9))
        if base.startswith("99") or len(set(base)) == 1:
            continue
        cpf = base + cpf_check_digits(base)
        if credit_profile_for(cpf).score >= min_score:
            return cpf


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def serve_over_asgi(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, its lifespan entered, behind an httpx client over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=30) as client:
            yield client


class ServerThread:
    """A uvicorn server on its own thread and event loop (like a separate process)."""

    def __init__(self, app: object, port: int) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Account:
    customer_id: str
    email: str
    cpf: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


# A postal address as the register body takes it (the CCB names the borrower with it).
ADDRESS: dict[str, str] = {
    "postal_code": "01310-100",
    "street": "Avenida Paulista",
    "number": "1578",
    "district": "Bela Vista",
    "city": "São Paulo",
    "state": "SP",
}


def registration(
    cpf: str | None = None, *, matching: bool = True, income: str = "20000.00", **overrides: Any
) -> dict[str, Any]:
    """A register body; ``matching`` takes the name and birth date the Federal Revenue has for the CPF."""
    cpf = cpf or new_cpf()
    known = registration_for(cpf)
    body: dict[str, Any] = {
        "name": known.name if matching else "Fulano de Tal",
        "email": f"c-{uuid.uuid4().hex[:12]}@example.com",
        "password": PASSWORD,
        "cpf": format_cpf(cpf),
        "birth_date": known.birth_date.isoformat() if matching else date(1990, 1, 1).isoformat(),
        "phone": "+5511987654321",
        "monthly_income": income,
        "address": dict(ADDRESS),
    }
    body.update(overrides)
    return body


async def register_and_login(api: httpx.AsyncClient, cpf: str | None = None, **overrides: Any) -> Account:
    body = registration(cpf, **overrides)
    registered = await api.post("/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    token = await api.post("/v1/auth/token", json={"email": body["email"], "password": body["password"]})
    assert token.status_code == 200, token.text
    pair = token.json()
    return Account(
        customer_id=registered.json()["customer_id"],
        email=body["email"],
        cpf="".join(c for c in body["cpf"] if c.isdigit()),
        access_token=pair["access_token"],
        refresh_token=pair["refresh_token"],
    )


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, timeout: float = 30.0, every: float = 0.2
) -> T:
    """Poll ``probe`` until ``accept`` says yes; the last value otherwise fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last value: {value!r}"[:2000])
        await asyncio.sleep(every)


def read_topic(bootstrap: str, topic: str, *, timeout: float = 10.0) -> list[Message]:
    """Every message now in ``topic`` (read committed), oldest first per partition."""
    return read_committed(bootstrap, topic, purpose="test-reader", timeout=timeout)


def business_today() -> date:
    """Today in Brasília, the calendar the workflows and the API count due dates in."""
    from datetime import datetime

    from domain.business_calendar import business_date

    return business_date(datetime.now(UTC))


def journey_stack_settings(
    settings: Settings, run_dir: Path, *, name: str, cors_origins: list[str] | None = None
) -> tuple[Settings, int, int]:
    """Settings for a whole stack of a test's own: API and simulator on free ports (webhooks to that
    API), topics, task queue, consumer groups and Redis keys suffixed with ``name`` and a fresh id,
    and, as `make run` does, the first installment's charge issued at once. Returns the settings and
    the API's and the simulator's ports."""
    run = uuid.uuid4().hex[:10]
    api_port, simulator_port = free_port(), free_port()
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    webhooks = f"http://127.0.0.1:{api_port}/v1/webhooks/"
    topics = KafkaTopics(
        **{field: f"{getattr(settings.kafka.topics, field)}.{name}-{run}" for field in KafkaTopics.model_fields}
    )
    api = {"port": api_port, **({"cors_origins": cors_origins} if cors_origins is not None else {})}
    updated = settings.model_copy(
        update={
            "run_dir": run_dir,
            "kafka": settings.kafka.model_copy(update={"topics": topics}),
            "temporal": settings.temporal.model_copy(update={"task_queue": f"{name}-{run}"}),
            "api": settings.api.model_copy(update=api),
            "simulator": SimulatorSettings(
                port=simulator_port, settlement_delay_seconds=0.2, webhook_target_base_url=webhooks
            ),
            "providers": ProvidersSettings(
                federal_revenue=FederalRevenueSettings(base_url=f"{simulator_url}/federal-revenue"),
                credit_bureau=CreditBureauSettings(base_url=f"{simulator_url}/credit-bureau"),
                ecm=EcmSettings(base_url=f"{simulator_url}/ecm"),
                esignature=ESignatureSettings(base_url=f"{simulator_url}/esignature"),
                pix=PixSettings(base_url=f"{simulator_url}/pix"),
                webhook_target_base_url=webhooks,
            ),
            "pipeline": settings.pipeline.model_copy(
                update={
                    "groups": PipelineGroups(
                        validation=f"{name}-validation-{run}",
                        trusted=f"{name}-trusted-{run}",
                        bridge=f"{name}-bridge-{run}",
                    ),
                    "instance_id": f"{name}-{run}",
                    "redis_key_prefix": f"{name}:{run}:dedupe",
                    "metrics_port": 0,
                }
            ),
            "origination": settings.origination.model_copy(update={"servicing_charge_lead_days": 40}),
            "auth": settings.auth.model_copy(update={"redis_key_prefix": f"{name}:{run}:auth"}),
        }
    )
    return updated, api_port, simulator_port
