"""What `lendflow services` does with the processes it starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lendflow.cli import app
from lendflow.services import ServiceError, _pid_alive, select_services
from lendflow.settings import Settings


def test_a_child_that_exited_is_dead_not_a_zombie_to_wait_on() -> None:
    # `lendflow run` starts the services and stops them from the same process: a service that has
    # exited stays a zombie child until reaped, and must not count as still running.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # wait until it has exited, without reaping it

    assert not _pid_alive(child.pid)


def _names(settings: Settings, only: list[str] | None, with_: str) -> list[str]:
    return [service.name for service in select_services(settings, only, with_=with_)]


def test_a_service_comes_up_with_what_it_needs_and_goes_down_with_what_needs_it(settings: Settings) -> None:
    # The UI server is useless without Temporal: started alone it brings Temporal up first, and
    # stopping Temporal stops it too (it used to be left running, pointing at nothing).
    assert _names(settings, ["temporal-ui"], "needs") == ["temporal", "temporal-ui"]
    assert _names(settings, ["temporal"], "dependents") == ["temporal", "temporal-ui"]
    assert _names(settings, ["temporal"], "needs") == ["temporal"]
    assert _names(settings, ["temporal-ui"], "dependents") == ["temporal-ui"]
    assert _names(settings, ["kafka", "postgres"], "dependents") == ["postgres", "kafka"]
    assert _names(settings, None, "needs") == ["postgres", "redis", "kafka", "temporal", "temporal-ui"]


def test_an_unknown_service_name_is_refused_with_the_known_ones(settings: Settings) -> None:
    with pytest.raises(ServiceError, match="no such service: tempora .*temporal-ui"):
        select_services(settings, ["tempora"], with_="dependents")
    result = CliRunner().invoke(app, ["services", "down", "tempora"])
    assert result.exit_code == 1
    assert "no such service: tempora" in result.output
