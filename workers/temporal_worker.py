"""The Temporal worker process: registers the workflows and activities and polls the task queue."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.diagnostics import describe_worker
from activities.onboarding import OnboardingActivities
from activities.origination import OriginationActivities
from activities.servicing import ServicingActivities
from integrations.factory import ProviderClients
from lendflow.health import ProcessHealth, serve_probes
from lendflow.settings import LenderSettings, Settings, TemporalSettings
from lendflow.temporal import connect
from storage.db import create_engine, create_session_maker
from workers.log_context import LogContextInterceptor
from workflows.diagnostics import WorkerPingWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.origination import LoanOriginationWorkflow
from workflows.servicing import ServicingWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS = [WorkerPingWorkflow, OnboardingWorkflow, LoanOriginationWorkflow, ServicingWorkflow]


def project_activities(
    session_maker: async_sessionmaker[AsyncSession],
    providers: ProviderClients,
    lender: LenderSettings | None = None,
) -> list[Callable[..., Any]]:
    """Every activity of the project, bound to the clients the worker built."""
    onboarding = OnboardingActivities(providers.federal_revenue, session_maker)
    origination = OriginationActivities(
        session_maker, providers.credit_bureau, providers.ecm, providers.esignature, providers.pix, lender=lender
    )
    servicing = ServicingActivities(session_maker, providers.pix)
    return [
        describe_worker,
        onboarding.check_cpf,
        onboarding.remind_customer,
        onboarding.complete_onboarding,
        origination.start_analysis,
        origination.fetch_credit_report,
        origination.record_status,
        origination.release_limit,
        origination.prepare_contract,
        origination.issue_signature_certificate,
        origination.void_envelope,
        origination.remind,
        origination.disburse,
        origination.reverse_disbursement,
        origination.complete_disbursement,
        servicing.issue_charge,
        servicing.record_installment_payment,
        servicing.record_early_settlement,
    ]


DEFAULT_MAX_CACHED_WORKFLOWS: int = TemporalSettings.model_fields["worker_max_cached_workflows"].default


def build_worker(
    client: Client,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    *,
    max_cached_workflows: int = DEFAULT_MAX_CACHED_WORKFLOWS,
) -> Worker:
    """The worker with every workflow of the project and the given activities, on one task queue.

    ``max_cached_workflows`` bounds the sticky cache (`temporal.worker_max_cached_workflows`): past it,
    the least recently used workflow is evicted and replays from its history when it next wakes up.
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        interceptors=[LogContextInterceptor()],
        max_cached_workflows=max_cached_workflows,
    )


def metrics_runtime(settings: Settings) -> Runtime:
    """A Temporal runtime exporting the SDK's metrics (and the workflows' business counters) to Prometheus."""
    address = f"{settings.temporal.worker_metrics_host}:{settings.temporal.worker_metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


async def run_worker(settings: Settings) -> None:
    # The probes: live while this event loop turns, ready while the worker polls its task queue.
    health = ProcessHealth()
    probes = serve_probes(health, settings.temporal.worker_metrics_host, settings.temporal.worker_health_port)
    try:
        client = await connect(settings.temporal, runtime=metrics_runtime(settings))
        engine = create_engine(settings.postgres)
        async with ProviderClients.from_settings(settings) as providers:
            worker = build_worker(
                client,
                settings.temporal.task_queue,
                project_activities(create_session_maker(engine), providers, settings.lender),
                max_cached_workflows=settings.temporal.worker_max_cached_workflows,
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            log.info(
                "worker.started",
                task_queue=settings.temporal.task_queue,
                address=settings.temporal.address,
                max_cached_workflows=settings.temporal.worker_max_cached_workflows,
            )
            heartbeat = asyncio.create_task(health.keep_beating(stop), name="worker-heartbeat")
            async with worker:
                health.set_ready(True)
                await stop.wait()
                health.set_ready(False)
                log.info("worker.stopping")
            await heartbeat
        await engine.dispose()
        log.info("worker.stopped")
    finally:
        probes.shutdown()
        probes.server_close()
