"""`lendflow run`'s supervisor against real child processes: small Python scripts that crash, exit
at start, ignore Ctrl-C, or run until asked to stop. The supervisor itself runs as a process of its
own, so the test can send it SIGINT as a terminal would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Each child appends "start <pid> <monotonic time>" to its own file, and "clean-stop <pid>" when
# SIGINT ends it the ordinary way.
_PRELUDE = """
import os, sys, time
record = open(sys.argv[1], "a", buffering=1)
record.write(f"start {os.getpid()} {time.monotonic()}\\n")
"""
CHILDREN = {
    "steady": _PRELUDE
    + """
try:
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    record.write(f"clean-stop {os.getpid()}\\n")
""",
    # Runs past the start-up window, then fails.
    "crashy": _PRELUDE + "time.sleep(1.3)\nsys.exit(3)\n",
    # Fails at once, every time: a bad setting or a broken import.
    "broken": _PRELUDE + "sys.exit(2)\n",
    # Comes up once, then fails at start every time after: a dependency that went down.
    "relapsing": _PRELUDE
    + """
if len(open(sys.argv[1]).read().splitlines()) > 1:
    sys.exit(4)
time.sleep(1.3)
sys.exit(3)
""",
    # Ignores Ctrl-C; only a kill ends it.
    "stubborn": _PRELUDE
    + """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.05)
""",
}

DRIVER = """
import json, sys
from pathlib import Path
from lendflow.logging import configure_logging
from lendflow.settings import Settings
from lendflow.supervisor import ChildSpec, RestartPolicy, Supervisor

