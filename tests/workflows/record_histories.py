"""Record the histories `test_replay.py` replays: one per workflow, from a time-skipping run.

Run from the repository root after an intentional change to a workflow (and only then: a
history that no longer replays is exactly what the replay test exists to catch):

    .venv/bin/python -m tests.workflows.record_histories [scenario ...]
    .venv/bin/python tests/workflows/record_histories.py [scenario ...]

It starts its own time-skipping test server, drives each scenario with the fake activities of
`workflow_fakes`, and ADDS `tests/workflows/histories/<name>.<UTC timestamp>.json`: it never
overwrites a file, so the histories recorded before each `workflow.patched()` change stay in the
replay test beside the ones recorded after it (`<name>.json` without a timestamp are the first
recordings). The payloads are written by the project's converter without its encryption codec, so
the files replay whatever keys the settings hold.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the fakes live next to this file, also when run as a module
    sys.path.insert(0, str(HERE))

from temporalio.client import WorkflowHistory  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from workflow_fakes import (  # noqa: E402
    OnboardingFakes,
    OriginationFakes,
    ServicingFakes,
    event,
    eventually,
    new_worker,
    start_test_environment,
    unencrypted_data_converter,
)

from domain.credit.due_dates import add_months  # noqa: E402
from workflows.contracts.onboarding import OnboardingInput, onboarding_workflow_id  # noqa: E402
from workflows.contracts.origination import (  # noqa: E402
    AcceptOffer,
    LoanApplicationInput,
    StepRetry,
    loan_workflow_id,
)
from workflows.contracts.servicing import ServicingInput, servicing_workflow_id  # noqa: E402
from workflows.onboarding import OnboardingWorkflow  # noqa: E402
from workflows.origination import LoanOriginationWorkflow  # noqa: E402
from workflows.servicing import ServicingWorkflow  # noqa: E402

HISTORIES = HERE / "histories"


async def origination_disbursed(env: WorkflowEnvironment) -> WorkflowHistory:
    """Approved, offer accepted, contract signed, payout settled: `disbursed`."""
    fakes = OriginationFakes()
    app = LoanApplicationInput(str(uuid.uuid4()), str(uuid.uuid4()), Decimal("5000.00"), 12, "price")
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await env.client.start_workflow(
            LoanOriginationWorkflow.run, app, id=loan_workflow_id(app.application_id), task_queue=worker.task_queue
        )

        async def status_is(status: str) -> bool:
            return (await handle.query(LoanOriginationWorkflow.state)).status == status

        await eventually(lambda: status_is("offer_ready"), what="offer_ready")
        offer = (await handle.query(LoanOriginationWorkflow.state)).offer
        assert offer is not None
        await handle.execute_update(LoanOriginationWorkflow.accept_offer, AcceptOffer(offer.offer_id, app.customer_id))
        await eventually(lambda: status_is("contract_sent"), what="contract_sent")
        await handle.signal(
            LoanOriginationWorkflow.signature_event, event("esignature.envelope.signed", app.application_id)
        )
        await eventually(lambda: status_is("disbursing"), what="disbursing")
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()
        assert result.status == "disbursed", result
        history = await handle.fetch_history()
    await env.client.get_workflow_handle(servicing_workflow_id(app.application_id)).terminate("recorded")
    return history


async def origination_paused_for_correction(env: WorkflowEnvironment) -> WorkflowHistory:
    """Signed, the payout refused for an unknown PIX key, paused; ops retry with another of the
    customer's keys; settled: `disbursed`. The history of the `pause-for-correction` branch."""
    fakes = OriginationFakes()
    fakes.payout_refusal = "PixKeyNotFound"
    app = LoanApplicationInput(str(uuid.uuid4()), str(uuid.uuid4()), Decimal("5000.00"), 12, "price")
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await env.client.start_workflow(
            LoanOriginationWorkflow.run, app, id=loan_workflow_id(app.application_id), task_queue=worker.task_queue
        )

        async def status_is(status: str) -> bool:
            return (await handle.query(LoanOriginationWorkflow.state)).status == status

        async def paused() -> bool:
            return (await handle.query(LoanOriginationWorkflow.state)).paused_step == "disbursement"

        await eventually(lambda: status_is("offer_ready"), what="offer_ready")
        offer = (await handle.query(LoanOriginationWorkflow.state)).offer
        assert offer is not None
        await handle.execute_update(LoanOriginationWorkflow.accept_offer, AcceptOffer(offer.offer_id, app.customer_id))
        await eventually(lambda: status_is("contract_sent"), what="contract_sent")
        await handle.signal(
            LoanOriginationWorkflow.signature_event, event("esignature.envelope.signed", app.application_id)
        )
        await eventually(paused, what="the payout paused")
        fakes.payout_refusal = None
        await handle.execute_update(
            LoanOriginationWorkflow.retry_step, StepRetry("ops-1", {"pix_key": "maria@example.com"})
        )
        await eventually(lambda: status_is("disbursing"), what="disbursing")
        await handle.signal(LoanOriginationWorkflow.payout_event, event("pix.payout.settled", app.application_id))
        result = await handle.result()
        assert result.status == "disbursed", result
        history = await handle.fetch_history()
    await env.client.get_workflow_handle(servicing_workflow_id(app.application_id)).terminate("recorded")
    return history


