"""A Kafka broker of a test's own, that the test may kill -9 and start again.

The session's broker (``make services``, port 9092) is shared by every test and every engineer's
session: no test may kill it. This one is the project's own :class:`~lendflow.services.KafkaService`
on two free ports (broker and controller), its data under the test's tmp directory and the jars
the shared service already resolved. Killing it targets its own pid only.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from lendflow.services import KafkaService, _pid_alive, port_open
from lendflow.settings import Settings


def free_port_pair() -> int:
    """A port whose successor is free too (the broker listens on it, its controller on the next)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65535 and not port_open("127.0.0.1", port + 1, timeout=0.1):
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


class OwnKafka(KafkaService):
    """A KRaft broker under ``run_dir`` on ``settings.kafka.bootstrap_servers``, jars from ``jars``."""

    def __init__(self, settings: Settings, jars: Path) -> None:
        super().__init__(settings)
        self._jars = jars

    @classmethod
    def for_test(cls, settings: Settings, run_dir: Path) -> OwnKafka:
        """A broker for ``settings`` (the shared one's settings) on fresh ports under ``run_dir``."""
        shared = KafkaService(settings)
        shared.resolve_jars()  # a no-op when the shared broker's jars are there already
        port = free_port_pair()
        own = settings.model_copy(
            update={
                "run_dir": run_dir,
                "kafka": settings.kafka.model_copy(
                    update={"bootstrap_servers": f"127.0.0.1:{port}", "partitions": 3, "broker_heap": "256m"}
                ),
            }
        )
        return cls(own, shared.libs)

    @property
    def libs(self) -> Path:
        return self._jars

    def resolve_jars(self) -> None:
        """The shared service resolved them; nothing to fetch."""

    @property
    def pid(self) -> int | None:
        return self._pid()

    def kill(self) -> None:
        """``kill -9`` of this broker's own process (never the shared broker's), and wait until it is gone."""
        pid = self.pid
        assert pid is not None, "the test's broker is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _pid_alive(pid) or self.running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"broker {pid} outlived kill -9")
            time.sleep(0.05)

    def restart(self) -> None:
        """Start the broker again on the same ports and data, as `lendflow services up kafka` would."""
        self.start()
