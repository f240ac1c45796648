"""Worker memory per parked workflow: the worker's RSS while N loan journeys wait at their offer.

    .venv/bin/python bench/worker_memory.py [--parked 1000] [--cache 1000] [--concurrency 20]

It needs the local stack (`lendflow services up`): PostgreSQL and the Temporal dev server. It reuses
`bench/journey_throughput.py`'s set-up (imported, not copied): a database of its own (created,
migrated, dropped), uuid task queues, the provider simulator on a free port in a thread of this
process, the applicants (active customers with band-A bureau scores, inserted with SQLAlchemy) and
its driver. The worker is the project's (`build_worker` + `project_activities`, every workflow and
activity) in a subprocess of its own, started with `--cache` as `max_cached_workflows` (default: the
settings' `temporal.worker_max_cached_workflows`), so that its memory is measured alone.

What it parks: `--parked` real `LoanOriginationWorkflow` journeys, each started as the API starts one
and left at `offer_ready` (the read model shows the offer; the workflow waits for the customer's
`accept_offer` Update, with its expiry timer running). The worker's VmRSS (from /proc) is read once one
journey is parked alone (a check that journeys reach their offer, with the workflow's code loaded)
and after a quarter, a half and all of them are parked (each reading once the worker has gone
quiet); the bench prints the curve and KiB per parked workflow beyond the first. Then it wakes `--wake` of
the first parked (evicted when N > cache) and `--wake` of the last parked (still cached) with their
`accept_offer` Update and prints how long each answer took: the cost of a bounded cache is the
replay of an evicted workflow's history when it wakes up. Everything it started is terminated at the
end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import journey_throughput as jt  # noqa: E402  (bench/ is on sys.path when this file runs as a script)
from temporalio.client import WorkflowHandle  # noqa: E402

from lendflow.settings import Settings  # noqa: E402
from workflows.contracts.origination import AcceptOffer, loan_workflow_id  # noqa: E402
from workflows.origination import LoanOriginationWorkflow  # noqa: E402


async def quiet_rss(worker: jt.WorkerProcess, settle: float) -> int:
    """VmRSS (KiB) once the worker has gone quiet: readings a second apart until two agree within 1 %."""
    await asyncio.sleep(settle)
    last = worker.memory()["VmRSS"]
    for _ in range(20):
        await asyncio.sleep(1.0)
        now = worker.memory()["VmRSS"]
        if abs(now - last) <= last / 100:
            return max(now, last)
        last = now
    return last


async def wake(client: Any, applicant: jt.Applicant, offer_id: str) -> float:
    """Seconds the `accept_offer` Update of one parked journey takes to answer."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(loan_workflow_id(applicant.application_id))
    started = time.perf_counter()
    await handle.execute_update(LoanOriginationWorkflow.accept_offer, AcceptOffer(offer_id, applicant.customer_id))
    return time.perf_counter() - started


