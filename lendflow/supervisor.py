"""Keeps the processes of `lendflow run` alive: a crashed child is restarted, with growing delays.

The policy, in the order the loop applies it:

- A child that exits while nothing asked it to (a crash, ``kill -9``, even a clean exit) is started
  again after a delay that doubles with each exit in a row: ``initial_delay``, 2x, 4x … up to
  ``max_delay``. A child that has run for ``healthy_after`` seconds is well again: its next exit
  waits ``initial_delay`` again. The other children keep running meanwhile.
- A child that exits within ``startup_window`` seconds of its start has crashed at start. When a
  child that has never come up does so ``max_startup_crashes`` times in a row, restarting will not
  help (a bad setting, a port taken, a broken import): the supervisor stops everything and returns
  1. A child that has been up once is restarted however it fails later: crashing at start then
  means a dependency is down (Temporal restarting, say), which the backoff outlasts.
- SIGINT (Ctrl-C) or SIGTERM stops everything: each child gets SIGINT, and one that has not ended
  ``stop_timeout`` seconds later is killed. Then :meth:`Supervisor.run` returns 0. Children run in
  process groups of their own, so a Ctrl-C at the terminal reaches them once, through the
  supervisor, and not twice (a second SIGINT makes uvicorn skip its graceful shutdown).

Each restart is the log event ``run.child_restarted`` (process, exit_code, attempt, delay_seconds)
and one more in the Prometheus counter ``lendflow_process_restarts_total{process}``. ``lendflow
run`` serves no HTTP port of its own, so the counter is written as a Prometheus text file (the
node exporter's textfile collector format) at ``metrics_path`` after every change, by default
``.run/metrics/lendflow_run.prom``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog
from prometheus_client import CollectorRegistry, Counter, write_to_textfile

log = structlog.get_logger("lendflow.supervisor")

EXIT_OK = 0
EXIT_GAVE_UP = 1


@dataclass(frozen=True)
class ChildSpec:
    """One supervised process: its name in logs and metrics, and its command line."""

    name: str
    argv: Sequence[str]


@dataclass(frozen=True)
class RestartPolicy:
    initial_delay: float = 1.0
    max_delay: float = 30.0
    startup_window: float = 5.0
    max_startup_crashes: int = 3
    healthy_after: float = 60.0
    stop_timeout: float = 20.0

    def delay(self, attempt: int) -> float:
        """The wait before restart number ``attempt`` (1-based) of a run of exits in a row."""
        return float(min(self.initial_delay * 2 ** (attempt - 1), self.max_delay))


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    # Exits in a row since the child was last healthy, and how many of them came right at start.
    attempt: int = 0
    startup_crashes: int = 0
    # Whether it has ever run past the start-up window.
    came_up: bool = False
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        policy: RestartPolicy | None = None,
        metrics_path: Path | None = None,
        poll_interval: float = 0.2,
    ) -> None:
        names = [child.name for child in children]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique: {names}")
        self.policy = policy or RestartPolicy()
        self.metrics_path = metrics_path
        self.poll_interval = poll_interval
        self._children = [_Child(spec) for spec in children]
        self._stopping = False
        self._stop_signal: str | None = None
        self._registry = CollectorRegistry()
        self._restarts = Counter(
            "lendflow_process_restarts",
            "Restarts of a process supervised by `lendflow run`, after it exited unasked.",
            ["process"],
            registry=self._registry,
        )
        for child in self._children:
            self._restarts.labels(process=child.spec.name)

    def stop(self, *_: object) -> None:
        """Ask the loop to stop every child and return (safe to call from a signal handler)."""
        self._stopping = True

    def run(self) -> int:
        """Start every child and keep them running until a stop signal (0) or a child that keeps
        crashing at start (1). Installs SIGINT/SIGTERM handlers; call it from the main thread."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            self._stop_signal = signal.Signals(signum).name
            self.stop()

        # Handled explicitly (not left to KeyboardInterrupt), so Ctrl-C works even where a parent
        # shell started us with SIGINT ignored, and SIGTERM from a supervisor stops us the same way.
        for sig in previous:
            signal.signal(sig, _on_signal)
        outcome = EXIT_OK
        try:
            self._write_metrics()
            log.info(
                "run.supervising",
                processes=[child.spec.name for child in self._children],
                metrics_file=str(self.metrics_path) if self.metrics_path else None,
            )
            for child in self._children:
                if not self._stopping:
                    self._start(child)
            outcome = self._loop()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return outcome

    def _loop(self) -> int:
        while not self._stopping:
            now = time.monotonic()
            for child in self._children:
                if child.process is not None and child.process.poll() is not None:
                    if self._stopping:
                        break
                    if self._on_exit(child, child.process.returncode, now):
                        return EXIT_GAVE_UP
                elif child.process is None and child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
            time.sleep(self.poll_interval)
        log.info("run.stop_requested", signal=self._stop_signal)
        return EXIT_OK

    def _on_exit(self, child: _Child, exit_code: int, now: float) -> bool:
        """Schedule the restart of an exited child; True when it should not be restarted at all."""
        ran_for = now - child.started_at
        child.process = None
        if ran_for >= self.policy.healthy_after:
            child.attempt = 0
        if ran_for < self.policy.startup_window:
            child.startup_crashes += 1
        else:
            child.startup_crashes = 0
            child.came_up = True
        if not child.came_up and child.startup_crashes >= self.policy.max_startup_crashes:
            log.error(
                "run.child_keeps_crashing",
                process=child.spec.name,
                exit_code=exit_code,
                crashes_at_start=child.startup_crashes,
                startup_window_seconds=self.policy.startup_window,
            )
            return True
        child.attempt += 1
        delay = self.policy.delay(child.attempt)
        child.restart_at = now + delay
        log.warning(
            "run.child_restarted",
            process=child.spec.name,
            exit_code=exit_code,
            attempt=child.attempt,
            delay_seconds=delay,
            ran_seconds=round(ran_for, 3),
        )
        self._restarts.labels(process=child.spec.name).inc()
        self._write_metrics()
        return False

    def _start(self, child: _Child) -> None:
        child.restart_at = None
        child.started_at = time.monotonic()
        child.process = subprocess.Popen(list(child.spec.argv), process_group=0)
        log.info("run.child_started", process=child.spec.name, pid=child.process.pid, attempt=child.attempt)

    def _stop_all(self) -> None:
        running = [child for child in self._children if child.process is not None]
        for child in running:
            assert child.process is not None
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + self.policy.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("run.child_killed", process=child.spec.name, after_seconds=self.policy.stop_timeout)
                child.process.kill()
                child.process.wait()
            log.info("run.child_stopped", process=child.spec.name, exit_code=child.process.returncode)

    def _write_metrics(self) -> None:
        if self.metrics_path is None:
            return
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        # write_to_textfile writes a temporary file and renames it, so a collector never reads half a file.
        write_to_textfile(os.fspath(self.metrics_path), self._registry)
