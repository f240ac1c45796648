"""The faults, one per scenario: when each strikes (a phase enough journeys reached) and what it does.

Each ``inject`` breaks one thing of the chaos stack while journeys are in flight, lets it heal the
way production would (the supervisor restarts a killed process; a killed server is started again,
as its service manager would; provider faults are lifted after a while, as outages end) and returns
the evidence that the fault really happened (``struck``), which the tests assert.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from lendflow.chaos.journey import Progress
from lendflow.chaos.stack import ChaosStack


@dataclass
class Fault:
    """What an injection did: a line for the report, and whether it struck for real."""

    struck: bool
    detail: str
    at: float = field(default_factory=time.monotonic)


@dataclass
class Context:
    stack: ChaosStack
    progress: Progress
    journeys: int
    simulator: httpx.AsyncClient
    deadline: float = float("inf")  # monotonic
    options: dict[str, Any] = field(default_factory=dict)
    # When the fault first struck (time to recover counts from here).
    struck_at: float | None = None

    def strike(self) -> None:
        if self.struck_at is None:
            self.struck_at = time.monotonic()

    async def when(self, phase: str, share: float, *, timeout: float = 300) -> None:
        """Until ``share`` of the journeys reached ``phase`` (at least one), or the scenario's deadline."""
        timeout = min(timeout, max(0.0, self.deadline - time.monotonic()))
        await self.progress.wait_for(phase, max(1, int(self.journeys * share)), timeout=timeout)

    async def replacement(self, command: str, before: set[int], *, timeout: float = 60) -> int | None:
        """The pid of the process the supervisor started after a kill: one that was not among
        ``before`` (with two of a kind running, the other one is no replacement)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for p in self.stack.children(command) if p not in before]
            if pids:
                return pids[0]
            await asyncio.sleep(0.2)
        return None

    async def fault(self, provider: str, operation: str, **rule: Any) -> None:
        (await self.simulator.put(f"/_admin/faults/{provider}/{operation}", json=rule)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self.simulator.delete("/_admin/faults")).raise_for_status()


Inject = Callable[[Context], Awaitable[Fault]]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    inject: Inject
    workers: int = 1
    pipelines: int = 1
    # Journeys send each loan application this many times at once with one Idempotency-Key.
    duplicate_submissions: int = 1


async def _kill_child(ctx: Context, command: str) -> Fault:
    ctx.strike()
    before = set(ctx.stack.children(command))
    old = ctx.stack.kill_child(command)
    new = await ctx.replacement(command, before)
    return Fault(new is not None, f"kill -9 {command} pid {old}; the supervisor started pid {new}")


async def worker_kill(ctx: Context) -> Fault:
    await ctx.when("signed", 0.3)
    return await _kill_child(ctx, "worker")


async def temporal_kill(ctx: Context) -> Fault:
    await ctx.when("applied", 0.3)
    ctx.strike()
    old = await asyncio.to_thread(ctx.stack.kill_temporal)
    await asyncio.sleep(3)
    await asyncio.to_thread(ctx.stack.start_temporal)
    new = ctx.stack.temporal_pid
    return Fault(new not in (None, old), f"kill -9 Temporal pid {old}; started again as pid {new}")


async def kafka_restart(ctx: Context) -> Fault:
    pids = []
    await ctx.when("registered", 0.25)
    for round_ in range(2):
        ctx.strike()
        old = await asyncio.to_thread(ctx.stack.kill_kafka)
        await asyncio.sleep(5)
        await asyncio.to_thread(ctx.stack.start_kafka)
        pids.append((old, ctx.stack.kafka_pid))
        if round_ == 0:
            # Strike again once the stages are back at work.
            await ctx.when("onboarded", 0.25, timeout=60)
    struck = all(new not in (None, old) for old, new in pids)
    return Fault(struck, "kill -9 the broker twice: " + ", ".join(f"pid {o} → {n}" for o, n in pids))


async def postgres_restart(ctx: Context) -> Fault:
    await ctx.when("accepted", 0.3)
    ctx.strike()
    ended = await asyncio.to_thread(ctx.stack.terminate_backends)
    await asyncio.sleep(2)
    old = await asyncio.to_thread(ctx.stack.restart_postgres)
    new = ctx.stack.postgres_pid
    return Fault(ended > 0 and new != old, f"pg_terminate_backend ended {ended} sessions; restarted pid {old} → {new}")


async def redis_flush(ctx: Context) -> Fault:
    await ctx.when("registered", 0.4)
    keys = await asyncio.to_thread(ctx.stack.redis_keys)
    ctx.strike()
    await asyncio.to_thread(ctx.stack.flush_redis)
    left = await asyncio.to_thread(ctx.stack.redis_keys)
    return Fault(keys > 0 and left < keys, f"FLUSHALL with {keys} keys ({left} right after)")


async def pipeline_kill(ctx: Context) -> Fault:
    await ctx.when("registered", 0.3)
    first = await _kill_child(ctx, "pipeline")
    await ctx.when("onboarded", 0.3)
    second = await _kill_child(ctx, "pipeline")
    return Fault(first.struck and second.struck, f"{first.detail}; then {second.detail}")


async def provider_errors(ctx: Context) -> Fault:
    await ctx.when("registered", 0.1)
    ctx.strike()
    await ctx.fault("credit-bureau", "credit_report", error_rate=0.4, error_status=429, retry_after_seconds=1)
    await ctx.fault("esignature", "create_envelope", error_rate=0.4, error_status=500)
    await ctx.fault("pix", "create_payout", error_rate=0.3, error_status=503)
    await ctx.fault("federal-revenue", "lookup_cpf", hang_seconds=8)
    await asyncio.sleep(10)
    await ctx.fault("federal-revenue", "lookup_cpf", error_rate=0.3, error_status=500)
    await ctx.when("signed", 0.5)
    listed = (await ctx.simulator.get("/_admin/faults")).json()
    await asyncio.sleep(5)
    await ctx.clear_faults()
    return Fault(
        len(listed) >= 4,
        f"429s (bureau), 500s (eSignature, Federal Revenue), 503s (PIX), hangs of 8 s for 10 s; {len(listed)} rules",
    )


def _ambiguous(refuse_replays: bool) -> Inject:
    async def inject(ctx: Context) -> Fault:
        await ctx.when("applied", 0.2)
        ctx.strike()
        # The payout is taken, then answered only after the client's timeout (5 s).
        await ctx.fault("pix", "create_payout", hang_seconds=7, after_processing=True, refuse_replays=refuse_replays)
        await ctx.when("ended", 0.8)
        listed = (await ctx.simulator.get("/_admin/faults")).json()
        await ctx.clear_faults()
        mode = "refusing replays (409)" if refuse_replays else "replaying by idempotency key"
        return Fault(bool(listed), f"PIX payouts answered after the client's timeout, the PSP {mode}")

    return inject


async def webhooks(ctx: Context) -> Fault:
    ctx.strike()
    await ctx.fault("esignature", "webhooks", duplicate_webhooks=2, webhook_delay_ms=300)
    await ctx.fault("pix", "webhooks", duplicate_webhooks=2, webhook_delay_ms=300)
    await ctx.when("signed", 0.3)
    refused = await asyncio.to_thread(ctx.stack.hostile_webhooks)
    await ctx.when("ended", 0.9)
    await ctx.clear_faults()
    return Fault(
        all(status == 401 for status in refused.values()),
        "every webhook delivered 3 times, out of order; the API answered "
        + ", ".join(f"{kind} {status}" for kind, status in refused.items()),
    )


async def duplicate_submissions(ctx: Context) -> Fault:
    # The journeys themselves send each application 3 times at once; nothing else breaks.
    ctx.strike()
    await ctx.when("applied", 1.0)
    return Fault(True, "each loan application sent 3 times at once with one Idempotency-Key")


async def two_of_each(ctx: Context) -> Fault:
    await ctx.when("registered", 0.3)
    pipeline = await _kill_child(ctx, "pipeline")
    await ctx.when("signed", 0.3)
    worker = await _kill_child(ctx, "worker")
    both = len(ctx.stack.children("worker")) == 2 and len(ctx.stack.children("pipeline")) == 2
    return Fault(pipeline.struck and worker.struck and both, f"{pipeline.detail}; {worker.detail}")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("worker-kill", "kill -9 the worker mid-payouts; the supervisor restarts it", worker_kill),
        Scenario("temporal-kill", "kill -9 the Temporal server, then start it again", temporal_kill),
        Scenario("kafka-restart", "kill -9 the Kafka broker twice, with restarts", kafka_restart),
        Scenario("postgres-restart", "pg_terminate_backend every session, then restart PostgreSQL", postgres_restart),
        Scenario("redis-flush", "Redis FLUSHALL mid-stream", redis_flush),
        Scenario("pipeline-kill", "kill -9 the pipeline while it is busy, twice", pipeline_kill),
        Scenario("provider-errors", "provider 500s, 429s and hangs for a while", provider_errors),
        Scenario("ambiguous-payout", "PIX answers after the timeout; the PSP replays by key", _ambiguous(False)),
        Scenario("ambiguous-payout-strict", "PIX answers after the timeout; the PSP refuses replays", _ambiguous(True)),
        Scenario("webhooks", "duplicated, out-of-order, forged and stale webhooks", webhooks),
        Scenario(
            "duplicate-submissions",
            "each application sent 3 times at once with one Idempotency-Key",
            duplicate_submissions,
            duplicate_submissions=3,
        ),
        Scenario(
            "two-of-each", "two workers and two pipelines; kill -9 one of each", two_of_each, workers=2, pipelines=2
        ),
    ]
}
