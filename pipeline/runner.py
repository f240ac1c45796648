"""``lendflow pipeline``: the stages, together in one process or each alone.

Every stage takes its topics and consumer group from the settings it is given, runs as one asyncio
task (blocking Kafka calls in worker threads) and stops on SIGTERM/SIGINT after finishing — and
committing — the batch in hand.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
import structlog
from prometheus_client import make_wsgi_app
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from lendflow.health import serve_probes
from lendflow.settings import Settings
from pipeline.bridge import EventBridge
from pipeline.dedupe import DedupeLedger
from pipeline.housekeeping import Housekeeping
from pipeline.metrics import HEALTH
from pipeline.outbox import OutboxRelay
from pipeline.trusted import TrustedStage
from pipeline.validation import DocumentStore, EcmDocumentStore, ValidationStage
from storage.db import create_engine, create_session_maker

log = structlog.get_logger(__name__)

STAGES = ("validation", "trusted", "bridge", "outbox", "housekeeping")
# Names people reach for: dedupe runs inside validation (it has no topic of its own).
STAGE_ALIASES = {
    "dedupe": "validation",
    "validate": "validation",
    "enrich": "trusted",
    "relay": "outbox",
    "prune": "housekeeping",
}


class Stage(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


def stage_names(requested: Sequence[str] | None) -> list[str]:
    if not requested:
        return list(STAGES)
    names: list[str] = []
    for raw in requested:
        name = STAGE_ALIASES.get(raw, raw)
        if name not in STAGES:
            raise ValueError(f"unknown stage {raw!r}; stages: {', '.join(STAGES)}")
        if name not in names:
            names.append(name)
    return names


def ledger(
    settings: Settings, group: str, redis: aioredis.Redis, sessions: async_sessionmaker[AsyncSession]
) -> DedupeLedger:
    return DedupeLedger(
        consumer=group,
        redis=redis,
        session_maker=sessions,
        ttl_seconds=settings.redis.dedupe_ttl_seconds,
        key_prefix=settings.pipeline.redis_key_prefix,
    )


@dataclass
class PipelineParts:
    """What the stages need, built once per process."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    documents: DocumentStore | None = None
    temporal: Client | None = None
    stages: list[Stage] = field(default_factory=list)


def build_stages(parts: PipelineParts, names: Sequence[str]) -> list[Stage]:
    settings, sessions, redis = parts.settings, parts.sessions, parts.redis
    groups = settings.pipeline.groups
    stages: list[Stage] = []
    workers = range(settings.pipeline.consumers_per_stage)
    for name in stage_names(names):
        if name == "validation":
            assert parts.documents is not None, "validation needs a document store"
            stages += [
                ValidationStage(
                    settings,
                    ledger=ledger(settings, groups.validation, redis, sessions),
                    session_maker=sessions,
                    documents=parts.documents,
                    worker=worker,
                )
                for worker in workers
            ]
        elif name == "trusted":
            stages += [
                TrustedStage(
                    settings,
                    ledger=ledger(settings, groups.trusted, redis, sessions),
                    session_maker=sessions,
                    worker=worker,
                )
                for worker in workers
            ]
        elif name == "bridge":
            assert parts.temporal is not None, "the bridge needs a Temporal client"
            stages.append(
                EventBridge(
                    settings,
                    client=parts.temporal,
                    ledger=ledger(settings, groups.bridge, redis, sessions),
                    session_maker=sessions,
                )
            )
        elif name == "outbox":
            stages.append(OutboxRelay(settings, session_maker=sessions))
        elif name == "housekeeping":
            stages.append(Housekeeping(settings, session_maker=sessions))
    return stages


async def run_stages(stages: Sequence[Stage], stop: asyncio.Event) -> None:
    """Run until ``stop`` is set or a stage fails (then the others stop too, and the error is raised)."""
    tasks = [asyncio.create_task(stage.run(stop), name=f"pipeline-{stage.name}") for stage in stages]
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        stopper.cancel()
    for stage, result in zip(stages, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("pipeline.stage_failed", stage=stage.name, error_class=type(result).__name__, error=str(result))
            raise result


_metrics_started = threading.Lock()
_metrics_port: int | None = None


def serve_metrics(settings: Settings) -> int:
    """Expose the process's Prometheus metrics, and its probes, once; the port it listens on."""
    global _metrics_port
    with _metrics_started:
        if _metrics_port is None:
            server = serve_probes(
                HEALTH, settings.pipeline.metrics_host, settings.pipeline.metrics_port, fallback=make_wsgi_app()
            )
            _metrics_port = server.server_port
            log.info("pipeline.metrics_serving", host=settings.pipeline.metrics_host, port=_metrics_port)
        return _metrics_port


async def run_pipeline(
    settings: Settings, names: Sequence[str] | None = None, *, stop: asyncio.Event | None = None
) -> None:
    """The ``lendflow pipeline`` process: build what the chosen stages need and run them."""
    from integrations.factory import ProviderClients
    from lendflow.temporal import connect

    chosen = stage_names(names)
    stop = stop or asyncio.Event()
    serve_metrics(settings)
    engine = create_engine(settings.postgres)
    redis = aioredis.from_url(settings.redis.url.get_secret_value(), socket_timeout=5, socket_connect_timeout=2)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        stack.push_async_callback(redis.aclose)
        parts = PipelineParts(settings=settings, sessions=create_session_maker(engine), redis=redis)
        if "validation" in chosen:
            providers = await stack.enter_async_context(ProviderClients.from_settings(settings))
            parts.documents = EcmDocumentStore(providers.ecm)
        if "bridge" in chosen:
            parts.temporal = await connect(settings.temporal)
        stages = build_stages(parts, chosen)
        log.info("pipeline.starting", stages=chosen)
        heartbeat = asyncio.create_task(HEALTH.keep_beating(stop), name="pipeline-heartbeat")
        HEALTH.set_ready(True)
        try:
            await run_stages(stages, stop)
        finally:
            HEALTH.set_ready(False)
            stop.set()
            await heartbeat
