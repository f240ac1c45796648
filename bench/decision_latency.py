"""Decision latency, submission → `offer_ready`: the maximum rate (closed loop), then 70 % of it (open loop).

    .venv/bin/python bench/decision_latency.py [--closed 60] [--concurrency 10] [--open 100] [--share 0.7]

It needs the local stack (`lendflow services up`): PostgreSQL and the Temporal dev server. It reuses
`bench/journey_throughput.py`'s set-up (imported, not copied): a database of its own (created,
migrated, dropped), a uuid task queue, the provider simulator on a free port in a thread of this
process (answering at once), band-A applicants inserted with SQLAlchemy, the project's worker
(`build_worker` + `project_activities`, default settings) in a subprocess of its own, and its
driver. A submission is what `POST /v1/loans` does after its idempotency claim: `start_workflow` of
`LoanOriginationWorkflow` with the application; the decision is the read model
(`loan_applications.status`, polled every `--poll-ms`) showing `offer_ready`, so a latency is late
by up to one poll. The API, Kafka and the pipeline are not in this path.

1. Closed loop: `--closed` submissions, `--concurrency` in flight, each next one sent when one
   reaches its offer: the maximum rate is completions / elapsed.
2. Open loop: `--open` submissions at `--share` × that rate on a fixed schedule (send k at
   t0 + k / rate, whatever the answers); each latency runs from the scheduled send time, so a
   backlog shows as latency rather than as a slower sender.

Then, from the open-loop journeys' histories, where the time went: per journey, how long workflow
tasks and each activity type waited for a worker and ran. The journeys left at `offer_ready` are
terminated after each phase and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import journey_throughput as jt  # noqa: E402  (bench/ is on sys.path when this file runs as a script)
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402


class Decisions:
    """Latencies (seconds) and failures of one phase."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def line(self, name: str) -> str:
        if not self.latencies:
            return f"{name}: no decision ({len(self.failures)} failed)"
        values = self.latencies
        return (
            f"{name}: p50 {jt.ms(jt.percentile(values, 50))}, p90 {jt.ms(jt.percentile(values, 90))}, "
            f"p99 {jt.ms(jt.percentile(values, 99))}, max {jt.ms(max(values))} "
            f"(n={len(values)}, {len(self.failures)} failed)"
        )


async def decide(driver: jt.Driver, applicant: jt.Applicant, since: float, into: Decisions) -> None:
    """Submit one application and wait for its offer; the latency counts from `since` (perf_counter)."""
    try:
        await driver.submit(applicant)
        status, _ = await driver.watcher.wait_for(applicant.application_id, {"offer_ready"})
        if status != "offer_ready":
            raise jt.JourneyFailed(f"ended {status}")
        into.latencies.append(time.perf_counter() - since)
    except Exception as exc:  # counted and reported
        into.failures.append(f"{type(exc).__name__}: {exc}"[:300])


async def closed_loop(driver: jt.Driver, applicants: list[jt.Applicant], concurrency: int) -> tuple[float, Decisions]:
    decisions = Decisions()

    async def one(applicant: jt.Applicant) -> None:
        await decide(driver, applicant, time.perf_counter(), decisions)

    elapsed = await jt.run_bounded(applicants, concurrency, one)
    return len(decisions.latencies) / elapsed, decisions


async def open_loop(driver: jt.Driver, applicants: list[jt.Applicant], rate: float) -> tuple[float, Decisions]:
    """Send k at t0 + k / rate, without waiting for answers; latency from the scheduled time."""
    decisions = Decisions()
    start = time.perf_counter() + 0.5
    lateness: list[float] = []

    async def scheduled(k: int, applicant: jt.Applicant) -> None:
        at = start + k / rate
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        lateness.append(time.perf_counter() - at)
        await decide(driver, applicant, at, decisions)

    await asyncio.gather(*(scheduled(k, a) for k, a in enumerate(applicants)))
    return max(lateness, default=0.0), decisions


