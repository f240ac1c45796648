"""The readiness endpoint reports each dependency, and names the one that is down."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from stack_support import serve_over_asgi

from lendflow.services import KafkaService
from lendflow.settings import Settings


def _free_port_pair() -> int:
    """A port p such that p and p+1 (the controller) are both free on loopback."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_over_asgi(settings) as client:
        yield client


async def test_ready_answers_200_with_every_dependency_up(api: httpx.AsyncClient) -> None:
    response = await api.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["down"] == []
    assert {d["name"]: d["status"] for d in body["dependencies"]} == {
        "postgres": "up",
        "redis": "up",
        "kafka": "up",
        "temporal": "up",
    }
    assert all(d["latency_ms"] >= 0 for d in body["dependencies"])


async def test_live_answers_without_dependencies(api: httpx.AsyncClient) -> None:
    response = await api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_turns_503_naming_kafka_when_the_broker_stops(settings: Settings, tmp_path: Path) -> None:
    # A broker of this test's own, so stopping it disturbs nobody else.
    port = _free_port_pair()
    broker_settings = settings.model_copy(
        update={
            "run_dir": tmp_path,
            "kafka": settings.kafka.model_copy(update={"bootstrap_servers": f"127.0.0.1:{port}"}),
        }
    )
    broker = KafkaService(broker_settings)
    shared = KafkaService(settings)
    shared.resolve_jars()
    broker.dir.mkdir(parents=True)
    (broker.dir / "libs").symlink_to(shared.libs)  # the jars the shared broker resolved
    broker.up()
    try:
        async with serve_over_asgi(broker_settings) as api:
            up = await api.get("/health/ready")
            assert up.status_code == 200, up.text
            broker.down()
            assert not broker.running()
            down = await api.get("/health/ready")
    finally:
        broker.down()
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "not_ready"
    assert body["down"] == ["kafka"]
    states = {d["name"]: d["status"] for d in body["dependencies"]}
    assert states == {"postgres": "up", "redis": "up", "kafka": "down", "temporal": "up"}
