"""The worker and the pipeline stages answer Kubernetes' probes: `/health/live` and `/health/ready`.

The pipeline answers on its metrics port (beside `/metrics`), the worker on its own health port (the
Temporal SDK serves its metrics port). Each is started as the real `lendflow` process, configured
by environment variables as in a pod, against the local stack.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack_support import free_port

from lendflow import REPO_ROOT
from lendflow.health import ProcessHealth, serve_probes
from lendflow.settings import Settings


def _environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "LENDFLOW_ENVIRONMENT": "test",
        "LENDFLOW_LOG_LEVEL": "WARNING",
        "LENDFLOW_POSTGRES__DSN": settings.postgres.dsn.get_secret_value(),
        "LENDFLOW_REDIS__URL": settings.redis.url.get_secret_value(),
        "LENDFLOW_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "LENDFLOW_TEMPORAL__ADDRESS": settings.temporal.address,
        **extra,
    }


def _wait_for(url: str, status: int, *, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == status:
                return last
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered {status}; last: {last!r}")


@pytest.fixture
def process(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _start(
    args: list[str], env: dict[str, str], log: Path, started: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lendflow", *args],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    started.append(proc)
    return proc


@pytest.mark.services
async def test_a_pipeline_stage_is_live_and_ready_on_its_metrics_port_and_stops_on_sigterm(
    settings: Settings, tmp_path: Path, process: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = _environment(
        settings,
        LENDFLOW_PIPELINE__METRICS_PORT=str(port),
        LENDFLOW_PIPELINE__PRUNE_LOCK_KEY=str(uuid.uuid4().int % 2**31),
    )
    log = tmp_path / "pipeline.log"
    proc = _start(["pipeline", "--skip-migrations", "--stage", "housekeeping"], env, log, process)
    base = f"http://127.0.0.1:{port}"

    ready = await asyncio.to_thread(_wait_for, f"{base}/health/ready", 200)
    assert ready.json() == {"status": "ready"}
    live = httpx.get(f"{base}/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert "lendflow_pipeline_pruned_rows_total" in httpx.get(f"{base}/metrics").text

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0, log.read_text(errors="replace")[-3000:]


@pytest.mark.services
async def test_the_worker_is_live_and_ready_once_it_polls_its_task_queue(
    settings: Settings, tmp_path: Path, process: list[subprocess.Popen[bytes]]
) -> None:
    health_port, metrics_port = free_port(), free_port()
    env = _environment(
        settings,
        LENDFLOW_TEMPORAL__TASK_QUEUE=f"test-{uuid.uuid4()}",
        LENDFLOW_TEMPORAL__WORKER_METRICS_PORT=str(metrics_port),
        LENDFLOW_TEMPORAL__WORKER_HEALTH_PORT=str(health_port),
    )
    log = tmp_path / "worker.log"
    proc = _start(["worker", "--skip-migrations"], env, log, process)
    base = f"http://127.0.0.1:{health_port}"

    ready = await asyncio.to_thread(_wait_for, f"{base}/health/ready", 200, timeout=90)
    assert ready.json() == {"status": "ready"}
    assert httpx.get(f"{base}/health/live").status_code == 200
    # The SDK's metrics stay on their own port.
    assert "temporal" in httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 60) == 0, log.read_text(errors="replace")[-3000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health/live", timeout=2)


async def test_probes_fail_before_the_work_starts_and_when_the_event_loop_stalls() -> None:
    health = ProcessHealth(stale_after_seconds=0.5)
    server = serve_probes(health, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            # Started, not yet working: alive but not ready.
            assert (await client.get("/health/live")).status_code == 200
            not_ready = await client.get("/health/ready")
            assert (not_ready.status_code, not_ready.json()) == (503, {"status": "not_ready"})

            stop = asyncio.Event()
            beating = asyncio.create_task(health.keep_beating(stop, interval_seconds=0.1))
            health.set_ready(True)
            assert (await client.get("/health/ready")).status_code == 200

            # The loop stops beating (here: the beat task ends, as if the loop were stuck).
            stop.set()
            await beating
            await asyncio.sleep(0.7)
            stalled = await client.get("/health/live")
            assert (stalled.status_code, stalled.json()) == (503, {"status": "stalled"})
            assert (await client.get("/health/ready")).status_code == 503
            assert (await client.get("/metrics")).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