configure_logging(Settings(log_json=True))
config = json.loads(sys.argv[1])
supervisor = Supervisor(
    [ChildSpec(name, [sys.executable, script, record]) for name, script, record in config["children"]],
    policy=RestartPolicy(**config["policy"]),
    metrics_path=Path(config["metrics"]),
    poll_interval=0.05,
)
sys.exit(supervisor.run())
"""

FAST_POLICY = {
    "initial_delay": 0.2,
    "max_delay": 5.0,
    "startup_window": 1.0,
    "max_startup_crashes": 3,
    "healthy_after": 60.0,
    "stop_timeout": 5.0,
}


@dataclass
class Run:
    process: subprocess.Popen[str]
    records: dict[str, Path]
    metrics: Path
    stderr_path: Path

    def starts(self, name: str) -> list[tuple[int, float]]:
        lines = self.records[name].read_text().splitlines() if self.records[name].exists() else []
        return [(int(pid), float(at)) for kind, pid, at in (line.split() for line in lines if line.startswith("start"))]

    def clean_stops(self, name: str) -> list[int]:
        lines = self.records[name].read_text().splitlines() if self.records[name].exists() else []
        return [int(line.split()[1]) for line in lines if line.startswith("clean-stop")]

    def events(self, name: str) -> list[dict[str, object]]:
        found = []
        for line in self.stderr_path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == name:
                found.append(entry)
        return found

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"supervisor ended early with {self.process.returncode}"
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.05)


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(names: list[str], **policy: float) -> Run:
        driver = tmp_path / "driver.py"
        driver.write_text(DRIVER)
        records = {}
        children = []
        for name in names:
            script = tmp_path / f"{name}.py"
            script.write_text(textwrap.dedent(CHILDREN[name]))
            records[name] = tmp_path / f"{name}.record"
            children.append([name, str(script), str(records[name])])
        config = {"children": children, "policy": {**FAST_POLICY, **policy}, "metrics": str(tmp_path / "run.prom")}
        stderr_path = tmp_path / "supervisor.log"
        process = subprocess.Popen(
            [sys.executable, str(driver), json.dumps(config)],
            stderr=stderr_path.open("w"),
            stdout=subprocess.DEVNULL,
            text=True,
        )
        run = Run(process, records, tmp_path / "run.prom", stderr_path)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            try:
                run.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                run.process.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _restart_count(metrics: Path, process: str) -> float:
    for line in metrics.read_text().splitlines():
        if line.startswith(f'lendflow_process_restarts_total{{process="{process}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no restart counter for {process}")


def test_crashed_child_is_restarted_with_growing_delays_while_the_others_keep_running(supervise) -> None:
    run = supervise(["steady", "crashy"])
    run.wait_for(lambda: len(run.starts("crashy")) >= 4)
    steady_pid = run.starts("steady")[0][0]
    assert len(run.starts("steady")) == 1 and _alive(steady_pid)

    restarts = [event for event in run.events("run.child_restarted") if event["process"] == "crashy"][:3]
    assert [event["attempt"] for event in restarts] == [1, 2, 3]
    assert all(event["exit_code"] == 3 for event in restarts)
    delays = [float(event["delay_seconds"]) for event in restarts]
    assert delays[0] < delays[1] < delays[2]
    # Each restart waited at least its announced delay after the exit.
    starts = run.starts("crashy")
    for (_, started), (_, restarted), delay in zip(starts, starts[1:], delays, strict=False):
        assert restarted - started >= 1.3 + delay
    assert len({pid for pid, _ in starts}) == len(starts)
    assert _restart_count(run.metrics, "crashy") >= 3
    assert _restart_count(run.metrics, "steady") == 0

    # kill -9 of a healthy child: it comes back, and the crashy one still cycles on its own.
    os.kill(steady_pid, signal.SIGKILL)
    run.wait_for(lambda: len(run.starts("steady")) == 2)
    killed = [event for event in run.events("run.child_restarted") if event["process"] == "steady"]
    assert [(event["exit_code"], event["attempt"]) for event in killed] == [(-signal.SIGKILL, 1)]
    assert _alive(run.starts("steady")[1][0])

    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=15) == 0
    assert run.clean_stops("steady") == [run.starts("steady")[1][0]]


def test_child_that_keeps_crashing_at_start_stops_everything_with_exit_1(supervise) -> None:
    run = supervise(["steady", "broken"])
    assert run.process.wait(timeout=20) == 1

    assert len(run.starts("broken")) == 3
    assert len(run.events("run.child_keeps_crashing")) == 1
    assert [event["attempt"] for event in run.events("run.child_restarted")] == [1, 2]
    # The healthy child was stopped the ordinary way, not left behind.
    [(steady_pid, _)] = run.starts("steady")
    assert run.clean_stops("steady") == [steady_pid]
    assert not _alive(steady_pid)


def test_child_that_was_up_once_is_restarted_however_often_it_then_fails_at_start(supervise) -> None:
    run = supervise(["steady", "relapsing"], max_delay=0.4)
    run.wait_for(lambda: len(run.starts("relapsing")) >= 6)
    assert run.process.poll() is None
    restarts = [event for event in run.events("run.child_restarted") if event["process"] == "relapsing"]
    assert [event["exit_code"] for event in restarts[:5]] == [3, 4, 4, 4, 4]
    # The delays grow up to their cap, and stay there.
    assert [float(event["delay_seconds"]) for event in restarts[:5]] == [0.2, 0.4, 0.4, 0.4, 0.4]
    assert run.events("run.child_keeps_crashing") == []
    assert len(run.starts("steady")) == 1

    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=15) == 0


def test_sigint_stops_every_child_and_kills_the_one_that_ignores_it(supervise) -> None:
    run = supervise(["steady", "stubborn"], stop_timeout=1.0)
    run.wait_for(lambda: run.starts("steady") and run.starts("stubborn"))
    [(steady_pid, _)] = run.starts("steady")
    [(stubborn_pid, _)] = run.starts("stubborn")

    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(timeout=15) == 0

    assert run.clean_stops("steady") == [steady_pid]
    assert not _alive(steady_pid) and not _alive(stubborn_pid)
    assert [event["process"] for event in run.events("run.child_killed")] == ["stubborn"]
    assert run.events("run.child_restarted") == []
    assert len(run.starts("steady")) == 1 and len(run.starts("stubborn")) == 1
