"""Requests per second of the API next to a bare FastAPI app, same body models, same uvicorn, same run.

    .venv/bin/python bench/api_throughput.py [--duration 10] [--connections 16] [--loans-duration 5] [--rounds 3]
        [--loop uvloop|asyncio] [--http httptools|h11]
    .venv/bin/python bench/api_throughput.py --asgi-requests 1000   # CPU per request, no server

Each side runs in its own uvicorn process on loopback with the same settings (one worker, no access
log, `--loop uvloop --http httptools` unless `--loop`/`--http` say otherwise), and wrk (Debian's `wrk`, installed with apt when missing) drives it:

- `POST /v1/loan-simulations`, 12 Price installments (the bench's default body): ours prices the
  loan with the credit kernel and answers the full simulation; the bare app validates the same
  request model (`LoanSimulationRequest`) and answers a small JSON object, so the ratio is what
  the kernel, the response and our middleware (request ids, metrics, body limits, CORS, problem
  handlers) cost on top of FastAPI itself;
- `POST /v1/loans` for a customer the bench registers and logs in through the API, replayed with
  one Idempotency-Key: ours authenticates the bearer token, validates the body, finds the
  idempotency claim in PostgreSQL and asks Temporal to start the application's workflow (which
  answers "already started"); the bare app validates the same request model (`LoanRequest`) and
  the Authorization header's presence, and answers 202. The workflow runs on a task queue of the
  bench's own that no worker polls, and is terminated at the end, so it stays short and bounded.

Both servers stay up for the whole run and wrk alternates between them, round after round; the
best round of each side counts, so a burst of other work on the machine does not decide the ratio.
Ours needs the local stack (`lendflow services up`): it uses the settings from the environment
(the development database, migrated first, as `lendflow api` does). Prints one line per route:
baseline req/s, ours req/s, and the ratio ours / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Header  # noqa: E402

from api.routes.loans import LoanRequest  # noqa: E402
from api.routes.simulations import LoanSimulationRequest  # noqa: E402

SIMULATION_BODY = {"amount": "10000.00", "term_months": 12, "monthly_rate_percent": "1.99", "amortization": "price"}
LOAN_BODY = {"amount": "5000.00", "term_months": 12, "amortization": "price"}
UVICORN_OPTIONS = ["--workers", "1", "--no-access-log", "--log-level", "warning"]

# --- The bare app: FastAPI and the same request models, nothing of ours around them ------------

bare_app = FastAPI()


@bare_app.post("/v1/loan-simulations")
async def bare_simulation(body: LoanSimulationRequest) -> dict[str, object]:
    return {"amount": str(body.amount), "term_months": body.term_months}


@bare_app.post("/v1/loans", status_code=202)
async def bare_loan(
    body: LoanRequest,
    authorization: Annotated[str, Header()],
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key")],
) -> dict[str, object]:
    return {"status": "submitted", "amount": str(body.amount), "term_months": body.term_months}


# --- Processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk with apt-get", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


@contextmanager
def uvicorn_process(app: str, app_dir: Path, env: dict[str, str], loop: str, http: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1"]
    options = [*UVICORN_OPTIONS, "--loop", loop, "--http", http]
    process = subprocess.Popen([*command, "--port", str(port), *options], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start listening") from None
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(
    binary: str, url: str, path: str, body: dict[str, object], headers: dict[str, str], seconds: int, connections: int
) -> float:
    """Requests per second of `wrk` POSTing `body`; fails if any answer was not 2xx."""
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}" for name, value in headers.items()]
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        threads = str(min(2, connections))
        command = [binary, "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "-s", script.name, url + path]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(script.name)
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"wrk saw failed requests on {path}:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise RuntimeError(f"no throughput in wrk's output:\n{output}")
    print(f"{url}{path}: {match.group(1)} req/s", file=sys.stderr)
    return float(match.group(1))


def warm_up(url: str, path: str, body: dict[str, object], headers: dict[str, str]) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(20):
            answer = client.post(path, json=body, headers=headers)
            if answer.status_code >= 300:
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")


# --- A customer of ours ----------------------------------------------------------------------


def customer_headers(url: str) -> dict[str, str]:
    """Register and log in a fresh customer through the API; a bearer token and an Idempotency-Key."""
    import httpx

    from tests.stack_support import registration

    body = registration()
    with httpx.Client(base_url=url, timeout=30) as client:
        registered = client.post("/v1/auth/register", json=body)
        registered.raise_for_status()
        token = client.post("/v1/auth/token", json={"email": body["email"], "password": body["password"]})
        token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}", "Idempotency-Key": str(uuid.uuid4())}


async def terminate_workflows(task_queue: str) -> int:
    from lendflow.settings import get_settings
    from lendflow.temporal import connect

    client = await connect(get_settings().temporal)
    count = 0
    async for execution in client.list_workflows(f'TaskQueue="{task_queue}" AND ExecutionStatus="Running"'):
        await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate("bench finished")
        count += 1
    return count


def asgi_cpu_per_request(requests: int) -> None:
    """CPU milliseconds per simulation request over plain ASGI calls, no server and no wrk: ours vs bare."""
    from api.main import create_app

    body = json.dumps(SIMULATION_BODY).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/loan-simulations",
        "raw_path": b"/v1/loan-simulations",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def call(app: object) -> None:
        statuses: list[int] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]

        await app({**scope, "headers": list(scope["headers"]), "state": {}}, receive, send)  # type: ignore[operator]
        if statuses != [200]:
            raise RuntimeError(f"the simulation answered {statuses}")

    async def measure(app: object) -> float:
        for _ in range(50):
            await call(app)
        started = time.process_time()
        for _ in range(requests):
            await call(app)
        return (time.process_time() - started) / requests * 1000

    async def both() -> tuple[float, float]:
        ours = create_app()
        async with ours.router.lifespan_context(ours):
            return await measure(bare_app), await measure(ours)

    bare, ours = asyncio.run(both())
    print(f"CPU ms per POST /v1/loan-simulations over ASGI: baseline {bare:.3f}, ours {ours:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk round on the simulation route")
    parser.add_argument("--loans-duration", type=int, default=5, help="seconds of each wrk round on POST /v1/loans")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side; the best one counts")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"], help="uvicorn --loop, both sides")
    parser.add_argument("--http", default="httptools", choices=["httptools", "h11"], help="uvicorn --http, both sides")
    parser.add_argument("--asgi-requests", type=int, default=0, help="only measure CPU per request over ASGI")
    args = parser.parse_args()
    if args.asgi_requests:
        asgi_cpu_per_request(args.asgi_requests)
        return
    binary = ensure_wrk()

    from storage.migrate import upgrade_to_head

    upgrade_to_head()
    task_queue = f"bench-api-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "LENDFLOW_TEMPORAL__TASK_QUEUE": task_queue, "PYTHONPATH": str(ROOT)}

    routes = {
        "/v1/loan-simulations": (SIMULATION_BODY, args.duration),
        "/v1/loans": (LOAN_BODY, args.loans_duration),
    }
    best: dict[str, dict[str, float]] = {route: {"baseline": 0.0, "ours": 0.0} for route in routes}
    try:
        with (
            uvicorn_process("api_throughput:bare_app", ROOT / "bench", env, args.loop, args.http) as bare_url,
            uvicorn_process("api.main:app", ROOT, env, args.loop, args.http) as our_url,
        ):
            sides = {
                "baseline": (bare_url, {"Authorization": "Bearer x", "Idempotency-Key": "k"}),
                "ours": (our_url, customer_headers(our_url)),
            }
            for route, (body, _) in routes.items():
                for url, headers in sides.values():
                    warm_up(url, route, body, headers if route == "/v1/loans" else {})
            # Both servers are up and idle in turn; alternating rounds see the same machine, and the
            # best round of each side is the one least disturbed by whatever else runs on it.
            for _ in range(args.rounds):
                for route, (body, seconds) in routes.items():
                    for side, (url, headers) in sides.items():
                        sent = headers if route == "/v1/loans" else {}
                        rate = wrk(binary, url, route, body, sent, seconds, args.connections)
                        best[route][side] = max(best[route][side], rate)
    finally:
        terminated = asyncio.run(terminate_workflows(task_queue))
        print(f"terminated {terminated} workflow(s) on {task_queue}", file=sys.stderr)

    print(f"{'route':<24} {'baseline req/s':>15} {'ours req/s':>11} {'ratio':>6}")
    for route, figures in best.items():
        ratio = figures["ours"] / figures["baseline"]
        print(f"POST {route:<19} {figures['baseline']:>15,.0f} {figures['ours']:>11,.0f} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
