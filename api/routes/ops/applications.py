"""Applications as ops see them: lists by status from the read model, the manual review queue, and
one application with what its workflow says now (paused or retrying step, compensations)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field
from temporalio.client import Client, WorkflowHandle

from api.deps import CurrentOperator, SessionDep, SettingsDep, TemporalClientDep
from api.fields import MoneyOut
from api.openapi import problems
from api.pagination import Page, PageDep
from api.problems import NotFound
from api.schemas.loans import LoanApplicationView, LoanSummary, application_view
from api.workflow_calls import enrichment_timeout, maybe
from lendflow.logging import mask_text
from lendflow.settings import Settings
from lendflow.temporal import failure_message
from storage.keyset import Cursor
from storage.models import LoanApplication
from storage.repositories import loans
from workflows.contracts.origination import ApplicationStatus, loan_workflow_id
from workflows.origination import LoanOriginationWorkflow

router = APIRouter(prefix="/v1/ops", tags=["ops"])

ApplicationId = Annotated[uuid.UUID, Path(description="The application's id")]
STATUS_QUERY = Annotated[ApplicationStatus | None, Query(description="Only applications in this status")]


class OpsApplicationSummary(LoanSummary):
    customer_id: uuid.UUID
    risk_band: str | None = None
    failed_step: str | None = None
    reason: str | None = None


class OpsApplicationPage(Page[OpsApplicationSummary]):
    pass


class OpsApplicationView(LoanApplicationView):
    reason: str | None = Field(
        default=None, description="Why the application ended or waits, as the workflow recorded it (with error text)"
    )
    customer_id: uuid.UUID
    reserved_amount: MoneyOut
    paused_step: str | None = Field(default=None, description="The step waiting for an ops retry, if any")
    retrying_step: str | None = Field(
        default=None,
        description="The step whose activity has been retrying (or running) past the policy's retrying_after,"
        " while it does; cleared when the step ends",
    )
    attempt: int | None = Field(default=None, description="The retrying step's current attempt")
    last_error: str | None = Field(default=None, description="Why the retrying step's last attempt failed")
    compensations: list[str] = Field(default_factory=list, description="Undo steps run so far")


def _summary(row: LoanApplication) -> OpsApplicationSummary:
    return OpsApplicationSummary(
        **LoanSummary.of(row).model_dump(),
        customer_id=row.customer_id,
        risk_band=row.risk_band,
        failed_step=row.failed_step,
        reason=row.status_reason,
    )


@router.get(
    "/applications",
    response_model=OpsApplicationPage,
    operation_id="ops_list_applications",
    summary="Applications by status, newest first",
    responses=problems(401, 422),
)
async def list_applications(
    operator: CurrentOperator, session: SessionDep, page: PageDep, status: STATUS_QUERY = None
) -> OpsApplicationPage:
    rows = await loans.page_by_status(session, status=status, limit=page.limit, after=page.after)
    kept, next_url = page.page(rows, lambda r: Cursor(key=str(r.id), at=r.created_at))
    return OpsApplicationPage(items=[_summary(r) for r in kept], next=next_url)


@router.get(
    "/review-queue",
    response_model=OpsApplicationPage,
    operation_id="ops_review_queue",
    summary="Applications waiting for a manual review, oldest first",
    responses=problems(401, 422),
)
async def review_queue(operator: CurrentOperator, session: SessionDep, page: PageDep) -> OpsApplicationPage:
    rows = await loans.page_by_status(
        session, status=ApplicationStatus.MANUAL_REVIEW, limit=page.limit, after=page.after, oldest_first=True
    )
    kept, next_url = page.page(rows, lambda r: Cursor(key=str(r.id), at=r.created_at))
    return OpsApplicationPage(items=[_summary(r) for r in kept], next=next_url)


@router.get(
    "/applications/{application_id}",
    response_model=OpsApplicationView,
    operation_id="ops_get_application",
    summary="One application with its steps, paused step and compensations",
    responses=problems(401, 404, 422),
)
async def get_application(
    application_id: ApplicationId,
    operator: CurrentOperator,
    session: SessionDep,
    temporal: TemporalClientDep,
    settings: SettingsDep,
) -> OpsApplicationView:
    application = await loans.by_id(session, application_id)
    if application is None:
        raise NotFound("no such application")
    # The read is done: give the connection back before waiting on Temporal.
    await session.close()
    handle = temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
    live = await maybe(handle.query(LoanOriginationWorkflow.state, rpc_timeout=enrichment_timeout(settings)))
    attempt, last_error = None, None
    if live is not None and live.retrying_step is not None:
        attempt, last_error = await _retrying_activity(handle, temporal, settings)
    return OpsApplicationView(
        **application_view(application, live=live, for_ops=True),
        customer_id=application.customer_id,
        reserved_amount=application.reserved_amount,
        paused_step=live.paused_step if live else None,
        retrying_step=live.retrying_step if live else None,
        attempt=attempt,
        last_error=last_error,
        compensations=list(live.compensations) if live else [],
    )


async def _retrying_activity(
    handle: WorkflowHandle[Any, Any], temporal: Client, settings: Settings
) -> tuple[int | None, str | None]:
    """The attempt and last failure of the workflow's pending activity, as Temporal tells them.

    The failure's message is encrypted in Temporal (it may carry personal data): it is decrypted
    here with the project's data converter, then masked for ops.
    """
    described = await maybe(handle.describe(rpc_timeout=enrichment_timeout(settings)))
    if described is None:
        return None, None
    for pending in described.raw_description.pending_activities:
        if not pending.HasField("last_failure"):
            return pending.attempt, None
        error = await maybe(failure_message(temporal.data_converter, pending.last_failure))
        return pending.attempt, mask_text(error)[:500] if error else None
    return None, None
