"""Old histories still replay on the current workflow code.

`histories/*.json` were recorded by `record_histories.py` (one per workflow, from a time-skipping
run). A change that makes one of them fail with a nondeterminism error needs `workflow.patched()`
for the executions already running, not a re-recorded file. Refresh the files only after an
intentional, compatible change: `.venv/bin/python -m tests.workflows.record_histories`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from record_histories import HISTORIES, RECORDERS
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from workflow_fakes import WORKFLOWS

from lendflow.temporal import data_converter

EXPECTED = {
    "origination_disbursed": "LoanOriginationWorkflow",
    "onboarding_active": "OnboardingWorkflow",
    "servicing_installment_paid": "ServicingWorkflow",
}


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_every_workflow_has_a_recorded_history() -> None:
    recorded = {path.stem for path in HISTORIES.glob("*.json")}
    assert recorded == set(EXPECTED) == set(RECORDERS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_recorded_history_replays_on_the_current_code(name: str) -> None:
    history = _load(HISTORIES / f"{name}.json")
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == EXPECTED[name]

    result = await Replayer(workflows=WORKFLOWS, data_converter=data_converter()).replay_workflow(history)

    assert result.replay_failure is None


@pytest.mark.parametrize("name", sorted(RECORDERS))
async def test_history_recorded_now_with_encrypted_payloads_replays(env: WorkflowEnvironment, name: str) -> None:
    """The same scenarios through the session's (encrypting) converter replay too: nothing in the
    workflows depends on anything but their history."""
    history = await RECORDERS[name](env)

    result = await Replayer(workflows=WORKFLOWS, data_converter=data_converter()).replay_workflow(history)

    assert result.replay_failure is None
