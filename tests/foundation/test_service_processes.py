"""What `lendflow services` does with the processes it starts."""

from __future__ import annotations

import subprocess
import sys
import time

from lendflow.services import _pid_alive


def test_a_child_that_exited_is_dead_not_a_zombie_to_wait_on() -> None:
    # `lendflow run` starts the services and stops them from the same process: a service that has
    # exited stays a zombie child until reaped, and must not count as still running.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(0.5)  # it has exited; nobody reaped it

    assert not _pid_alive(child.pid)

