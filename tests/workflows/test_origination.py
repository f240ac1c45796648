"""Loan origination under time skipping, every activity replaced by a fake of the same name.

Waits of hours and days (review SLA, offer and signature expiry, reminders) pass in milliseconds:
the test server skips to the next timer while a test awaits the workflow's result. Everything
else (Updates, signals, queries) runs with the clock held, so a test drives the journey step by
step and checks the state the `state` query answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.converter import decode_typed_search_attributes
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from workflow_fakes import OriginationFakes, event, eventually, good_profile, good_report, new_worker

from activities.contract_document import BORROWER_ADDRESS_MISSING
from workflows.contracts.origination import (
    AcceptOffer,
    ApplicationState,
    CancellationAccepted,
    CancellationRequest,
    LedgerReversal,
    LoanApplicationInput,
    LoanApplicationResult,
    OfferAccepted,
    ReminderRequest,
    ReviewDecision,
    ReviewRecorded,
    StepRetry,
    StepRetryAccepted,
    VoidEnvelopeRequest,
    loan_workflow_id,
)
from workflows.contracts.servicing import servicing_workflow_id
from workflows.origination import LoanOriginationWorkflow
from workflows.search_attributes import FAILED_STEP, LOAN_STATUS, RETRYING_STEP, RISK_BAND

Handle = WorkflowHandle[Any, LoanApplicationResult]

# A score the policy sends to an analyst (below every band, above the manual review floor).
REVIEW_SCORE = 450


def application(**changes: Any) -> LoanApplicationInput:
    values: dict[str, Any] = {
        "application_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "amount": Decimal("5000.00"),
        "term_months": 12,
        "amortization": "price",
    }
    values.update(changes)
    return LoanApplicationInput(**values)


@pytest.fixture
async def started(env: WorkflowEnvironment) -> AsyncIterator[list[Handle]]:
    """Handles of the workflows a test started; any still running at the end is terminated."""
    handles: list[Handle] = []
    yield handles
    for handle in handles:
        for workflow_id in (handle.id, servicing_workflow_id(handle.id.removeprefix("loan-"))):
            with contextlib.suppress(Exception):  # already closed, or never started
                await env.client.get_workflow_handle(workflow_id).terminate("test over")


async def start(env: WorkflowEnvironment, task_queue: str, app: LoanApplicationInput, started: list[Handle]) -> Handle:
    handle = await env.client.start_workflow(
        LoanOriginationWorkflow.run, app, id=loan_workflow_id(app.application_id), task_queue=task_queue
    )
    started.append(handle)
    return handle


async def state(handle: Handle) -> ApplicationState:
    return await handle.query(LoanOriginationWorkflow.state)


async def reach(handle: Handle, status: str) -> ApplicationState:
    async def there() -> bool:
        return (await state(handle)).status == status

    await eventually(there, what=f"status {status}")
    return await state(handle)


async def paused_at(handle: Handle, step: str) -> ApplicationState:
    async def paused() -> bool:
        return (await state(handle)).paused_step == step

    await eventually(paused, what=f"the {step} step to pause")
    return await state(handle)


async def refusal(update: Awaitable[Any]) -> ApplicationError:
    """The validator's (or handler's) ApplicationError of an Update that must fail."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await update
    assert isinstance(failed.value.cause, ApplicationError)
    return failed.value.cause


async def accept(handle: Handle, app: LoanApplicationInput) -> OfferAccepted:
    offered = await reach(handle, "offer_ready")
    assert offered.offer is not None
    return await handle.execute_update(
        LoanOriginationWorkflow.accept_offer, AcceptOffer(offered.offer.offer_id, app.customer_id)
    )


async def cancel(handle: Handle, by: str = "customer") -> CancellationAccepted:
    return await handle.execute_update(
        LoanOriginationWorkflow.request_cancellation, CancellationRequest(requested_by=by)
    )


async def signed(handle: Handle, app: LoanApplicationInput) -> None:
    await handle.signal(
        LoanOriginationWorkflow.signature_event, event("esignature.envelope.signed", app.application_id)
    )


async def workflow_statuses(handle: Handle) -> list[str]:
    """Every status the workflow took after `submitted`, in order, from its LoanStatus search
    attribute upserts in the history (`_enter` sets the attribute with the status)."""
    taken: list[str] = []
    async for history_event in handle.fetch_history_events():
        if history_event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            continue
        attributes = history_event.upsert_workflow_search_attributes_event_attributes.search_attributes
        status = decode_typed_search_attributes(attributes).get(LOAN_STATUS)
        if status is not None and status != "submitted" and (not taken or taken[-1] != status):
            taken.append(status)
    return taken


