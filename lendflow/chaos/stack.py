"""The chaos suite's own stack: services and processes it starts, holds by pid, breaks and heals.

Nothing here touches the shared services on the default ports. Every service listens on a free
port of its own, keeps its data under the run directory (``.run/chaos/<run>``), and is known by
the pid this module got when it started it; ``kill -9`` only ever goes to such a pid, or to a child
of the supervisor this module started.

- PostgreSQL: a cluster of its own (``initdb`` as the ``postgres`` user), its postmaster started
  directly so its pid is the one we hold.
- Redis: a ``redis-server`` of its own, no persistence.
- Kafka: :class:`lendflow.services.KafkaService` on its own ports and data directory, with the jars
  the shared stack already resolved (linked, or resolved once more by Maven when missing).
- Temporal: :class:`lendflow.services.TemporalService` on its own port and SQLite file.
- The processes (simulator, API, workers, pipelines): ``lendflow run``'s supervisor, in a process of
  its own (:mod:`lendflow.chaos.supervise`), so a killed child is restarted the way ``lendflow run``
  restarts it. Their output goes to ``processes.log`` in the run directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lendflow import REPO_ROOT
from lendflow.services import KafkaService, ServiceError, TemporalService, port_open, wait_until
from lendflow.settings import Settings, get_settings


def _free_port(*, pair: bool = False) -> int:
    """A free loopback port (and, with ``pair``, the one after it free too: Kafka's controller)."""
    import socket

    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not pair or (port < 65535 and not port_open("127.0.0.1", port + 1)):
            return port
    raise ServiceError("no free port pair on loopback")


@dataclass
class Ports:
    postgres: int = field(default_factory=_free_port)
    redis: int = field(default_factory=_free_port)
    kafka: int = field(default_factory=lambda: _free_port(pair=True))
    temporal: int = field(default_factory=_free_port)
    api: int = field(default_factory=_free_port)
    simulator: int = field(default_factory=_free_port)


def chaos_environment(ports: Ports, run_dir: Path) -> dict[str, str]:
    """The settings of every process of the chaos stack, as the environment variables they read."""
    sim = f"http://127.0.0.1:{ports.simulator}"
    webhooks = f"http://127.0.0.1:{ports.api}/v1/webhooks/"
    return {
        "LENDFLOW_RUN_DIR": str(run_dir),
        "LENDFLOW_LOG_JSON": "true",
        "LENDFLOW_POSTGRES__DSN": f"postgresql+psycopg://lendflow:lendflow@127.0.0.1:{ports.postgres}/lendflow",
        "LENDFLOW_REDIS__URL": f"redis://127.0.0.1:{ports.redis}/0",
        "LENDFLOW_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.kafka}",
        "LENDFLOW_KAFKA__BROKER_HEAP": "384m",
        "LENDFLOW_TEMPORAL__ADDRESS": f"127.0.0.1:{ports.temporal}",
        "LENDFLOW_TEMPORAL__CODEC_ENDPOINT": f"http://127.0.0.1:{ports.api}/codec",
        "LENDFLOW_API__PORT": str(ports.api),
        "LENDFLOW_SIMULATOR__PORT": str(ports.simulator),
        "LENDFLOW_SIMULATOR__SETTLEMENT_DELAY_SECONDS": "0.5",
        "LENDFLOW_SIMULATOR__WEBHOOK_TARGET_BASE_URL": webhooks,
        "LENDFLOW_PROVIDERS__WEBHOOK_TARGET_BASE_URL": webhooks,
        "LENDFLOW_PROVIDERS__FEDERAL_REVENUE__BASE_URL": f"{sim}/federal-revenue",
        "LENDFLOW_PROVIDERS__CREDIT_BUREAU__BASE_URL": f"{sim}/credit-bureau",
        "LENDFLOW_PROVIDERS__ECM__BASE_URL": f"{sim}/ecm",
        "LENDFLOW_PROVIDERS__ESIGNATURE__BASE_URL": f"{sim}/esignature",
        "LENDFLOW_PROVIDERS__PIX__BASE_URL": f"{sim}/pix",
        "LENDFLOW_PIPELINE__METRICS_PORT": "0",
        "LENDFLOW_ORIGINATION__SERVICING_CHARGE_LEAD_DAYS": "40",
    }


class ChaosStack:
    """Brings the chaos stack up and down, and breaks any part of it on demand."""

    def __init__(self, run_dir: Path | None = None, *, workers: int = 1, pipelines: int = 1) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self.run_dir = (run_dir or REPO_ROOT / ".run" / "chaos" / stamp).resolve()
        self.ports = Ports()
        self.env = chaos_environment(self.ports, self.run_dir)
        self.settings = self._settings()
        self.workers = workers
        self.pipelines = pipelines
        self.pg_data = self.run_dir / "postgres" / "data"
        self.pg_log = self.run_dir / "postgres" / "postgres.log"
        self.processes_log = self.run_dir / "processes.log"
        self._postgres: subprocess.Popen[bytes] | None = None
        self._redis: subprocess.Popen[bytes] | None = None
        self._supervisor: subprocess.Popen[bytes] | None = None
        self.kafka = KafkaService(self.settings)
        self.temporal = TemporalService(self.settings)

    def _settings(self) -> Settings:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            get_settings.cache_clear()
            return get_settings()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.simulator}"

    # --- up and down -----------------------------------------------------------------------------

    def up(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "ports.json").write_text(json.dumps(self.ports.__dict__))
        self.start_postgres(init=True)
        self.start_redis()
        self._link_kafka_jars()
        self.start_kafka()
        self.start_temporal()
        self._migrate()
        self.start_processes()

    def down(self, *, remove: bool = False) -> None:
        """Stop everything this stack started (by the pids it holds), newest first; ``remove``
        deletes the run directory too (kept by default: its logs say what happened)."""
        self.stop_processes()
        with contextlib.suppress(Exception):
            self.temporal.stop()
        with contextlib.suppress(Exception):
            self.kafka.stop()
        for proc in (self._redis, self._postgres):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if remove:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # --- PostgreSQL --------------------------------------------------------------------------------

    @staticmethod
    def _pg_bin(name: str) -> str:
        versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
        return str(versions[-1] / "bin" / name)

    def _as_postgres(self) -> tuple[int, int] | None:
        """The uid and gid PostgreSQL runs as when we are root (it refuses to run as root)."""
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam("postgres")
        return entry.pw_uid, entry.pw_gid

    def start_postgres(self, *, init: bool = False) -> None:
        owner = self._as_postgres()
        uid, gid = owner if owner else (None, None)
        if init and not (self.pg_data / "PG_VERSION").exists():
            self.pg_data.mkdir(parents=True, exist_ok=True)
            if owner:
                for path in (self.pg_data.parent, self.pg_data):
                    os.chown(path, *owner)
            subprocess.run(
                [self._pg_bin("initdb"), "-D", str(self.pg_data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                check=True,
                capture_output=True,
                cwd="/",
                user=uid,
                group=gid,
            )
        with open(self.pg_log, "ab") as out:
            self._postgres = subprocess.Popen(
                [
                    self._pg_bin("postgres"), "-D", str(self.pg_data), "-p", str(self.ports.postgres),
                    "-k", str(self.pg_data), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
                    "-c", "fsync=off", "-c", "synchronous_commit=off",
                ],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                start_new_session=True, user=uid, group=gid,
            )  # fmt: skip
        wait_until(self._postgres_accepts, timeout=60, what="chaos PostgreSQL", log_file=self.pg_log)
        if init:
            self.psql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='lendflow') THEN "
                      "CREATE ROLE lendflow LOGIN CREATEDB PASSWORD 'lendflow'; END IF; END$$")  # fmt: skip
            if self.psql("SELECT 1 FROM pg_database WHERE datname='lendflow'") != "1":
                self.psql("CREATE DATABASE lendflow OWNER lendflow")

    def _postgres_accepts(self) -> bool:
        try:
            return self.psql("SELECT 1") == "1"
        except subprocess.CalledProcessError:
            return False

    def psql(self, sql: str) -> str:
        cmd = ["psql", "-h", "127.0.0.1", "-p", str(self.ports.postgres), "-U", "postgres", "-tA", "-c", sql]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/").stdout.strip()

    def terminate_backends(self) -> int:
        """``pg_terminate_backend`` of every session of the application's role; how many were ended."""
        ended = self.psql(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'lendflow'"
        )
        return int(ended or 0)

    def restart_postgres(self, *, down_for: float = 3.0) -> int:
        """Fast shutdown of the postmaster we started, a pause, and a start; returns the old pid."""
        assert self._postgres is not None
        old = self._postgres.pid
        self._postgres.send_signal(signal.SIGINT)
        self._postgres.wait(timeout=60)
        time.sleep(down_for)
        self.start_postgres()
        return old

    @property
    def postgres_pid(self) -> int | None:
        return self._postgres.pid if self._postgres else None

    # --- Redis -------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        data = self.run_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        self._redis = subprocess.Popen(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(self.ports.redis), "--dir", str(data),
                "--logfile", str(data / "redis.log"), "--save", "", "--appendonly", "no", "--daemonize", "no",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(lambda: port_open("127.0.0.1", self.ports.redis), timeout=30, what="chaos Redis")

    def flush_redis(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.ports.redis), "FLUSHALL"], check=True, capture_output=True)

    def redis_keys(self) -> int:
        answer = subprocess.run(["redis-cli", "-p", str(self.ports.redis), "DBSIZE"], capture_output=True, text=True)
        return int(answer.stdout.strip() or 0)

    # --- hostile webhooks --------------------------------------------------------------------------

    def hostile_webhooks(self) -> dict[str, int]:
        """A forged eSignature webhook (wrong secret) and a stale one (right secret, an hour old),
        sent to the API; what it answered to each (401 both times is right)."""
        from integrations.webhooks import sign_webhook

        secrets = self.settings.providers.esignature.webhook_secrets
        answers = {}
        for kind, secret, age in (("forged", "not-the-secret", 0), ("stale", secrets[0], 3600)):
            event_id = f"evt_chaos_{kind}_{uuid.uuid4().hex[:12]}"
            body = json.dumps(
                {
                    "id": event_id,
                    "type": "envelope.signed",
                    "provider": "esignature",
                    "created_at": "2026-01-01T00:00:00Z",
                    "data": {"envelope_id": f"env_{uuid.uuid4().hex[:12]}", "status": "signed"},
                }
            ).encode()
            headers = sign_webhook(
                body,
                secrets=[secret],
                webhook_id=event_id,
                timestamp=int(time.time()) - age,
                event_type="envelope.signed",
            )
            answers[kind] = httpx.post(
                f"{self.api_url}/v1/webhooks/esignature", content=body, headers=headers, timeout=30
            ).status_code
        return answers

    # --- Kafka -------------------------------------------------------------------------------------

    def _link_kafka_jars(self) -> None:
        shared = REPO_ROOT / ".run" / "kafka" / "libs"
        mine = self.kafka.libs
        mine.parent.mkdir(parents=True, exist_ok=True)
        if shared.is_dir() and not mine.exists():
            shutil.copytree(shared, mine, symlinks=False, copy_function=os.link)

    def start_kafka(self) -> None:
        self.kafka.dir.mkdir(parents=True, exist_ok=True)
        self.kafka.start()
        self.kafka.after_up()

    @property
    def kafka_pid(self) -> int | None:
        return self._pid_file(self.kafka.pid_file)

    def kill_kafka(self) -> int:
        pid = self.kafka_pid
        if pid is None:
            raise ServiceError("the chaos Kafka broker is not running")
        _kill_and_reap(pid)
        wait_until(lambda: not port_open("127.0.0.1", self.ports.kafka), timeout=30, what="Kafka to go down")
        return pid

    # --- Temporal ----------------------------------------------------------------------------------

    def start_temporal(self) -> None:
        self.temporal.dir.mkdir(parents=True, exist_ok=True)
        self.temporal.start()
        self.temporal.after_up()

    @property
    def temporal_pid(self) -> int | None:
        return self._pid_file(self.temporal.pid_file)

    def kill_temporal(self) -> int:
        pid = self.temporal_pid
        if pid is None:
            raise ServiceError("the chaos Temporal server is not running")
        _kill_and_reap(pid)
        wait_until(lambda: not port_open("127.0.0.1", self.ports.temporal), timeout=30, what="Temporal to go down")
        return pid

    @staticmethod
    def _pid_file(path: Path) -> int | None:
        try:
            return int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    # --- the processes -----------------------------------------------------------------------------

    def _migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "lendflow", "migrate"],
            check=True,
            capture_output=True,
            env={**os.environ, **self.env},
            cwd=REPO_ROOT,
        )

    def start_processes(self) -> None:
        env = {**os.environ, **self.env}
        extra = [f"--workers={self.workers}", f"--pipelines={self.pipelines}"]
        with open(self.processes_log, "ab") as out:
            self._supervisor = subprocess.Popen(
                [sys.executable, "-m", "lendflow.chaos.supervise", *extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                # The repository, as `lendflow run`: in the run directory, the simulator's data
                # directory (`simulator/`) would shadow the `simulator` package on a restart.
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        wait_until(self._api_ready, timeout=120, what="the chaos stack's API", log_file=self.processes_log)
        wait_until(
            lambda: len(self.children("worker")) == self.workers and len(self.children("pipeline")) == self.pipelines,
            timeout=30,
            what="the chaos stack's workers and pipelines",
        )

    def stop_processes(self) -> None:
        if self._supervisor is not None and self._supervisor.poll() is None:
            self._supervisor.send_signal(signal.SIGTERM)
            try:
                self._supervisor.wait(timeout=40)
            except subprocess.TimeoutExpired:
                for pid in self.children():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self._supervisor.kill()
                self._supervisor.wait()
        self._supervisor = None

    def _api_ready(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/health/ready", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def children(self, command: str | None = None) -> list[int]:
        """Pids of the supervisor's children, those running ``lendflow <command>`` when named."""
        if self._supervisor is None:
            return []
        sup = self._supervisor.pid
        try:
            pids = [int(p) for p in Path(f"/proc/{sup}/task/{sup}/children").read_text().split()]
        except FileNotFoundError:
            return []
        if command is None:
            return pids
        found = []
        for pid in pids:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if command.encode() in argv:
                found.append(pid)
        return sorted(found)

    def kill_child(self, command: str) -> int:
        """``kill -9`` one child of our supervisor running ``lendflow <command>``; returns its pid."""
        pids = self.children(command)
        if not pids:
            raise ServiceError(f"no {command} process is running under the chaos supervisor")
        pid = pids[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def log_files(self) -> list[Path]:
        """Every log file of the run: the processes', the services'; not Kafka's segment files
        (``*.log`` too, but they are the topics' data) nor PostgreSQL's data directory."""
        data = (self.kafka.dir / "data", self.pg_data)
        return [p for p in self.run_dir.rglob("*.log") if p.is_file() and not any(p.is_relative_to(d) for d in data)]


def _kill_and_reap(pid: int) -> None:
    """``kill -9`` a service this stack started (its own session, so its group), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
            if reaped == pid:
                return
        except ChildProcessError:
            return
        time.sleep(0.1)
