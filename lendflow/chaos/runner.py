"""Runs scenarios against the chaos stack and reports the table; usable from Python and the CLI.

For each scenario: N journeys start (``concurrency`` at a time), the scenario's fault strikes while
they are in flight, the system heals by itself, every journey is waited for until it ends or the
scenario's deadline passes, and the invariants are checked. "Time to recover" is from the moment
the fault struck until the last journey ended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from lendflow.chaos.invariants import Verdict, check_invariants
from lendflow.chaos.journey import JourneyRecord, Progress, drive
from lendflow.chaos.scenarios import SCENARIOS, Context, Fault, Scenario
from lendflow.chaos.stack import ChaosStack
from lendflow.commands.demo import DemoLinks
from lendflow.temporal import connect


@dataclass
class ScenarioResult:
    scenario: str
    journeys: int
    fault: Fault
    records: list[JourneyRecord]
    verdict: Verdict
    recover_seconds: float | None
    elapsed_seconds: float
    errors: list[str] = field(default_factory=list)

    @property
    def disbursed(self) -> int:
        return sum(1 for r in self.records if r.status == "disbursed")

    @property
    def stuck(self) -> int:
        return sum(1 for r in self.records if not r.terminal)

    @property
    def doubled(self) -> int:
        doubled_applications = sum(1 for r in self.records if len(r.answered_ids) > 1)
        return self.verdict.doubled + doubled_applications

    @property
    def lost(self) -> int:
        return self.verdict.lost

    @property
    def ok(self) -> bool:
        return (
            self.verdict.ok
            and self.fault.struck
            and self.stuck == 0
            and self.doubled == 0
            and self.lost == 0
            and self.disbursed == self.journeys
        )


async def run_scenario(
    stack: ChaosStack,
    scenario: Scenario,
    journeys: int,
    *,
    concurrency: int = 16,
    timeout: float = 900.0,
    say: Callable[[str], None] = print,
) -> ScenarioResult:
    settings = stack.settings
    if (stack.workers, stack.pipelines) != (scenario.workers, scenario.pipelines):
        say(f"[..] restarting the processes with {scenario.workers} worker(s) and {scenario.pipelines} pipeline(s)")
        await asyncio.to_thread(stack.stop_processes)
        stack.workers, stack.pipelines = scenario.workers, scenario.pipelines
        await asyncio.to_thread(stack.start_processes)
    temporal = await connect(settings.temporal)
    links = DemoLinks(stack.api_url, stack.simulator_url, settings.temporal.ui_url, settings.temporal.namespace)
    progress = Progress()
    started = time.monotonic()
    deadline = started + timeout
    say(f"[..] {scenario.name}: {journeys} journeys; fault: {scenario.summary}")
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=30) as simulator:
        ctx = Context(stack, progress, journeys, simulator, deadline=deadline)
        driving = asyncio.create_task(
            drive(
                journeys,
                api_url=stack.api_url,
                simulator_url=stack.simulator_url,
                links=links,
                progress=progress,
                deadline=deadline,
                concurrency=concurrency,
                duplicate_submissions=scenario.duplicate_submissions,
            )
        )
        try:
            fault = await scenario.inject(ctx)
        except Exception as exc:  # the report says the fault could not be injected; the journeys go on
            fault = Fault(False, f"injection failed: {type(exc).__name__}: {exc}")
        say(f"     fault: {fault.detail}")
        records = await driving
        await ctx.clear_faults()
    ended = [r.ended_at for r in records if r.ended_at is not None]
    struck_at = ctx.struck_at or fault.at
    recover = max(0.0, max(ended) - struck_at) if ended and all(r.terminal for r in records) else None
    verdict = await check_invariants(settings, temporal, stack.simulator_url, records, stack.log_files())
    result = ScenarioResult(
        scenario=scenario.name,
        journeys=journeys,
        fault=fault,
        records=records,
        verdict=verdict,
        recover_seconds=recover,
        elapsed_seconds=time.monotonic() - started,
        errors=[f"journey {r.index}: {r.error}" for r in records if r.error],
    )
    for check in verdict.checks:
        say(f"     [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    for error in result.errors[:5]:
        say(f"     [journey] {error}")
    recovered = f"{recover:.0f} s" if recover is not None else "not recovered"
    say(
        f"[{'ok' if result.ok else 'FAIL'}] {scenario.name} in {result.elapsed_seconds:.0f}s: {journeys} journeys,"
        f" {result.disbursed} disbursed, {verdict.payouts} payouts, {result.doubled} doubled, {result.lost} lost,"
        f" {result.stuck} stuck, time to recover {recovered}"
    )
    return result


async def run_chaos(
    names: list[str],
    journeys: int,
    *,
    concurrency: int = 16,
    timeout: float = 900.0,
    say: Callable[[str], None] = print,
    stack: ChaosStack | None = None,
) -> list[ScenarioResult]:
    """Bring the chaos stack up (unless given one), run ``names`` in order, bring it down."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"no such scenario: {', '.join(unknown)} (see --list)")
    own = stack is None
    stack = stack or ChaosStack()
    results = []
    try:
        if own:
            say(f"[..] bringing up the chaos stack in {stack.run_dir}")
            await asyncio.to_thread(stack.up)
            say(f"[ok] chaos stack up: API {stack.api_url}, Temporal {stack.settings.temporal.address}")
        for name in names:
            results.append(
                await run_scenario(stack, SCENARIOS[name], journeys, concurrency=concurrency, timeout=timeout, say=say)
            )
    finally:
        if own:
            # A green run leaves nothing behind; a red one keeps its logs and data for a look.
            green = len(results) == len(names) and all(r.ok for r in results)
            await asyncio.to_thread(lambda: stack.down(remove=green))
            if not green:
                say(f"[..] logs and data of this run kept in {stack.run_dir}")
    return results


HEADER = ("scenario", "journeys", "disbursed", "payouts", "doubled", "lost", "stuck", "time to recover", "invariants")


def table(results: list[ScenarioResult]) -> str:
    """The results as a Markdown table (what the README shows)."""
    rows = [
        (
            r.scenario,
            str(r.journeys),
            str(r.disbursed),
            str(r.verdict.payouts),
            str(r.doubled),
            str(r.lost),
            str(r.stuck),
            f"{r.recover_seconds:.0f} s" if r.recover_seconds is not None else "not recovered",
            "all hold" if r.verdict.ok and r.fault.struck else "FAILED",
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(HEADER)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)])