def outcomes(application_state: ApplicationState, step: str) -> list[str]:
    return [s.outcome for s in application_state.steps if s.step == step]


# --- Approval ---------------------------------------------------------------------------------------


async def test_approved_application_goes_through_offer_contract_and_payout_to_disbursed(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        accepted = await accept(handle, app)
        assert isinstance(accepted, OfferAccepted)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        await reach(handle, "disbursing")
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()
        final = await state(handle)
        described = await handle.describe()
        servicing = await env.client.get_workflow_handle(servicing_workflow_id(app.application_id)).describe()

    assert result == LoanApplicationResult(app.application_id, "disbursed", None, None, [])
    assert final.status == "disbursed"
    assert final.offer is not None and final.offer == accepted.offer
    assert final.offer.risk_band == "A" and len(final.offer.installments) == 12
    assert [(s.step, s.outcome) for s in final.steps] == [
        ("eligibility", "passed"),
        ("credit_analysis", "approve"),
        ("offer", "accepted"),
        ("contract", "sent"),
        ("signature", "signed"),
        ("signature_certificate", "stored"),
        ("disbursement", "requested"),
        ("disbursement", "settled"),
    ]
    # Seven activities: only offer_ready has one of its own to write the status (record_status);
    # every other change rides on the step's activity that runs when it happens.
    assert fakes.calls == [
        "start_analysis",
        "fetch_credit_report",
        "record_status",
        "prepare_contract",
        "issue_signature_certificate",
        "disburse",
        "complete_disbursement",
    ]
    assert fakes.statuses == ["offer_ready"]
    assert fakes.read_model_statuses == [
        "analyzing", "offer_ready", "offer_accepted", "contract_sent", "signed", "disbursing", "disbursed"
    ]  # fmt: skip
    # The read model took every status the workflow took, in the same order.
    assert fakes.read_model_statuses == await workflow_statuses(handle)
    assert fakes.read_model.refused == []
    contract_request = fakes.requests["prepare_contract"][0]
    assert contract_request.accepted is not None and contract_request.accepted.status == "offer_accepted"
    assert contract_request.accepted.reserve_amount == final.offer.amount_financed
    # The signature reaches the read model with the step that says so, before any payout.
    signed_change = fakes.requests["issue_signature_certificate"][0].status
    assert signed_change is not None and signed_change.status == "signed"
    assert signed_change.steps[-1].outcome == "signed"
    assert fakes.requests["disburse"][0].signed is None  # written already, by the certificate's activity
    assert fakes.requests["disburse"][0].offer == final.offer
    assert fakes.requests["complete_disbursement"][0].offer == final.offer
    assert described.typed_search_attributes.get(LOAN_STATUS) == "disbursed"
    assert described.typed_search_attributes.get(RISK_BAND) == "A"
    assert described.typed_search_attributes.get(FAILED_STEP) is None
    assert servicing.workflow_type == "ServicingWorkflow"
    assert servicing.status == WorkflowExecutionStatus.RUNNING


# --- Declines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "profile", "report", "reason"),
    [
        pytest.param({}, good_profile(), good_report(score=300), "score_too_low", id="low-score"),
        pytest.param({}, good_profile(), good_report(negative_records=2), "negative_records", id="negative-records"),
        pytest.param(
            {}, good_profile(monthly_income=Decimal("1000.00")), good_report(), "affordability", id="affordability"
        ),
        pytest.param(
            {"amount": Decimal("100.00")},
            good_profile(customer_status="pending_documents", other_open_applications=1),
            good_report(),
            "customer_not_active,another_application_open,amount_outside_product_limits",
            id="eligibility",
        ),
    ],
)
async def test_application_the_policy_refuses_is_declined_without_an_offer(
    env: WorkflowEnvironment,
    started: list[Handle],
    changes: dict[str, Any],
    profile: Any,
    report: Any,
    reason: str,
) -> None:
    fakes = OriginationFakes(profile=profile, report=report)
    app = application(**changes)
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        result = await handle.result()
        final = await state(handle)

    assert result.status == "declined"
    assert result.reason == reason
    assert result.compensations == [] and result.failed_step is None
    assert final.status == "declined" and final.offer is None
    assert fakes.statuses == ["declined"]
    assert fakes.requests["record_status"][0].reason == reason
    step = "eligibility" if reason.startswith("customer_not_active") else "credit_analysis"
    assert outcomes(final, step) == ["declined"]
    if step == "eligibility":
        assert "fetch_credit_report" not in fakes.calls