async def onboarding_active(env: WorkflowEnvironment) -> WorkflowHistory:
    """Regular CPF, three validated documents: `active`."""
    fakes = OnboardingFakes()
    customer = OnboardingInput(str(uuid.uuid4()), "Maria da Silva", date(1990, 5, 17))
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await env.client.start_workflow(
            OnboardingWorkflow.run,
            customer,
            id=onboarding_workflow_id(customer.customer_id),
            task_queue=worker.task_queue,
        )
        for document_type in ("id_front", "id_back", "selfie"):
            await handle.signal(
                OnboardingWorkflow.document_validated,
                event("document.submitted", customer.customer_id, document_type=document_type),
            )
        result = await handle.result()
        assert result.outcome == "active", result
        return await handle.fetch_history()


async def servicing_installment_paid(env: WorkflowEnvironment) -> WorkflowHistory:
    """The first run of a two-installment loan: installment 1 paid on time, then continue-as-new."""
    release = (await env.get_current_time()).astimezone(UTC).date()
    loan = ServicingInput(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        "price",
        Decimal("1000.00"),
        Decimal("0.0299"),
        release,
        add_months(release, 1),
        2,
    )
    fakes = ServicingFakes(env.client, pay=lambda request: True)
    async with new_worker(env.client, fakes.activities()) as worker:
        handle = await env.client.start_workflow(
            ServicingWorkflow.run, loan, id=servicing_workflow_id(loan.loan_id), task_queue=worker.task_queue
        )
        result = await handle.result()
        assert result.outcome == "paid_off", result
        first_run = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        return await first_run.fetch_history()


RECORDERS: dict[str, Callable[[WorkflowEnvironment], Awaitable[WorkflowHistory]]] = {
    "origination_disbursed": origination_disbursed,
    "origination_paused_for_correction": origination_paused_for_correction,
    "onboarding_active": onboarding_active,
    "servicing_installment_paid": servicing_installment_paid,
}


def scenario_of(path: Path) -> str:
    """The recorder a history file came from: `<name>.json` or `<name>.<timestamp>.json`."""
    return path.name.split(".", 1)[0]


def recorded_histories(directory: Path = HISTORIES) -> list[Path]:
    return sorted(directory.glob("*.json"))


async def record_all(directory: Path = HISTORIES, *, only: list[str] | None = None) -> list[Path]:
    """Record every scenario (or those named in `only`) into new files; an existing file is never
    written over (FileExistsError: run again a second later)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    # Recorded without the payload codec, so replaying needs no key (the codec passes payloads
    # that were never encrypted through, as it does for histories older than the codec).
    env = await start_test_environment(unencrypted_data_converter())
    written: list[Path] = []
    try:
        for name, record in RECORDERS.items():
            if only is not None and name not in only:
                continue
            history = await record(env)
            path = directory / f"{name}.{stamp}.json"
            with path.open("x") as file:  # "x": fails rather than overwrite a recorded history
                file.write(history.to_json() + "\n")
            written.append(path)
    finally:
        await env.shutdown()
    return written


def main() -> None:
    for path in asyncio.run(record_all(only=sys.argv[1:] or None)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
