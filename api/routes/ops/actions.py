"""Ops' actions on an application: review (maker-checker), retry of a paused step, cancellation.

Each route parses the request and shapes the answer; :class:`api.services.ops_actions.OpsActions`
loads the application, sends the workflow Update and writes the one audit entry.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from api.fields import TEXT
from api.openapi import problems
from api.services.ops_actions import OpsActionsDep
from workflows.contracts.origination import ApplicationStatus

router = APIRouter(prefix="/v1/ops", tags=["ops"])

ApplicationId = Annotated[uuid.UUID, Path(description="The application's id")]


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: StrictBool
    reason: Annotated[StrictStr, Field(min_length=1, max_length=400, pattern=TEXT)]


class ReviewRecordedView(BaseModel):
    application_id: uuid.UUID
    reviewer: str
    approve: bool


@router.post(
    "/applications/{application_id}/review",
    response_model=ReviewRecordedView,
    operation_id="ops_review_application",
    summary="Approve or reject an application in manual review (maker-checker enforced)",
    responses=problems(401, 404, 409, 413, 422, 503),
)
async def review_application(
    application_id: ApplicationId, body: ReviewRequest, actions: OpsActionsDep
) -> ReviewRecordedView:
    recorded = await actions.review(application_id, approve=body.approve, reason=body.reason)
    return ReviewRecordedView(application_id=application_id, reviewer=recorded.reviewer, approve=recorded.approve)


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corrections: Annotated[
        dict[
            Annotated[StrictStr, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")],
            Annotated[StrictStr, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")],
        ],
        Field(
            max_length=10,
            description='Corrected data for the paused step: {"pix_key": "..."} for a payout refused for its key, '
            "the customer's own CPF, e-mail or mobile phone as registered",
        ),
    ] = {}


class RetryAcceptedView(BaseModel):
    application_id: uuid.UUID
    step: str


@router.post(
    "/applications/{application_id}/retry",
    status_code=202,
    response_model=RetryAcceptedView,
    operation_id="ops_retry_step",
    summary="Retry the paused step, with corrections",
    responses=problems(401, 404, 409, 413, 422, 503),
)
async def retry_step(application_id: ApplicationId, body: RetryRequest, actions: OpsActionsDep) -> RetryAcceptedView:
    accepted = await actions.retry_step(application_id, body.corrections)
    return RetryAcceptedView(application_id=application_id, step=accepted.step)


class OpsCancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=TEXT)]


class OpsCancellationView(BaseModel):
    application_id: uuid.UUID
    status_when_requested: ApplicationStatus


@router.post(
    "/applications/{application_id}/cancel",
    status_code=202,
    response_model=OpsCancellationView,
    operation_id="ops_cancel_application",
    summary="Cancel an application; the workflow runs its compensations",
    responses=problems(401, 404, 409, 413, 422, 503),
)
async def cancel_application(
    application_id: ApplicationId, body: OpsCancelRequest, actions: OpsActionsDep
) -> OpsCancellationView:
    accepted = await actions.cancel(application_id, reason=body.reason)
    return OpsCancellationView(application_id=application_id, status_when_requested=accepted.status_when_requested)