# --- Manual review ----------------------------------------------------------------------------------


async def test_manual_review_approved_by_another_person_reprices_and_offers(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes(report=good_report(score=REVIEW_SCORE))
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await reach(handle, "manual_review")

        maker_checker = await refusal(
            handle.execute_update(
                LoanOriginationWorkflow.decide_review, ReviewDecision(app.customer_id, True, "looks fine")
            )
        )
        no_reason = await refusal(
            handle.execute_update(LoanOriginationWorkflow.decide_review, ReviewDecision("analyst-1", True, "  "))
        )
        recorded = await handle.execute_update(
            LoanOriginationWorkflow.decide_review, ReviewDecision("analyst-1", True, "income confirmed")
        )
        offered = await reach(handle, "offer_ready")
        too_late = await refusal(
            handle.execute_update(LoanOriginationWorkflow.decide_review, ReviewDecision("analyst-2", True, "again"))
        )
        await cancel(handle)
        result = await handle.result()

    assert maker_checker.type == "MakerChecker"
    assert no_reason.type == "ReasonRequired"
    assert too_late.type == "NotInReview"
    assert recorded == ReviewRecorded(reviewer="analyst-1", approve=True)
    assert offered.offer is not None and offered.offer.risk_band == "C"
    assert outcomes(offered, "credit_analysis") == ["manual_review"]
    assert outcomes(offered, "manual_review") == ["approved"]
    assert fakes.statuses == ["manual_review", "offer_ready", "cancelled"]
    assert result.status == "cancelled"


async def test_manual_review_rejected_declines_the_application(env: WorkflowEnvironment, started: list[Handle]) -> None:
    fakes = OriginationFakes(report=good_report(score=REVIEW_SCORE))
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await reach(handle, "manual_review")
        recorded = await handle.execute_update(
            LoanOriginationWorkflow.decide_review, ReviewDecision("analyst-1", False, "income not proven")
        )
        result = await handle.result()
        final = await state(handle)

    assert recorded == ReviewRecorded(reviewer="analyst-1", approve=False)
    assert result.status == "declined"
    assert result.reason is not None and result.reason.startswith("manual_review_rejected")
    assert outcomes(final, "manual_review") == ["rejected"]
    assert final.offer is None
    assert fakes.statuses == ["manual_review", "declined"]


async def test_review_not_decided_is_escalated_after_a_day_and_declined_after_three(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes(report=good_report(score=REVIEW_SCORE))
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        result = await handle.result()
        final = await state(handle)

    assert result.status == "declined" and result.reason == "review_sla_exceeded"
    assert fakes.requests["remind"] == [ReminderRequest(app.application_id, app.customer_id, "review_escalated")]
    assert fakes.statuses == ["manual_review", "declined"]
    at = {s.outcome: s.at for s in final.steps if s.step in ("credit_analysis", "manual_review")}
    assert at["escalated"] - at["manual_review"] >= timedelta(hours=24)
    assert at["timed_out"] - at["manual_review"] >= timedelta(hours=72)
    assert at["timed_out"] - at["manual_review"] < timedelta(hours=73)


# --- Offer ------------------------------------------------------------------------------------------


async def test_offer_not_accepted_expires_after_72_hours(env: WorkflowEnvironment, started: list[Handle]) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        offered = await reach(handle, "offer_ready")
        result = await handle.result()
        final = await state(handle)

    assert offered.offer is not None
    assert result.status == "expired" and result.reason == "offer_expired"
    assert result.compensations == []
    expired_at = next(s.at for s in final.steps if s.step == "offer")
    assert expired_at >= offered.offer.expires_at
    assert offered.offer.expires_at - next(s.at for s in final.steps if s.step == "credit_analysis") == timedelta(
        hours=72
    )
    assert fakes.statuses == ["offer_ready", "expired"]
    assert "prepare_contract" not in fakes.calls


async def test_offer_is_accepted_only_with_the_current_offer_id(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        offered = await reach(handle, "offer_ready")
        assert offered.offer is not None
        changed = await refusal(
            handle.execute_update(LoanOriginationWorkflow.accept_offer, AcceptOffer(str(uuid.uuid4()), app.customer_id))
        )
        still = await state(handle)
        accepted = await handle.execute_update(
            LoanOriginationWorkflow.accept_offer, AcceptOffer(offered.offer.offer_id, app.customer_id)
        )
        await reach(handle, "contract_sent")
        again = await refusal(
            handle.execute_update(
                LoanOriginationWorkflow.accept_offer, AcceptOffer(offered.offer.offer_id, app.customer_id)
            )
        )

    assert changed.type == "OfferChanged"
    assert still.status == "offer_ready" and outcomes(still, "offer") == []
    assert accepted.offer == offered.offer
    assert again.type == "OfferNotOpen"
    assert fakes.statuses == ["offer_ready"]
    assert fakes.read_model_statuses[:3] == ["analyzing", "offer_ready", "offer_accepted"]
    assert fakes.requests["prepare_contract"][0].offer == offered.offer


# --- Signature --------------------------------------------------------------------------------------


async def test_unsigned_contract_expires_after_7_days_and_voids_the_envelope(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        sent = await reach(handle, "contract_sent")
        result = await handle.result()
        final = await state(handle)

    assert result.status == "expired" and result.reason == "signature_expired"
    # Registered release_limit, then void_envelope: undone in reverse.
    assert result.compensations == ["void_envelope", "release_limit"]
    assert final.compensations == ["void_envelope", "release_limit"]
    assert fakes.requests["void_envelope"] == [
        VoidEnvelopeRequest(app.application_id, f"env-{app.application_id}", "signature_expired")
    ]
    assert fakes.calls[-3:] == ["void_envelope", "release_limit", "record_status"]
    # Reminders every 48 hours while the 7 days run: at 48, 96 and 144 hours.
    assert [r.kind for r in fakes.requests["remind"]] == ["signature_pending"] * 3
    sent_at = next(s.at for s in sent.steps if s.step == "contract")
    expired_at = next(s.at for s in final.steps if s.step == "signature")
    assert timedelta(days=7) <= expired_at - sent_at < timedelta(days=7, hours=1)
    assert fakes.statuses == ["offer_ready", "expired"]
    assert fakes.read_model_statuses == ["analyzing", "offer_ready", "offer_accepted", "contract_sent", "expired"]
    assert "disburse" not in fakes.calls


async def test_declined_signature_cancels_and_undoes_the_contract(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await handle.signal(
            LoanOriginationWorkflow.signature_event, event("esignature.envelope.declined", app.application_id)
        )
        result = await handle.result()

    assert result.status == "cancelled" and result.reason == "signature_declined"
    assert result.compensations == ["void_envelope", "release_limit"]
    assert [r.reason for r in fakes.requests["void_envelope"]] == ["signature_declined"]
    assert fakes.requests["release_limit"][0].application_id == app.application_id
    assert fakes.read_model_statuses == ["analyzing", "offer_ready", "offer_accepted", "contract_sent", "cancelled"]
    assert "disburse" not in fakes.calls


# --- Disbursement -----------------------------------------------------------------------------------


async def test_failed_payout_reverses_the_ledger_then_releases_the_limit(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        await reach(handle, "disbursing")
        await handle.signal(
            LoanOriginationWorkflow.payout_event,
            event("pix.payout.failed", app.application_id, failure_reason="invalid_key"),
        )
        result = await handle.result()
        final = await state(handle)
        described = await handle.describe()

    assert result.status == "failed" and result.failed_step == "disbursement" and result.reason == "payout_failed"
    assert result.compensations == ["reverse_ledger", "release_limit"]
    assert final.compensations == ["reverse_ledger", "release_limit"]
    assert fakes.requests["reverse_disbursement"] == [
        LedgerReversal(app.application_id, f"{app.application_id}:disbursement", "payout_failed")
    ]
    assert fakes.calls[-3:] == ["reverse_disbursement", "release_limit", "record_status"]
    assert "void_envelope" not in fakes.calls  # signed: nothing to void
    assert "complete_disbursement" not in fakes.calls
    assert fakes.read_model_statuses == [
        "analyzing",
        "offer_ready",
        "offer_accepted",
        "contract_sent",
        "signed",
        "disbursing",
        "failed",
    ]
    assert fakes.requests["record_status"][-1].failed_step == "disbursement"
    assert ("disbursement", "failed", "invalid_key") in [(s.step, s.outcome, s.detail) for s in final.steps]
    assert described.typed_search_attributes.get(FAILED_STEP) == "disbursement"
    assert described.typed_search_attributes.get(LOAN_STATUS) == "failed"


async def test_refused_payout_reverses_the_entry_posted_before_it(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    fakes.payout_refusal = "InvalidPixKey"
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        result = await handle.result()
        final = await state(handle)

    assert result.status == "failed" and result.failed_step == "disbursement"
    assert result.reason == "disbursement_refused:InvalidPixKey"
    assert result.compensations == ["reverse_ledger", "release_limit"]
    assert fakes.requests["reverse_disbursement"] == [
        LedgerReversal(app.application_id, f"{app.application_id}:disbursement", "disbursement_refused:InvalidPixKey")
    ]
    assert outcomes(final, "disbursement") == ["refused"]
    assert fakes.read_model_statuses == [
        "analyzing",
        "offer_ready",
        "offer_accepted",
        "contract_sent",
        "signed",
        "disbursing",
        "failed",
    ]


# --- A payout refused for its PIX key: paused for ops to correct it ------------------------------------


async def _paused_on_the_payout(handle: Handle, app: LoanApplicationInput) -> ApplicationState:
    await accept(handle, app)
    await reach(handle, "contract_sent")
    await signed(handle, app)

    async def paused() -> bool:
        return (await state(handle)).paused_step == "disbursement"

    await eventually(paused, what="the payout paused")
    return await state(handle)


async def test_a_payout_refused_for_an_unknown_key_waits_for_another_of_the_customers_keys(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    fakes.payout_refusal = "PixKeyNotFound"
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        while_paused = await _paused_on_the_payout(handle, app)
        paused_attributes = (await handle.describe()).typed_search_attributes
        wrong_field = await refusal(
            handle.execute_update(LoanOriginationWorkflow.retry_step, StepRetry("ops-1", {"amount": "1"}))
        )
        fakes.payout_refusal = None
        retried = await handle.execute_update(
            LoanOriginationWorkflow.retry_step, StepRetry("ops-1", {"pix_key": "maria@example.com"})
        )
        await reach(handle, "disbursing")
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()
        final = await state(handle)

    assert while_paused.status == "signed" and while_paused.failed_step is None
    assert outcomes(while_paused, "disbursement") == ["paused"]
    assert paused_attributes.get(FAILED_STEP) == "disbursement"
    # The pause is written to the read model with why, for ops' queue.
    assert fakes.requests["record_status"][-1].failed_step == "disbursement"
    assert fakes.requests["record_status"][-1].reason.startswith("paused: PixKeyNotFound")
    # `disbursing` with the ledger entry, `signed` again while paused (the one way back), then on.
    assert fakes.read_model_statuses[-4:] == ["disbursing", "signed", "disbursing", "disbursed"]
    assert fakes.read_model.refused == []
    assert wrong_field.type == "InvalidCorrection"
    assert retried == StepRetryAccepted(step="disbursement")
    assert [r.pix_key for r in fakes.requests["disburse"]] == [None, "maria@example.com"]
    assert result.status == "disbursed" and result.compensations == []
    assert outcomes(final, "disbursement") == ["paused", "retried", "requested", "settled"]
    assert "reverse_disbursement" not in fakes.calls


async def test_an_application_paused_on_a_refused_payout_can_still_be_cancelled(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    """Nothing moved (the payout was refused): ops' cancellation is accepted and undoes the entry."""
    fakes = OriginationFakes()
    fakes.payout_refusal = "PixKeyNotTheCustomers"
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await _paused_on_the_payout(handle, app)
        accepted = await cancel(handle, by="ops:ana")
        result = await handle.result()

    assert accepted == CancellationAccepted(status_when_requested="signed")
    assert result.status == "cancelled" and result.compensations == ["reverse_ledger", "release_limit"]
    assert len(fakes.requests["disburse"]) == 1


async def test_cancelling_through_temporal_while_the_payout_is_paused_undoes_and_ends_canceled(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    fakes.payout_refusal = "PixKeyNotFound"
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await _paused_on_the_payout(handle, app)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        final = await state(handle)
        described = await handle.describe()

    assert isinstance(failure.value.cause, CancelledError)
    assert described.status == WorkflowExecutionStatus.CANCELED
    assert final.status == "cancelled" and final.reason == "workflow_cancelled"
    assert final.compensations == ["reverse_ledger", "release_limit"]


# --- Cancellation -----------------------------------------------------------------------------------


async def _to_submitted(handle: Handle, app: LoanApplicationInput, fakes: OriginationFakes) -> None:
    await fakes.entered("start_analysis")


async def _to_analyzing(handle: Handle, app: LoanApplicationInput, fakes: OriginationFakes) -> None:
    await fakes.entered("fetch_credit_report")


async def _to_manual_review(handle: Handle, app: LoanApplicationInput, fakes: OriginationFakes) -> None:
    await reach(handle, "manual_review")


async def _to_offer_ready(handle: Handle, app: LoanApplicationInput, fakes: OriginationFakes) -> None:
    await reach(handle, "offer_ready")


async def _to_offer_accepted(handle: Handle, app: LoanApplicationInput, fakes: OriginationFakes) -> None:
    await accept(handle, app)
    await fakes.entered("prepare_contract")


async def _to_contract_sent(handle: Handle, app: LoanApplicationInput, fakes: OriginationFakes) -> None:
    await accept(handle, app)
    await reach(handle, "contract_sent")


Drive = Callable[[Handle, LoanApplicationInput, OriginationFakes], Awaitable[None]]


@pytest.mark.parametrize(
    ("status", "hold", "score", "drive", "compensations", "statuses"),
    [
        pytest.param("submitted", "start_analysis", 850, _to_submitted, [], ["analyzing", "cancelled"], id="submitted"),
        pytest.param(
            "analyzing", "fetch_credit_report", 850, _to_analyzing, [], ["analyzing", "cancelled"], id="analysis"
        ),
        pytest.param(
            "manual_review",
            None,
            REVIEW_SCORE,
            _to_manual_review,
            [],
            ["analyzing", "manual_review", "cancelled"],
            id="manual-review",
        ),
        pytest.param(
            "offer_ready", None, 850, _to_offer_ready, [], ["analyzing", "offer_ready", "cancelled"], id="offer-ready"
        ),
        pytest.param(
            "offer_accepted",
            "prepare_contract",
            850,
            _to_offer_accepted,
            ["void_envelope", "release_limit"],
            ["analyzing", "offer_ready", "offer_accepted", "contract_sent", "cancelled"],
            id="offer-accepted",
        ),
        pytest.param(
            "contract_sent",
            None,
            850,
            _to_contract_sent,
            ["void_envelope", "release_limit"],
            ["analyzing", "offer_ready", "offer_accepted", "contract_sent", "cancelled"],
            id="contract-sent",
        ),
    ],
)
async def test_cancellation_request_before_the_payout_cancels_and_undoes(
    env: WorkflowEnvironment,
    started: list[Handle],
    status: str,
    hold: str | None,
    score: int,
    drive: Drive,
    compensations: list[str],
    statuses: list[str],
) -> None:
    fakes = OriginationFakes(report=good_report(score=score))
    gate = fakes.hold(hold) if hold else None
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await drive(handle, app, fakes)
        assert (await state(handle)).status == status
        accepted = await cancel(handle, by="customer")
        if gate is not None:
            gate.set()
        result = await handle.result()
        final = await state(handle)

    assert accepted == CancellationAccepted(status_when_requested=status)
    assert result.status == "cancelled" and result.reason == "customer_request"
    assert result.compensations == compensations
    assert final.status == "cancelled" and final.compensations == compensations
    assert outcomes(final, "cancellation") == ["requested"]
    assert fakes.read_model_statuses == statuses
    assert fakes.read_model_statuses == await workflow_statuses(handle)
    assert "disburse" not in fakes.calls
    if status in ("submitted", "analyzing"):
        assert final.offer is None


async def test_cancellation_is_refused_once_the_payout_is_requested(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    """`signed` is followed at once by the payout request, so already then the answer is NotCancellable."""
    fakes = OriginationFakes()
    payout_requested = fakes.hold("disburse")
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        await fakes.entered("disburse")
        while_signed = await state(handle)
        refused_signed = await refusal(cancel(handle))
        payout_requested.set()
        await reach(handle, "disbursing")
        refused_disbursing = await refusal(cancel(handle))
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()

    assert while_signed.status == "signed"
    assert refused_signed.type == "NotCancellable"
    assert refused_disbursing.type == "NotCancellable"
    assert result.status == "disbursed" and result.compensations == []
    assert fakes.read_model_statuses == [
        "analyzing",
        "offer_ready",
        "offer_accepted",
        "contract_sent",
        "signed",
        "disbursing",
        "disbursed",
    ]


async def test_signature_is_recorded_as_signed_and_a_cancellation_then_still_undoes(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    """Between the signature and the payout request the read model says `signed`; a cancellation
    that arrives while that is written still ends the journey, releasing the limit (no envelope to void)."""
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await _to_contract_sent(handle, app, fakes)
        writing = fakes.hold("issue_signature_certificate")  # which writes `signed`
        await signed(handle, app)
        await fakes.entered("issue_signature_certificate")
        while_signed = await state(handle)
        accepted = await cancel(handle, by="customer")
        writing.set()
        result = await handle.result()

    assert while_signed.status == "signed"
    assert accepted == CancellationAccepted(status_when_requested="signed")
    assert result.status == "cancelled" and result.compensations == ["release_limit"]
    assert fakes.read_model_statuses == [
        "analyzing",
        "offer_ready",
        "offer_accepted",
        "contract_sent",
        "signed",
        "cancelled",
    ]
    assert "disburse" not in fakes.calls


async def test_workflow_cancelled_while_the_payout_is_in_flight_undoes_nothing_and_disburses(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    """Once the PIX may be moving, reversing the ledger would be wrong: the cancellation is refused."""
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        await reach(handle, "disbursing")
        await handle.cancel()
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()
        final = await state(handle)

    assert result.status == "disbursed" and result.compensations == []
    assert ("cancellation", "refused") in [(s.step, s.outcome) for s in final.steps]
    assert "reverse_disbursement" not in fakes.calls and "release_limit" not in fakes.calls
    assert "complete_disbursement" in fakes.calls


async def test_workflow_cancelled_through_temporal_runs_the_compensations(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        final = await state(handle)
        described = await handle.describe()

    assert isinstance(failure.value.cause, CancelledError)
    assert described.status == WorkflowExecutionStatus.CANCELED
    assert final.status == "cancelled" and final.reason == "workflow_cancelled"
    assert final.compensations == ["void_envelope", "release_limit"]
    assert [r.reason for r in fakes.requests["void_envelope"]] == ["workflow_cancelled"]
    assert fakes.read_model_statuses == ["analyzing", "offer_ready", "offer_accepted", "contract_sent", "cancelled"]


async def test_workflow_cancelled_while_an_activity_runs_is_cancelled_not_paused(
    isolated_env: WorkflowEnvironment,
) -> None:
    env = isolated_env  # the cancelled activity would hold the shared server's clock (sdk-java#1138)
    fakes = OriginationFakes()
    bureau = fakes.hold("fetch_credit_report")
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, [])
        await fakes.entered("fetch_credit_report")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        bureau.set()
        final = await state(handle)

    assert isinstance(failure.value.cause, CancelledError)
    assert final.status == "cancelled" and final.paused_step is None and final.failed_step is None
    assert final.compensations == []
    assert outcomes(final, "credit_analysis") == []
    assert fakes.statuses == ["cancelled"]


# --- A fixable step that keeps failing -------------------------------------------------------------


async def test_credit_analysis_that_keeps_failing_pauses_until_ops_retries(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    fakes.bureau_down = True
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        while_paused = await paused_at(handle, "credit_analysis")
        paused_attributes = (await handle.describe()).typed_search_attributes
        attempts = fakes.bureau_attempts

        fakes.bureau_down = False
        retried = await handle.execute_update(LoanOriginationWorkflow.retry_step, StepRetry(operator="ops-1"))
        offered = await reach(handle, "offer_ready")
        nothing = await refusal(handle.execute_update(LoanOriginationWorkflow.retry_step, StepRetry(operator="ops-1")))
        resumed_attributes = (await handle.describe()).typed_search_attributes
        await cancel(handle)
        result = await handle.result()

    assert while_paused.status == "analyzing" and while_paused.failed_step is None
    assert outcomes(while_paused, "credit_analysis") == ["paused"]
    assert attempts == 10  # the PROVIDER_CALL retry policy ran out before the pause
    assert paused_attributes.get(FAILED_STEP) == "credit_analysis"
    assert retried == StepRetryAccepted(step="credit_analysis")
    assert offered.paused_step is None and offered.offer is not None
    assert outcomes(offered, "credit_analysis") == ["paused", "retried", "approve"]
    assert nothing.type == "NothingToRetry"
    assert resumed_attributes.get(FAILED_STEP) is None
    assert fakes.statuses == ["analyzing", "offer_ready", "cancelled"]
    assert fakes.requests["record_status"][0].failed_step == "credit_analysis"
    assert result.status == "cancelled"


async def test_a_contract_refused_for_a_missing_address_pauses_until_ops_retries_once_it_is_fixed(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    # prepare_contract's BorrowerAddressMissing is retryable: the customer adds the address with
    # PUT /v1/me/address, and ops retry the paused step; no CCB is issued before that.
    fakes = OriginationFakes()
    fakes.contract_failure = BORROWER_ADDRESS_MISSING
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        while_paused = await paused_at(handle, "contract")
        paused_attributes = (await handle.describe()).typed_search_attributes
        attempts = len(fakes.requests["prepare_contract"])

        fakes.contract_failure = None  # the customer has added the address
        retried = await handle.execute_update(LoanOriginationWorkflow.retry_step, StepRetry(operator="ops-1"))
        sent = await reach(handle, "contract_sent")
        resumed_attributes = (await handle.describe()).typed_search_attributes
        await cancel(handle)
        result = await handle.result()

    assert while_paused.status == "offer_accepted" and while_paused.failed_step is None
    assert outcomes(while_paused, "contract") == ["paused"]
    assert attempts > 1  # retried before the pause, as a transient failure is
    assert paused_attributes.get(FAILED_STEP) == "contract"
    assert retried == StepRetryAccepted(step="contract")
    assert sent.paused_step is None and outcomes(sent, "contract")[:2] == ["paused", "retried"]
    assert len(fakes.requests["prepare_contract"]) == attempts + 1
    assert resumed_attributes.get(FAILED_STEP) is None
    assert result.status == "cancelled"


# --- A step that keeps retrying shows as retrying ------------------------------------------------


async def test_a_step_still_running_past_retrying_after_shows_as_retrying_until_it_ends(
    isolated_env: WorkflowEnvironment,
) -> None:
    # A held activity keeps the test server's clock on real time: the short policy makes that quick.
    env = isolated_env
    fakes = OriginationFakes()
    bureau = fakes.hold("fetch_credit_report")
    app = application(policy=dataclasses.replace(application().policy, retrying_after=timedelta(seconds=1)))
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, [])
        await fakes.entered("fetch_credit_report")

        async def retrying() -> bool:
            return (await state(handle)).retrying_step == "credit_analysis"

        await eventually(retrying, what="the credit analysis to show as retrying")
        while_retrying = (await handle.describe()).typed_search_attributes
        bureau.set()
        offered = await reach(handle, "offer_ready")
        after = (await handle.describe()).typed_search_attributes
        await cancel(handle)
        await handle.result()

    assert while_retrying.get(RETRYING_STEP) == "credit_analysis"
    assert offered.retrying_step is None and after.get(RETRYING_STEP) is None
    assert outcomes(offered, "credit_analysis") == ["approve"]  # slow, not failed: nothing recorded


async def test_a_step_that_ends_in_time_never_shows_as_retrying(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        offered = await reach(handle, "offer_ready")
        attributes = (await handle.describe()).typed_search_attributes
    assert offered.retrying_step is None and attributes.get(RETRYING_STEP) is None


async def test_a_certificate_that_cannot_be_made_is_recorded_and_the_money_still_goes_out(
    env: WorkflowEnvironment, started: list[Handle]
) -> None:
    fakes = OriginationFakes()
    fakes.certificate_refusal = "SignedDocumentMismatch"
    app = application()
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await start(env, worker.task_queue, app, started)
        await accept(handle, app)
        await reach(handle, "contract_sent")
        await signed(handle, app)
        await reach(handle, "disbursing")
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()
        final = await state(handle)

    assert result.status == "disbursed"
    assert ("signature_certificate", "failed", "SignedDocumentMismatch") in [
        (s.step, s.outcome, s.detail) for s in final.steps
    ]
    assert [r.envelope_id for r in fakes.requests["issue_signature_certificate"]] == [f"env-{app.application_id}"]
