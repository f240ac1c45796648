"""Customer onboarding under time skipping: CPF check, documents, reminder and expiry."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from workflow_fakes import OnboardingFakes, event, eventually, new_worker

from workflows.contracts.onboarding import (
    CpfCheckResult,
    OnboardingInput,
    OnboardingOutcome,
    OnboardingReminder,
    OnboardingResult,
    OnboardingStatus,
    ProviderEvent,
    onboarding_workflow_id,
)
from workflows.onboarding import OnboardingWorkflow
from workflows.search_attributes import CUSTOMER_ID

Handle = WorkflowHandle[Any, OnboardingResult]


def onboarding(**changes: Any) -> OnboardingInput:
    values: dict[str, Any] = {
        "customer_id": str(uuid.uuid4()),
        "declared_name": "Maria  da Silva",
        "declared_birth_date": date(1990, 5, 17),
    }
    values.update(changes)
    return OnboardingInput(**values)


def document(customer_id: str, document_type: str) -> ProviderEvent:
    return event("document.submitted", customer_id, customer_id=customer_id, document_type=document_type)


@pytest.fixture
async def started(env: WorkflowEnvironment) -> AsyncIterator[list[Handle]]:
    handles: list[Handle] = []
    yield handles
    for handle in handles:
        with contextlib.suppress(Exception):  # already closed
            await handle.terminate("test over")


async def start(env: WorkflowEnvironment, task_queue: str, customer: OnboardingInput, started: list[Handle]) -> Handle:
    handle = await env.client.start_workflow(
        OnboardingWorkflow.run, customer, id=onboarding_workflow_id(customer.customer_id), task_queue=task_queue
    )
    started.append(handle)
    return handle


async def status(handle: Handle) -> OnboardingStatus:
    return await handle.query(OnboardingWorkflow.status)


async def missing(handle: Handle, expected: list[str]) -> OnboardingStatus:
    """The status once the workflow waits for documents and misses exactly `expected`."""

    async def there() -> bool:
        current = await status(handle)
        return current.step == "documents" and current.missing_documents == expected

    await eventually(there, what=f"missing documents {expected}")
    return await status(handle)


async def test_customer_with_regular_cpf_and_three_validated_documents_becomes_active(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OnboardingFakes()
    customer = onboarding()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, customer, started)
        waiting = await missing(handle, ["id_front", "id_back", "selfie"])
        await handle.signal(OnboardingWorkflow.document_validated, document(customer.customer_id, "id_front"))
        one_in = await missing(handle, ["id_back", "selfie"])
        await handle.signal(OnboardingWorkflow.document_validated, document(customer.customer_id, "selfie"))
        two_in = await missing(handle, ["id_back"])
        await handle.signal(OnboardingWorkflow.document_validated, document(customer.customer_id, "id_back"))
        result = await handle.result()
        done = await status(handle)
        described = await handle.describe()

    assert waiting.step == "documents" and waiting.outcome is None
    assert one_in.step == "documents" and two_in.step == "documents"
    assert result == OnboardingResult(customer.customer_id, "active", None)
    assert done == OnboardingStatus(step="done", missing_documents=[], outcome="active", reason=None)
    assert fakes.calls == ["check_cpf", "complete_onboarding"]
    assert fakes.requests["complete_onboarding"] == [OnboardingOutcome(customer.customer_id, "active", None)]
    assert described.typed_search_attributes.get(CUSTOMER_ID) == customer.customer_id


@pytest.mark.parametrize(
    ("registration", "refusal", "changes", "reason"),
    [
        pytest.param(
            CpfCheckResult("suspended", "MARIA DA SILVA", date(1990, 5, 17)),
            None,
            {},
            "cpf_status_suspended",
            id="suspended",
        ),
        pytest.param(
            CpfCheckResult("cancelled", "MARIA DA SILVA", date(1990, 5, 17)),
            None,
            {},
            "cpf_status_cancelled",
            id="cancelled",
        ),
        pytest.param(None, None, {"declared_name": "Joana Souza"}, "name_mismatch", id="name-mismatch"),
        pytest.param(
            None, None, {"declared_birth_date": date(1991, 5, 17)}, "birth_date_mismatch", id="birth-date-mismatch"
        ),
        pytest.param(None, "CpfNotFound", {}, "cpf_CpfNotFound", id="cpf-not-found"),
    ],
)
async def test_customer_whose_cpf_does_not_check_out_is_rejected_without_waiting_for_documents(
    env: WorkflowEnvironment,
    started: list[Handle],
    registration: CpfCheckResult | None,
    refusal: str | None,
    changes: dict[str, Any],
    reason: str,
) -> None:
    fakes = OnboardingFakes(registration=registration, refusal=refusal)
    customer = onboarding(**changes)
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, customer, started)
        result = await handle.result()
        done = await status(handle)

    assert result == OnboardingResult(customer.customer_id, "rejected", reason)
    assert done.step == "done" and done.outcome == "rejected" and done.reason == reason
    assert fakes.calls == ["check_cpf", "complete_onboarding"]
    assert fakes.requests["complete_onboarding"] == [OnboardingOutcome(customer.customer_id, "rejected", reason)]


async def test_missing_documents_get_one_reminder_after_a_day_and_expire_after_seven(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OnboardingFakes()
    customer = onboarding()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, customer, started)
        await handle.signal(OnboardingWorkflow.document_validated, document(customer.customer_id, "id_front"))
        await missing(handle, ["id_back", "selfie"])
        result = await handle.result()
        done = await status(handle)
        history = await handle.fetch_history()

    assert result == OnboardingResult(customer.customer_id, "expired", "documents_not_received")
    assert done == OnboardingStatus(
        step="done", missing_documents=["id_back", "selfie"], outcome="expired", reason="documents_not_received"
    )
    assert fakes.requests["remind_customer"] == [OnboardingReminder(customer.customer_id, ["id_back", "selfie"])]
    assert fakes.calls == ["check_cpf", "remind_customer", "complete_onboarding"]
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    # The reminder's timer runs out at 24 hours, the expiry's at 7 days from the start.
    assert len(timers) == 2
    assert timedelta(hours=23, minutes=59) < timers[0] <= timedelta(hours=24)
    assert timedelta(days=6) - timedelta(minutes=1) < timers[1] <= timedelta(days=6)
    first = history.events[0].event_time.ToDatetime()
    last = history.events[-1].event_time.ToDatetime()
    assert timedelta(days=7) <= last - first < timedelta(days=7, hours=1)


async def test_redelivered_document_event_is_applied_once(env: WorkflowEnvironment, started: list[Handle]) -> None:
    fakes = OnboardingFakes()
    customer = onboarding()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, customer, started)
        front = document(customer.customer_id, "id_front")
        await handle.signal(OnboardingWorkflow.document_validated, front)
        await handle.signal(OnboardingWorkflow.document_validated, front)
        # The same event id again, whatever it claims now, is a redelivery: ignored.
        replayed = ProviderEvent(front.event_id, front.type, front.subject, {**front.data, "document_type": "id_back"})
        await handle.signal(OnboardingWorkflow.document_validated, replayed)
        await handle.signal(OnboardingWorkflow.document_validated, document(customer.customer_id, "selfie"))
        after_duplicates = await missing(handle, ["id_back"])
        await handle.signal(OnboardingWorkflow.document_validated, document(customer.customer_id, "id_back"))
        result = await handle.result()

    assert after_duplicates.step == "documents"
    assert result.outcome == "active"
    assert fakes.requests["complete_onboarding"] == [OnboardingOutcome(customer.customer_id, "active", None)]
