"""Old histories still replay on the current workflow code.

`histories/*.json` were recorded by `record_histories.py`, which adds a dated file per scenario
each time it runs and never overwrites one: the histories recorded before a `workflow.patched()`
change stay beside those recorded after it. A change that makes one of them fail with a
nondeterminism error needs `workflow.patched()` for the executions already running, not a
re-recorded file. Record new ones after an intentional change:
`.venv/bin/python -m tests.workflows.record_histories`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from record_histories import RECORDERS, recorded_histories, scenario_of
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from workflow_fakes import WORKFLOWS

from lendflow.temporal import data_converter
from workflows import origination

EXPECTED = {
    "origination_disbursed": "LoanOriginationWorkflow",
    "origination_paused_for_correction": "LoanOriginationWorkflow",
    "onboarding_active": "OnboardingWorkflow",
    "servicing_installment_paid": "ServicingWorkflow",
}
# Every patch of the origination workflow, by its marker id.
ORIGINATION_PATCHES = {
    origination.SIGNED_IN_READ_MODEL,
    origination.PAUSE_FOR_CORRECTION,
    origination.RETRYING_VISIBLE,
    origination.SIGNATURE_CERTIFICATE,
    origination.ONE_STATUS_WRITER,
}


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.name}", path.read_text())


def _patches_in(path: Path) -> set[str]:
    """The patch ids a history's markers record (the payloads are plain JSON: no codec)."""
    found: set[str] = set()
    for event in json.loads(path.read_text())["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker.get("markerName") == "core_patch":
            found.update(_decoded(payload) for payload in marker["details"]["patch-data"]["payloads"])
    return found


def _decoded(payload: dict[str, str]) -> str:
    return str(json.loads(base64.b64decode(payload["data"]))["id"])


def test_every_workflow_has_a_recorded_history() -> None:
    recorded = {scenario_of(path) for path in recorded_histories()}
    assert recorded == set(EXPECTED) == set(RECORDERS)


def test_each_origination_patch_has_histories_from_before_and_after_it() -> None:
    """The replay below covers both branches of every `workflow.patched()` of the origination."""
    histories = [p for p in recorded_histories() if EXPECTED[scenario_of(p)] == "LoanOriginationWorkflow"]
    markers = [_patches_in(p) for p in histories]
    for patch in ORIGINATION_PATCHES:
        assert any(patch in found for found in markers), f"no history recorded after {patch}"
        assert any(patch not in found for found in markers), f"no history recorded before {patch}"


@pytest.mark.parametrize("path", recorded_histories(), ids=lambda path: path.name)
async def test_recorded_history_replays_on_the_current_code(path: Path) -> None:
    history = _load(path)
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == EXPECTED[scenario_of(path)]

    result = await Replayer(workflows=WORKFLOWS, data_converter=data_converter()).replay_workflow(history)

    assert result.replay_failure is None


@pytest.mark.parametrize("name", sorted(RECORDERS))
async def test_history_recorded_now_with_encrypted_payloads_replays(env: WorkflowEnvironment, name: str) -> None:
    """The same scenarios through the session's (encrypting) converter replay too: nothing in the
    workflows depends on anything but their history."""
    history = await RECORDERS[name](env)

    result = await Replayer(workflows=WORKFLOWS, data_converter=data_converter()).replay_workflow(history)

    assert result.replay_failure is None
