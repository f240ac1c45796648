"""The Temporal worker process: registers the workflows and activities and polls the task queue."""

from __future__ import annotations

import asyncio
import signal

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.diagnostics import describe_worker
from lendflow.settings import Settings
from lendflow.temporal import connect
from workflows.diagnostics import WorkerPingWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS = [WorkerPingWorkflow]


def build_worker(client: Client, task_queue: str) -> Worker:
    """The worker with every workflow and activity of the project, on one task queue."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[describe_worker],
    )


async def run_worker(settings: Settings) -> None:
    client = await connect(settings.temporal)
    worker = build_worker(client, settings.temporal.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker.started", task_queue=settings.temporal.task_queue, address=settings.temporal.address)
    async with worker:
        await stop.wait()
        log.info("worker.stopping")
    log.info("worker.stopped")
