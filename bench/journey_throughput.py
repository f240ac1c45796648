"""Loan journeys per second and submission → decision latency, next to a no-op workflow, same server, same run.

    .venv/bin/python bench/journey_throughput.py [--journeys 100] [--concurrency 20] [--waiting 1000]

It needs the local stack (`lendflow services up`): PostgreSQL and the Temporal dev server. It builds
everything else itself and removes it at the end: a database of its own (created, migrated to head,
dropped), uuid task queues, the provider simulator on a free port (a uvicorn thread of this
process, answering at once: no injected latency, payouts settled immediately, its webhooks sent to a
sink route that answers 200), and the project's worker (`build_worker` + `project_activities`,
default options, so the default sticky cache `max_cached_workflows`) in a subprocess of its own, so
that its memory is measured alone.

Three measurements:

- journeys: each application (an active customer with a high income and a band-A bureau score,
  inserted with SQLAlchemy) is submitted by starting `LoanOriginationWorkflow` with the default
  `OriginationPolicy`; the driver then plays the customer and the providers' events at once, as soon
  as the read model (`loan_applications.status`, polled by one watcher for every application in
  flight) shows the workflow waiting: `accept_offer` Update at `offer_ready`, a
  `esignature.envelope.signed` `signature_event` at `contract_sent`, once the envelope is signed at
  the simulator (its admin route, as the borrower on the signing page), so that the journey stores
  the signature certificate as a real one does; a
  `pix.payout.settled` `payout_event` at `disbursing`. A journey ends when the workflow returns
  `disbursed` (its servicing child has been started; the children are terminated after the run).
  The signals are sent by the driver directly: the Kafka path (webhook → validation → trusted →
  bridge) is measured separately by `bench/pipeline_throughput.py`, so this one isolates the
  workflow/activity path. Decision latency is submission (just before `start_workflow`) → the
  watcher seeing `offer_ready`, on the driver's clock, so it is late by up to one poll interval.
- no-op: a workflow defined here that runs, one after the other, as many no-op activities as one
  journey schedules (counted as the ActivityTaskScheduled events of a real journey's history in this
  run), started the same way, with the same concurrency, on a second worker in the same subprocess;
  when a journey schedules another number than `--baseline-activities` (default 8, what a journey
  scheduled when the goal was set), the same no-op is measured again with that many, for a second
  ratio.
- memory: a fresh worker subprocess; `--waiting` applications are driven to `contract_sent` (waiting
  for a signature) and the worker process's VmRSS is read from /proc when it is idle, when the first
  few wait, and when all of them wait. They are terminated afterwards.

Both throughput sides get the same warm-up first; the clock runs from the first start to the last
result. Everything shares the machine: the Temporal dev server, PostgreSQL, the worker subprocess, and
this process (driver + simulator).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

if __name__ == "__main__":  # run as a script (not when the workflow sandbox re-runs this module)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Passed through the workflow sandbox: the no-op workflow below lives in this module, and the sandbox
# re-runs the module for each workflow it creates; re-importing these there would only add cost.
with workflow.unsafe.imports_passed_through():
    import httpx
    import psycopg
    import uvicorn
    from pydantic import SecretStr
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WorkflowHandle
    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.worker import Worker

    from domain.postal_address import PostalAddress
    from integrations.cpf import cpf_check_digits
    from integrations.factory import ProviderClients
    from lendflow.logging import configure_logging
    from lendflow.settings import Settings
    from lendflow.temporal import connect
    from simulator.app import create_app as create_simulator
    from simulator.people import credit_profile_for
    from storage.db import create_engine, create_session_maker
    from storage.migrate import upgrade_to_head
    from storage.models import Customer, LoanApplication, SignatureEnvelope
    from workers.log_context import LogContextInterceptor
    from workers.temporal_worker import build_worker, project_activities
    from workflows.activity_options import DATABASE_WRITE
    from workflows.contracts.origination import AcceptOffer, LoanApplicationInput, ProviderEvent, loan_workflow_id
    from workflows.contracts.servicing import servicing_workflow_id
    from workflows.origination import LoanOriginationWorkflow

AMOUNT = Decimal("5000.00")
TERM_MONTHS = 12
MONTHLY_INCOME = Decimal("50000.00")
FAILED = frozenset({"declined", "expired", "cancelled", "failed"})
STEP_TIMEOUT = 120.0  # seconds one application may take to reach the next status the driver waits for


# --- The no-op side ---------------------------------------------------------------------------------


@activity.defn(name="bench_noop")
async def noop_activity(step: int) -> int:
    return step


@workflow.defn(name="BenchNoopWorkflow")
class NoopWorkflow:
    """As many activities as a journey, one after the other, each doing nothing."""

    @workflow.run
    async def run(self, activities: int) -> int:
        for step in range(activities):
            await workflow.execute_activity(
                noop_activity,
                step,
                start_to_close_timeout=DATABASE_WRITE["start_to_close_timeout"],
                retry_policy=DATABASE_WRITE["retry_policy"],
            )
        return activities


# --- Settings, database, simulator ------------------------------------------------------------------


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg://", "postgresql://")


def bench_settings(
    base: Settings, *, dsn: str, simulator_port: int, task_queue: str, data_dir: Path | None
) -> Settings:
    """The base settings pointed at this run's database, simulator and task queue."""
    url = f"http://127.0.0.1:{simulator_port}"
    providers = base.providers
    return base.model_copy(
        update={
            "log_level": "WARNING",
            "postgres": base.postgres.model_copy(update={"dsn": SecretStr(dsn)}),
            "temporal": base.temporal.model_copy(update={"task_queue": task_queue}),
            "simulator": base.simulator.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": simulator_port,
                    "public_base_url": None,
                    "data_dir": data_dir,
                    "settlement_delay_seconds": 0.0,
                    "webhook_target_base_url": f"{url}/_bench_sink/",
                    "webhook_max_attempts": 1,
                }
            ),
            "providers": providers.model_copy(
                update={
                    "federal_revenue": providers.federal_revenue.model_copy(
                        update={"base_url": f"{url}/federal-revenue"}
                    ),
                    "credit_bureau": providers.credit_bureau.model_copy(update={"base_url": f"{url}/credit-bureau"}),
                    "ecm": providers.ecm.model_copy(update={"base_url": f"{url}/ecm"}),
                    "esignature": providers.esignature.model_copy(update={"base_url": f"{url}/esignature"}),
                    "pix": providers.pix.model_copy(update={"base_url": f"{url}/pix"}),
                    "webhook_target_base_url": f"{url}/_bench_sink/",
                }
            ),
        }
    )


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SimulatorThread:
    """The provider simulator on its own thread and event loop, plus a sink for its webhooks."""

    def __init__(self, settings: Settings) -> None:
        app = create_simulator(settings)

        @app.post("/_bench_sink/{provider}", include_in_schema=False)
        async def _sink(provider: str) -> dict[str, str]:
            return {"status": "ignored"}  # the benchmark signals the workflows itself

        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.simulator.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="simulator", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass(frozen=True)
