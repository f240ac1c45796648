"""A round trip through a worker: proves that a worker polls the task queue and runs activities.

Ops and the tests start it to tell "Temporal is up" apart from "a worker is actually serving".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.diagnostics import WorkerDescription, describe_worker


@dataclass(frozen=True)
class WorkerPingInput:
    requested_by: str


@dataclass(frozen=True)
class WorkerPingResult:
    requested_by: str
    worker: WorkerDescription
    started_at: datetime


@workflow.defn
class WorkerPingWorkflow:
    @workflow.run
    async def run(self, ping: WorkerPingInput) -> WorkerPingResult:
        started_at = workflow.now()
        worker = await workflow.execute_activity(
            describe_worker,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return WorkerPingResult(requested_by=ping.requested_by, worker=worker, started_at=started_at)