async def breakdown(client: Client, workflow_ids: list[str]) -> list[str]:
    """Where a decision's time goes, from the journeys' histories: per journey, mean milliseconds that
    workflow tasks and each activity type spend waiting for a worker (scheduled → started) and
    running (started → completed or failed), and how many of each a journey has."""
    waits: dict[str, list[float]] = defaultdict(list)
    runs: dict[str, list[float]] = defaultdict(list)
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        names: dict[int, str] = {}
        times: dict[int, float] = {}
        for event in history.events:
            at = event.event_time.ToDatetime().timestamp()
            kind = event.event_type
            times[event.event_id] = at
            if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                names[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs = event.activity_task_started_event_attributes
                waits[names[attrs.scheduled_event_id]].append(at - times[attrs.scheduled_event_id])
            elif kind in (EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED):
                attrs = (
                    event.activity_task_completed_event_attributes
                    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                    else event.activity_task_failed_event_attributes
                )
                runs[names[attrs.scheduled_event_id]].append(at - times[attrs.started_event_id])
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                attrs = event.workflow_task_started_event_attributes
                waits["(workflow task)"].append(at - times[attrs.scheduled_event_id])
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                attrs = event.workflow_task_completed_event_attributes
                runs["(workflow task)"].append(at - times[attrs.started_event_id])
    journeys = max(1, len(workflow_ids))
    lines = [f"  where the time goes (histories of {len(workflow_ids)} open-loop journeys; ms per journey):"]
    for name in sorted(set(waits) | set(runs), key=lambda n: -(sum(waits[n]) + sum(runs[n]))):
        lines.append(
            f"    {name:<28} ×{len(runs[name]) / journeys:4.1f}  waiting for a worker {sum(waits[name]) * 1000 / journeys:7.0f}"
            f"  running {sum(runs[name]) * 1000 / journeys:7.0f}"
        )
    return lines


async def run(closed: int, concurrency: int, opened: int, share: float, warm_up: int, poll: float) -> None:
    began, load_before = time.perf_counter(), jt.load()
    lines: list[str] = []
    async with jt.bench_run("latency", warm_up + closed + opened, poll, lines) as bench:
        client, driver = bench.client, bench.driver
        worker = await bench.start_worker()
        pool = iter(bench.applicants)

        warm = Decisions()
        await jt.run_bounded(
            [next(pool) for _ in range(warm_up)], concurrency, lambda a: decide(driver, a, time.perf_counter(), warm)
        )
        if not warm.latencies:
            raise RuntimeError(f"the warm-up submissions reached no offer: {warm.failures[:3]}")
        await driver.terminate(list(driver.started), "warm-up over")

        jt.progress(f"closed loop: {closed} submissions, {concurrency} in flight")
        maximum, saturated = await closed_loop(driver, [next(pool) for _ in range(closed)], concurrency)
        await driver.terminate(list(driver.started), "closed loop over")
        target = share * maximum
        jt.progress(f"maximum {maximum:.2f}/s; open loop: {opened} submissions at {target:.2f}/s")
        late_sender, opened_decisions = await open_loop(driver, [next(pool) for _ in range(opened)], target)

        lines.append(
            f"decision latency, submission (start_workflow) → offer_ready in the read model (polled every "
            f"{poll * 1000:.0f} ms); worker: own subprocess, max_cached_workflows={worker.info.get('max_cached_workflows')}; "
            f"cores: {os.cpu_count()}"
        )
        lines.append(
            f"closed loop, {concurrency} in flight: maximum {maximum:.2f} decisions/s "
            f"({len(saturated.latencies)} in {len(saturated.latencies) / maximum if maximum else 0:.1f} s)"
        )
        lines.append(saturated.line("  latency at the maximum (closed loop)"))
        lines.append(
            f"open loop at {share:.0%} of the maximum: {target:.2f} submissions/s, {opened} sent on a fixed schedule "
            f"(sender at most {late_sender * 1000:.0f} ms behind it)"
        )
        lines.append(opened_decisions.line("  latency from the scheduled send time (open loop)"))
        lines.extend(await breakdown(client, driver.started[-opened:]))
        lines.append(f"machine load average (1/5/15 min): {load_before} at the start, {jt.load()} at the end")
        for name, phase in (("closed", saturated), ("open", opened_decisions)):
            for failure in phase.failures[:3]:
                lines.append(f"{name} failure: {failure}")
    lines.append(f"whole run: {time.perf_counter() - began:.0f} s")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--closed", type=int, default=60, help="submissions of the closed-loop phase")
    parser.add_argument("--concurrency", type=int, default=10, help="submissions in flight in the closed loop")
    parser.add_argument("--open", type=int, default=100, help="submissions of the open-loop phase")
    parser.add_argument("--share", type=float, default=0.7, help="open-loop rate as a share of the maximum")
    parser.add_argument("--warm-up", type=int, default=5, help="submissions before measuring")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="read model polling interval")
    args = parser.parse_args()
    if min(args.closed, args.concurrency, args.open, args.warm_up) < 1 or not 0 < args.share <= 1:
        parser.error("counts must be at least 1 and --share within (0, 1]")
    asyncio.run(run(args.closed, args.concurrency, args.open, args.share, args.warm_up, args.poll_ms / 1000))


if __name__ == "__main__":
    main()