class Applicant:
    application_id: str
    customer_id: str


def _approvable_cpfs(count: int) -> list[str]:
    """Valid CPFs the simulator's bureau scores in band A (≥ 800, hence no negative records)."""
    found: set[str] = set()
    while len(found) < count:
        base = "".join(random.choice("0123456789") for _ in range(9))
        if base.startswith("99") or len(set(base)) == 1:
            continue
        cpf = base + cpf_check_digits(base)
        profile = credit_profile_for(cpf)
        if profile.score >= 800 and not profile.negative_records:
            found.add(cpf)
    return sorted(found)


# The contract names the borrower with the address on file; a customer without one gets no CCB.
BENCH_ADDRESS = PostalAddress("01310100", "Avenida Paulista", "1578", "Bela Vista", "São Paulo", "SP")


async def seed(sessions: async_sessionmaker[AsyncSession], count: int) -> list[Applicant]:
    """Active customers and their `submitted` applications, as registration and the API leave them."""
    applicants: list[Applicant] = []
    cpfs = _approvable_cpfs(count)
    for start in range(0, count, 500):
        async with sessions() as session, session.begin():
            customers, applications = [], []
            for cpf in cpfs[start : start + 500]:
                customer = Customer(
                    id=uuid.uuid4(), cpf=cpf, name="Bench Customer", email=f"bench-{uuid.uuid4().hex}@example.com",
                    password_hash="x", birth_date=date(1990, 1, 1), phone="+5511900000000",
                    monthly_income=MONTHLY_INCOME, status="active", address=BENCH_ADDRESS,
                )  # fmt: skip
                application = LoanApplication(
                    id=uuid.uuid4(), customer_id=customer.id, status="submitted", amount=AMOUNT,
                    term_months=TERM_MONTHS, amortization="price",
                )  # fmt: skip
                customers.append(customer)
                applications.append(application)
                applicants.append(Applicant(str(application.id), str(customer.id)))
            session.add_all(customers)
            await session.flush()
            session.add_all(applications)
    return applicants