async def run(parked: int, cache: int, concurrency: int, wakes: int, poll: float, settle: float) -> None:
    began, load_before = time.perf_counter(), jt.load()
    lines: list[str] = []
    async with jt.bench_run("memory", parked, poll, lines) as bench:
        client, driver, watcher, applicants = bench.client, bench.driver, bench.watcher, bench.applicants
        worker = await bench.start_worker(cache=cache, noop=False)
        jt.progress(
            f"worker subprocess {worker.pid} ready (max_cached_workflows={worker.info['max_cached_workflows']})"
        )
        offers: dict[str, str] = {}
        failures: list[str] = []

        async def park(applicant: jt.Applicant) -> None:
            try:
                await driver.submit(applicant)
                status, offer_id = await watcher.wait_for(applicant.application_id, {"offer_ready"})
                if status != "offer_ready" or offer_id is None:
                    raise jt.JourneyFailed(f"ended {status}")
                offers[applicant.application_id] = offer_id
            except Exception as exc:  # counted and reported
                failures.append(f"{type(exc).__name__}: {exc}"[:300])

        # One journey first, alone: it proves the journey reaches its offer (or stops the run at once)
        # and loads the workflow's code, so the first reading is the worker with nothing parked but it.
        await park(applicants[0])
        if failures:
            raise RuntimeError(f"the first journey did not reach offer_ready: {failures[0]}")
        curve: list[tuple[int, int]] = [(1, await quiet_rss(worker, settle))]
        marks = sorted({max(2, parked // 4), max(2, parked // 2), parked} - {1})
        done = 1
        parking_time = 0.0
        for mark in marks:
            parking_time += await jt.run_bounded(applicants[done:mark], concurrency, park)
            done = mark
            curve.append((len(offers), await quiet_rss(worker, settle)))
            jt.progress(f"{len(offers)} parked at offer_ready, worker VmRSS {jt.mib(curve[-1][1])}")
        peak = worker.memory()["VmHWM"]

        # The trade-off: wake the first parked (evicted when parked > cache) and the last (cached).
        ready = [a for a in applicants if a.application_id in offers]
        first, last = ready[:wakes], ready[-wakes:] if len(ready) > wakes else []
        woken: dict[str, list[float]] = {"first parked": [], "last parked": []}
        for name, group in (("first parked", first), ("last parked", last)):
            for applicant in group:
                woken[name].append(await wake(client, applicant, offers[applicant.application_id]))

        base_count, idle = curve[0]
        lines.append(
            f"parked: {len(offers)} of {parked} LoanOriginationWorkflow journeys waiting at offer_ready "
            f"({len(failures)} failed), concurrency {concurrency}, parked in {parking_time:.1f} s; "
            f"worker: own subprocess, max_cached_workflows={worker.info['max_cached_workflows']}; cores: {os.cpu_count()}"
        )
        lines.append(
            "worker VmRSS curve (parked: MiB): "
            + ", ".join(f"{count:,}: {kib / 1024:,.1f}" for count, kib in curve)
            + f"; peak {jt.mib(peak)}"
        )
        count, full = curve[-1]
        lines.append(
            f"worker memory per parked workflow: {(full - idle) / max(1, count - base_count):,.0f} KiB "
            f"(VmRSS at {count:,} parked minus VmRSS at {base_count}, divided by {count - base_count:,})"
        )
        if len(curve) >= 3:
            (half_n, half), (all_n, _) = curve[-2], curve[-1]
            if all_n > half_n:
                lines.append(
                    f"worker memory per parked workflow, second half only: {(full - half) / (all_n - half_n):,.0f} KiB "
                    f"({half_n:,} → {all_n:,} parked)"
                )
        for name, seconds in woken.items():
            if seconds:
                lines.append(
                    f"accept_offer on the {len(seconds)} {name}: p50 {jt.ms(jt.percentile(seconds, 50))}, "
                    f"max {jt.ms(max(seconds))}"
                )
        lines.append(f"machine load average (1/5/15 min): {load_before} at the start, {jt.load()} at the end")
        for failure in failures[:5]:
            lines.append(f"failure: {failure}")
    lines.append(f"whole run: {time.perf_counter() - began:.0f} s")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--parked", type=int, default=1000, help="journeys left waiting at offer_ready")
    parser.add_argument(
        "--cache",
        type=int,
        default=Settings().temporal.worker_max_cached_workflows,
        help="the worker's max_cached_workflows (default: temporal.worker_max_cached_workflows)",
    )
    parser.add_argument("--concurrency", type=int, default=20, help="journeys being started at once")
    parser.add_argument("--wake", type=int, default=5, help="first and last parked journeys woken at the end")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="read model polling interval")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before each RSS reading")
    args = parser.parse_args()
    if min(args.parked, args.concurrency) < 1 or args.cache < 0 or args.wake < 0:
        parser.error("--parked and --concurrency must be at least 1, --cache and --wake at least 0")
    asyncio.run(run(args.parked, args.cache, args.concurrency, args.wake, args.poll_ms / 1000, args.settle))


if __name__ == "__main__":
    main()
