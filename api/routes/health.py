"""Liveness and readiness.

`/health/live` says the process answers. `/health/ready` checks each dependency the API needs
(postgres, redis, kafka, temporal) concurrently, each within a timeout, and answers 503 naming the
ones that are down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import Resources, ResourcesDep

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]


class DependencyState(BaseModel):
    name: str
    status: Literal["up", "down"]
    latency_ms: float
    error: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    down: list[str]
    dependencies: list[DependencyState]


@router.get("/live", response_model=Liveness)
async def live() -> Liveness:
    return Liveness(status="ok")


async def _postgres(resources: Resources) -> None:
    async with resources.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _redis(resources: Resources) -> None:
    await resources.redis.ping()


async def _kafka(resources: Resources) -> None:
    timeout = resources.settings.api.readiness_timeout_seconds
    # list_topics blocks until the broker answers; it raises KafkaException when none does in time.
    await asyncio.to_thread(resources.kafka_admin.list_topics, timeout=timeout)


async def _temporal(resources: Resources) -> None:
    await resources.temporal.service_client.check_health()


CHECKS: dict[str, Callable[[Resources], Awaitable[None]]] = {
    "postgres": _postgres,
    "redis": _redis,
    "kafka": _kafka,
    "temporal": _temporal,
}


async def _check(name: str, check: Callable[[Resources], Awaitable[None]], resources: Resources) -> DependencyState:
    started = time.perf_counter()
    error: str | None = None
    try:
        await asyncio.wait_for(check(resources), timeout=resources.settings.api.readiness_timeout_seconds + 0.5)
    except Exception as exc:  # any failure means the dependency is not usable now
        error = f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
    latency = round((time.perf_counter() - started) * 1000, 2)
    return DependencyState(name=name, status="down" if error else "up", latency_ms=latency, error=error)


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "At least one dependency is down; `down` names them."}},
)
async def ready(resources: ResourcesDep) -> JSONResponse:
    states = await asyncio.gather(*(_check(name, check, resources) for name, check in CHECKS.items()))
    down = [s.name for s in states if s.status == "down"]
    body = Readiness(status="not_ready" if down else "ready", down=down, dependencies=list(states))
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)