# --- The worker subprocess -------------------------------------------------------------------------


async def serve_worker(simulator_port: int, task_queue: str, noop_queue: str | None, cache: int | None) -> None:
    """Child mode: the project's worker (with ``cache`` as its sticky cache size when given) and, with
    ``noop_queue``, the no-op worker, until stdin closes or SIGTERM."""
    settings = bench_settings(
        Settings(), dsn=os.environ["LENDFLOW_POSTGRES__DSN"], simulator_port=simulator_port, task_queue=task_queue,
        data_dir=None,
    )  # fmt: skip
    configure_logging(settings)
    client = await connect(settings.temporal)
    engine = create_engine(settings.postgres)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def stdin_readable() -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), stdin_readable)
    try:
        async with ProviderClients.from_settings(settings) as providers, contextlib.AsyncExitStack() as running:
            activities = project_activities(create_session_maker(engine), providers, settings.lender)
            worker = (
                build_worker(client, task_queue, activities)
                if cache is None
                else build_worker(client, task_queue, activities, max_cached_workflows=cache)
            )
            await running.enter_async_context(worker)
            if noop_queue is not None:
                noop = Worker(
                    client,
                    task_queue=noop_queue,
                    workflows=[NoopWorkflow],
                    activities=[noop_activity],
                    interceptors=[LogContextInterceptor()],
                )
                await running.enter_async_context(noop)
            config = worker.config()
            ready = {
                "pid": os.getpid(),
                "max_cached_workflows": config.get("max_cached_workflows"),
                "max_concurrent_activities": config.get("max_concurrent_activities"),
                "max_concurrent_workflow_tasks": config.get("max_concurrent_workflow_tasks"),
            }
            print("READY " + json.dumps(ready), flush=True)
            await stop.wait()
    finally:
        await engine.dispose()


class WorkerProcess:
    """`python bench/journey_throughput.py --serve-worker …`, started and stopped by the driver; the
    other benches start it too (without the no-op worker, or with a sticky cache of their own)."""

    def __init__(
        self, dsn: str, simulator_port: int, task_queue: str, noop_queue: str | None, *, cache: int | None = None
    ) -> None:
        self._args = [
            sys.executable, str(Path(__file__).resolve()), "--serve-worker", "--simulator-port", str(simulator_port),
            "--task-queue", task_queue,
        ]  # fmt: skip
        if noop_queue is not None:
            self._args += ["--noop-queue", noop_queue]
        if cache is not None:
            self._args += ["--cache", str(cache)]
        self._env = {**os.environ, "LENDFLOW_POSTGRES__DSN": dsn}
        self.process: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self._args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=self._env
        )
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
            if not line:
                raise RuntimeError(f"the worker subprocess exited ({await self.process.wait()}) before it was ready")
            text = line.decode().rstrip()
            if text.startswith("READY "):
                self.info = json.loads(text[6:])
                break
            print(f"[worker] {text}", file=sys.stderr)
        self._drain = asyncio.create_task(self._echo(self.process.stdout))

    @staticmethod
    async def _echo(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            print(f"[worker] {line.decode().rstrip()}", file=sys.stderr)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the worker process, in KiB."""
        values: dict[str, int] = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        return values

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=30)
        except TimeoutError:
            self.process.terminate()
            await self.process.wait()
        if self._drain is not None:
            await self._drain
        if self.process.returncode:
            print(f"note: the worker subprocess exited with {self.process.returncode}", file=sys.stderr)


# --- The driver ------------------------------------------------------------------------------------


class JourneyFailed(Exception):
    pass


class ReadModelWatcher:
    """One loop polling `loan_applications.status` for every application someone waits on."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], every: float) -> None:
        self._sessions = sessions
        self._every = every
        self._waiters: dict[uuid.UUID, list[tuple[frozenset[str], asyncio.Future[tuple[str, str | None]]]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait_for(
        self, application_id: str, statuses: Iterable[str], timeout: float = STEP_TIMEOUT
    ) -> tuple[str, str | None]:
        """The first of ``statuses`` (or a failed end) the read model shows: (status, offer id)."""
        key = uuid.UUID(application_id)
        future: asyncio.Future[tuple[str, str | None]] = asyncio.get_running_loop().create_future()
        entry = (frozenset(statuses) | FAILED, future)
        self._waiters.setdefault(key, []).append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise JourneyFailed(f"{application_id} did not reach {sorted(statuses)} in {timeout:.0f}s") from None
        finally:
            waiting = self._waiters.get(key, [])
            if entry in waiting:
                waiting.remove(entry)
            if not waiting:
                self._waiters.pop(key, None)

    async def _run(self) -> None:
        offer_id = LoanApplication.offer["offer_id"].astext
        while True:
            if self._waiters:
                ids = list(self._waiters)
                async with self._sessions() as session:
                    rows = (
                        await session.execute(
                            select(LoanApplication.id, LoanApplication.status, offer_id).where(
                                LoanApplication.id.in_(ids)
                            )
                        )
                    ).all()
                for application_id, status, offer in rows:
                    for statuses, future in list(self._waiters.get(application_id, [])):
                        if status in statuses and not future.done():
                            future.set_result((status, offer))
            await asyncio.sleep(self._every)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Phase:
    count: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    decision: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


async def run_bounded(items: list[Any], concurrency: int, one: Callable[[Any], Awaitable[None]]) -> float:
    """Run ``one`` over ``items`` with at most ``concurrency`` at a time; the wall time it took."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def runner() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(item)

    started = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(min(concurrency, len(items)))))
    return time.perf_counter() - started


@dataclass
class Signing:
    """The borrower signs the envelope at the simulator, as a real one does before the provider's webhook."""

    sessions: async_sessionmaker[AsyncSession]
    simulator: httpx.AsyncClient

    async def sign(self, application_id: str) -> None:
        async with self.sessions() as session:
            envelope_id = await session.scalar(
                select(SignatureEnvelope.envelope_id).where(
                    SignatureEnvelope.application_id == uuid.UUID(application_id), SignatureEnvelope.status == "sent"
                )
            )
        if envelope_id is None:
            raise JourneyFailed(f"{application_id} has no envelope waiting for a signature")
        (await self.simulator.post(f"/_admin/esignature/envelopes/{envelope_id}/sign")).raise_for_status()


@dataclass
class Driver:
    client: Client
    watcher: ReadModelWatcher
    task_queue: str
    noop_queue: str
    started: list[str] = field(default_factory=list)  # workflow ids this run started
    disbursed: list[str] = field(default_factory=list)  # application ids whose servicing child runs
    # Where the borrower signs before the provider's event is played (the simulator's admin route);
    # without it the certificate step finds the envelope unsigned, records that and goes on.
    signing: Signing | None = None

    async def submit(self, applicant: Applicant) -> WorkflowHandle[Any, Any]:
        workflow_id = loan_workflow_id(applicant.application_id)
        self.started.append(workflow_id)
        return await self.client.start_workflow(
            LoanOriginationWorkflow.run,
            LoanApplicationInput(
                application_id=applicant.application_id,
                customer_id=applicant.customer_id,
                amount=AMOUNT,
                term_months=TERM_MONTHS,
                amortization="price",
            ),
            id=workflow_id,
            task_queue=self.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )

    async def _expect(self, applicant: Applicant, status: str) -> str | None:
        reached, offer_id = await self.watcher.wait_for(applicant.application_id, {status})
        if reached != status:
            raise JourneyFailed(f"{applicant.application_id} ended {reached} waiting for {status}")
        return offer_id

    async def to_contract_sent(self, applicant: Applicant, phase: Phase) -> WorkflowHandle[Any, Any]:
        """Submit, accept the offer at once, stop where the customer is asked to sign."""
        submitted = time.perf_counter()
        handle = await self.submit(applicant)
        offer_id = await self._expect(applicant, "offer_ready")
        phase.decision.append(time.perf_counter() - submitted)
        assert offer_id is not None
        await handle.execute_update(LoanOriginationWorkflow.accept_offer, AcceptOffer(offer_id, applicant.customer_id))
        await self._expect(applicant, "contract_sent")
        return handle

    async def journey(self, applicant: Applicant, phase: Phase) -> None:
        submitted = time.perf_counter()
        try:
            handle = await self.to_contract_sent(applicant, phase)
            subject = applicant.application_id
            if self.signing is not None:
                await self.signing.sign(subject)
            await handle.signal(
                LoanOriginationWorkflow.signature_event,
                ProviderEvent(
                    f"evt_{uuid.uuid4().hex}", "esignature.envelope.signed", subject, {"external_reference": subject}
                ),
            )
            await self._expect(applicant, "disbursing")
            await handle.signal(
                LoanOriginationWorkflow.payout_event,
                ProviderEvent(
                    f"evt_{uuid.uuid4().hex}", "pix.payout.settled", subject, {"external_reference": subject}
                ),
            )
            result = await asyncio.wait_for(handle.result(), STEP_TIMEOUT)
            if result.status != "disbursed":
                raise JourneyFailed(f"{subject} ended {result.status} ({result.reason})")
            self.disbursed.append(subject)
            phase.total.append(time.perf_counter() - submitted)
            phase.count += 1
        except Exception as exc:  # counted and reported; the others go on
            phase.failures.append(f"{type(exc).__name__}: {exc}"[:300])

    async def waiting(self, applicant: Applicant, phase: Phase) -> None:
        try:
            await self.to_contract_sent(applicant, phase)
            phase.count += 1
        except Exception as exc:
            phase.failures.append(f"{type(exc).__name__}: {exc}"[:300])

    async def noop(self, activities: int, phase: Phase) -> None:
        submitted = time.perf_counter()
        workflow_id = f"bench-noop-{uuid.uuid4()}"
        self.started.append(workflow_id)
        try:
            await self.client.execute_workflow(
                NoopWorkflow.run,
                activities,
                id=workflow_id,
                task_queue=self.noop_queue,
                execution_timeout=timedelta(minutes=5),
            )
            phase.total.append(time.perf_counter() - submitted)
            phase.count += 1
        except Exception as exc:
            phase.failures.append(f"{type(exc).__name__}: {exc}"[:300])

    async def terminate(self, workflow_ids: Iterable[str], reason: str, concurrency: int = 50) -> int:
        """Terminate the running ones among ``workflow_ids``; how many were running."""
        terminated = 0

        async def one(workflow_id: str) -> None:
            nonlocal terminated
            try:
                await self.client.get_workflow_handle(workflow_id).terminate(reason=reason)
                terminated += 1
            except Exception:
                pass  # closed already, or never started

        await run_bounded(list(workflow_ids), concurrency, one)
        return terminated

    async def terminate_leftovers(self) -> int:
        """Whatever still runs on this run's task queues (visibility is eventually consistent: best effort)."""
        ids: list[str] = []
        for queue in (self.task_queue, self.noop_queue):
            try:
                async for execution in self.client.list_workflows(
                    f'TaskQueue = "{queue}" AND ExecutionStatus = "Running"'
                ):
                    ids.append(execution.id)
            except Exception as exc:
                print(f"note: could not list the workflows left on {queue}: {exc}", file=sys.stderr)
        return await self.terminate(ids, "benchmark over")


async def activity_count(client: Client, workflow_id: str) -> tuple[int, list[str], int]:
    """ActivityTaskScheduled events (and their types) and WorkflowTaskCompleted events of a history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    names = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    tasks = sum(1 for event in history.events if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    return len(names), names, tasks


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def mib(kib: int) -> str:
    return f"{kib / 1024:,.1f} MiB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


async def settle_rss(worker: WorkerProcess, seconds: float = 3.0) -> dict[str, int]:
    """Let the last workflow tasks finish, then the highest of a few VmRSS readings."""
    await asyncio.sleep(seconds)
    readings = []
    for _ in range(3):
        readings.append(worker.memory())
        await asyncio.sleep(0.5)
    return max(readings, key=lambda r: r["VmRSS"])


async def run(
    journeys: int, noops: int, concurrency: int, waiting: int, warm_up: int, poll: float, baseline_activities: int
) -> None:
    began, load_before = time.perf_counter(), load()
    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "WARNING"}))
    try:
        probe = await connect(base.temporal)
        await probe.count_workflows("WorkflowType = 'BenchNoopWorkflow'")
    except Exception as exc:
        sys.exit(f"Temporal at {base.temporal.address} does not answer ({exc}); run `.venv/bin/lendflow services up`")

    lines: list[str] = []
    async with bench_run("journey", warm_up + journeys + waiting, poll, lines, signing=True) as bench:
        client, driver, sessions = bench.client, bench.driver, bench.sessions
        pool = iter(bench.applicants)

        # 1. Throughput: journeys, then no-ops, on one worker subprocess; the same warm-up for both.
        worker = await bench.start_worker()
        cache = worker.info.get("max_cached_workflows")
        progress(f"worker subprocess {worker.pid} ready; warm-up")
        warm = Phase()
        await run_bounded([next(pool) for _ in range(warm_up)], concurrency, lambda a: driver.journey(a, warm))
        if warm.failures or not driver.disbursed:
            raise RuntimeError(f"the warm-up journeys failed: {warm.failures[:3]}")
        activities, names, journey_tasks = await activity_count(client, loan_workflow_id(driver.disbursed[0]))
        noop_warm = Phase()
        await run_bounded(list(range(warm_up)), concurrency, lambda _: driver.noop(activities, noop_warm))
        if noop_warm.failures:
            raise RuntimeError(f"the warm-up no-op workflows failed: {noop_warm.failures[:3]}")

        progress(f"{activities} activities per journey; measuring {journeys} journeys")
        measured = Phase()
        batch = [next(pool) for _ in range(journeys)]
        measured.elapsed = await run_bounded(batch, concurrency, lambda a: driver.journey(a, measured))
        progress(f"journeys: {measured.rate:.2f}/s; measuring {noops} no-op workflows")
        noop = Phase()
        noop.elapsed = await run_bounded(list(range(noops)), concurrency, lambda _: driver.noop(activities, noop))
        noop_history = [w for w in driver.started if w.startswith("bench-noop-")][-1]
        _, _, noop_tasks = await activity_count(client, noop_history)
        baseline: Phase | None = None
        if baseline_activities != activities:
            progress(f"no-op: {noop.rate:.2f}/s; measuring {noops} no-op workflows of {baseline_activities} activities")
            baseline = Phase()
            baseline.elapsed = await run_bounded(
                list(range(noops)), concurrency, lambda _: driver.noop(baseline_activities, baseline)
            )
        await driver.terminate(
            [servicing_workflow_id(a) for a in driver.disbursed], "benchmark over: servicing not measured"
        )

        # 2. Memory: a fresh worker subprocess, `waiting` applications waiting for a signature.
        worker = await bench.start_worker()
        progress(
            f"no-op: {noop.rate:.2f}/s; fresh worker subprocess {worker.pid}; driving {waiting} applications to contract_sent"
        )
        idle = await settle_rss(worker, 1.0)
        held = Phase()
        first = min(10, waiting)
        group = [next(pool) for _ in range(waiting)]
        await run_bounded(group[:first], concurrency, lambda a: driver.waiting(a, held))
        few = await settle_rss(worker)

        async def report_progress() -> None:
            while True:
                await asyncio.sleep(30)
                progress(
                    f"{held.count} of {waiting} waiting for a signature, worker VmRSS {mib(worker.memory()['VmRSS'])}"
                )

        reporter = asyncio.create_task(report_progress())
        try:
            held.elapsed = await run_bounded(group[first:], concurrency, lambda a: driver.waiting(a, held))
        finally:
            reporter.cancel()
        full = await settle_rss(worker)
        async with sessions() as session:
            ids = [uuid.UUID(a.application_id) for a in group]
            at_signature = len(
                (
                    await session.execute(
                        select(LoanApplication.id).where(
                            LoanApplication.id.in_(ids), LoanApplication.status == "contract_sent"
                        )
                    )
                ).all()
            )
        sample = await client.get_workflow_handle(loan_workflow_id(group[-1].application_id)).describe()
        progress("terminating the waiting applications")
        await driver.terminate([loan_workflow_id(a.application_id) for a in group], "benchmark over")
        await bench.stop_worker()

        # The note.
        lines.append(
            f"journeys: {journeys} measured (+{warm_up} warm-up), no-op workflows: {noops} (+{warm_up} warm-up), "
            f"concurrency: {concurrency}, cores: {os.cpu_count()}, Temporal: {base.temporal.address}, "
            f"worker: own subprocess, max_cached_workflows={cache}"
        )
        lines.append(
            f"activities per journey (ActivityTaskScheduled in one journey's history): {activities} "
            f"({', '.join(names)}); workflow tasks: journey {journey_tasks}, no-op {noop_tasks}"
        )
        lines.append(
            f"loan journeys, submission → disbursed:     {measured.rate:8.2f} journeys/s   "
            f"({measured.count} in {measured.elapsed:.1f} s, {len(measured.failures)} failed)"
        )
        lines.append(
            f"no-op workflow, {activities} no-op activities:       {noop.rate:8.2f} workflows/s  "
            f"({noop.count} in {noop.elapsed:.1f} s, {len(noop.failures)} failed)"
        )
        if noop.rate:
            lines.append(f"ratio journeys / no-op:                   {measured.rate / noop.rate:8.3f}")
        if baseline is not None:
            lines.append(
                f"no-op workflow, {baseline_activities} no-op activities:       {baseline.rate:8.2f} workflows/s  "
                f"({baseline.count} in {baseline.elapsed:.1f} s, {len(baseline.failures)} failed)"
            )
            if baseline.rate:
                lines.append(
                    f"ratio journeys / no-op with {baseline_activities} activities:  "
                    f"{measured.rate / baseline.rate:8.3f}"
                )
        if measured.decision:
            lines.append(
                f"decision latency, submission → offer_ready: p50 {ms(percentile(measured.decision, 50))}, "
                f"p99 {ms(percentile(measured.decision, 99))} (n={len(measured.decision)}, "
                f"read model polled every {poll * 1000:.0f} ms)"
            )
        if measured.total:
            lines.append(
                f"journey latency, submission → disbursed:   p50 {ms(percentile(measured.total, 50))}, "
                f"p99 {ms(percentile(measured.total, 99))}"
            )
        if noop.total:
            lines.append(
                f"no-op workflow latency, start → result:    p50 {ms(percentile(noop.total, 50))}, "
                f"p99 {ms(percentile(noop.total, 99))}"
            )
        per_workflow = (full["VmRSS"] - few["VmRSS"]) / max(1, held.count - first)
        lines.append(
            f"worker memory (VmRSS of the worker subprocess, a fresh one): idle {mib(idle['VmRSS'])}; "
            f"{first} waiting {mib(few['VmRSS'])}; {held.count} waiting for a signature {mib(full['VmRSS'])} "
            f"(peak {mib(full['VmHWM'])}); ≈ {per_workflow:,.0f} KiB per waiting workflow after the first {first}"
        )
        lines.append(
            f"waiting check: {at_signature} of {waiting} applications at contract_sent in the read model, "
            f"{len(held.failures)} failed; reached in {held.elapsed:.1f} s after the first {first}; "
            f"last one's workflow {sample.status.name if sample.status else '?'}"
        )
        if waiting > (cache or 0):
            lines.append(
                f"note: {waiting} waiting > max_cached_workflows={cache}: some were evicted from the sticky cache"
            )
        lines.append(f"machine load average (1/5/15 min): {load_before} at the start, {load()} at the end")
        phases = [("journey", measured), ("no-op", noop), ("waiting", held)]
        if baseline is not None:
            phases.append((f"no-op of {baseline_activities}", baseline))
        for name, phase in phases:
            for failure in phase.failures[:5]:
                lines.append(f"{name} failure: {failure}")
    lines.append(f"whole run: {time.perf_counter() - began:.0f} s (set-up, warm-up, the three phases, clean-up)")
    print("\n".join(lines))


@dataclass
class BenchRun:
    """What `bench_run` set up for a bench that drives journeys, and its worker subprocess."""

    dsn: str
    simulator_port: int
    task_queue: str
    noop_queue: str
    sessions: async_sessionmaker[AsyncSession]
    client: Client
    watcher: ReadModelWatcher
    driver: Driver
    applicants: list[Applicant]
    worker: WorkerProcess | None = None

    async def start_worker(self, *, cache: int | None = None, noop: bool = True) -> WorkerProcess:
        """A fresh worker subprocess (the previous one stopped first), with the no-op worker unless not ``noop``."""
        await self.stop_worker()
        self.worker = WorkerProcess(
            self.dsn, self.simulator_port, self.task_queue, self.noop_queue if noop else None, cache=cache
        )
        await self.worker.start()
        return self.worker

    async def stop_worker(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None


@contextlib.asynccontextmanager
async def bench_run(
    kind: str, applicants: int, poll: float, lines: list[str], *, signing: bool = False
) -> AsyncIterator[BenchRun]:
    """A bench's own world on the local stack: a database (created, migrated, seeded with
    ``applicants``), the simulator in a thread, a Temporal client, the read-model watcher and the
    driver (signing at the simulator when ``signing``). On the way out everything that came up is
    undone, whatever failed: workflows terminated, worker stopped, database dropped (`tear_down`)."""
    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "WARNING"}))
    app_dsn = base.postgres.dsn.get_secret_value()
    database = f"lendflow_bench_{uuid.uuid4().hex[:10]}"
    dsn = app_dsn.rsplit("/", 1)[0] + "/" + database
    run_id = uuid.uuid4().hex[:10]
    task_queue, noop_queue = f"bench-{kind}-{run_id}", f"bench-noop-{run_id}"
    data_dir = Path(tempfile.mkdtemp(prefix="lendflow-bench-simulator-"))
    simulator_port = free_port()
    settings = bench_settings(base, dsn=dsn, simulator_port=simulator_port, task_queue=task_queue, data_dir=data_dir)
    with psycopg.connect(_plain(app_dsn), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    simulator: SimulatorThread | None = None
    engine: AsyncEngine | None = None
    watcher: ReadModelWatcher | None = None
    driver: Driver | None = None
    bench: BenchRun | None = None
    try:
        upgrade_to_head(dsn)
        engine = create_engine(settings.postgres)
        sessions = create_session_maker(engine)
        seeded = await seed(sessions, applicants)
        simulator = SimulatorThread(settings)
        simulator.start()
        client = await connect(settings.temporal)
        watcher = ReadModelWatcher(sessions, poll)
        watcher.start()
        signer = (
            Signing(sessions, httpx.AsyncClient(base_url=f"http://127.0.0.1:{simulator_port}", timeout=30))
            if signing
            else None
        )
        driver = Driver(client, watcher, task_queue, noop_queue, signing=signer)
        bench = BenchRun(dsn, simulator_port, task_queue, noop_queue, sessions, client, watcher, driver, seeded)
        yield bench
    finally:
        await tear_down(
            lines, driver=driver, worker=bench.worker if bench else None, watcher=watcher, engine=engine,
            simulator=simulator, data_dir=data_dir, app_dsn=app_dsn, database=database,
        )  # fmt: skip


async def tear_down(
    lines: list[str],
    *,
    driver: Driver | None,
    worker: WorkerProcess | None,
    watcher: ReadModelWatcher | None,
    engine: AsyncEngine | None,
    simulator: SimulatorThread | None,
    data_dir: Path,
    app_dsn: str,
    database: str,
) -> None:
    """What a bench run set up, undone (whatever of it came up): its workflows terminated, its worker,
    watcher and simulator stopped, its database dropped. Shared by every bench that drives journeys."""
    if worker is not None:
        await worker.stop()
    if driver is not None and driver.signing is not None:
        await driver.signing.simulator.aclose()
    if driver is not None:
        progress("terminating the benchmark's workflows")
        await driver.terminate(
            [servicing_workflow_id(a) for a in driver.disbursed] + list(driver.started), "benchmark over"
        )
        leftovers = await driver.terminate_leftovers()
        if leftovers:
            lines.append(f"cleanup: terminated {leftovers} workflows left on the benchmark's task queues")
    if watcher is not None:
        await watcher.stop()
    if engine is not None:
        await engine.dispose()
    if simulator is not None:
        simulator.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    with psycopg.connect(_plain(app_dsn), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--journeys", type=int, default=100, help="measured journeys (default 100)")
    parser.add_argument(
        "--noop", type=int, default=None, help="measured no-op workflows (default: as many as journeys)"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="applications (or no-op workflows) in flight")
    parser.add_argument("--waiting", type=int, default=1000, help="applications left waiting for a signature")
    parser.add_argument("--warm-up", type=int, default=10, help="journeys and no-op workflows run before measuring")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="read model polling interval of the driver")
    parser.add_argument(
        "--baseline-activities",
        type=int,
        default=8,
        help="also measure a no-op workflow of this many activities when a journey schedules another number (default 8)",
    )
    parser.add_argument("--serve-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--simulator-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    parser.add_argument("--noop-queue", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_worker:
        asyncio.run(serve_worker(args.simulator_port, args.task_queue, args.noop_queue, args.cache))
        return
    if min(args.journeys, args.concurrency, args.waiting, args.warm_up) < 1:
        parser.error("--journeys, --concurrency, --waiting and --warm-up must be at least 1")
    asyncio.run(
        run(
            args.journeys,
            args.noop or args.journeys,
            args.concurrency,
            args.waiting,
            args.warm_up,
            args.poll_ms / 1000,
            args.baseline_activities,
        )
    )


if __name__ == "__main__":
    main()
