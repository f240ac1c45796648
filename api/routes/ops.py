"""The operations API (`/v1/ops/...`, role `ops`, its own log-in and token audience).

Ops watch applications by status from the read model, work the manual review queue (approve or
reject; the workflow enforces maker-checker), retry a paused step, cancel with compensation, and
list and replay dead letters. Every action is written to the append-only audit log with the
operator, the action, the object, the request id and how it ended (done, or refused and why).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import structlog
from confluent_kafka import KafkaException
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool, StrictStr
from temporalio.client import WorkflowHandle

from api.deps import CurrentOperator, OperatorPrincipal, Resources, ResourcesDep
from api.fields import TEXT, MoneyOut
from api.openapi import problems
from api.pagination import Page, PageDep
from api.problems import LendflowError, NotFound, ServiceUnavailable, Unauthorized, UnprocessableEntity
from api.routes.auth import RefreshRequest
from api.schemas.loans import LoanApplicationView, LoanSummary, application_view
from api.security import (
    InvalidRefreshToken,
    IssuedAccess,
    IssuedRefresh,
    LoginThrottle,
    SessionStore,
    client_address,
    operator_tokens,
    redis_call,
    verify_password,
)
from api.workflow_calls import WorkflowRefused, enrichment_timeout, maybe, timeout, updated
from domain.pix_keys import customers_own_pix_key, pix_key_kind
from lendflow.logging import mask_text
from pipeline.dlq import DeadLetterReplayer, Letter, read_letter, read_letters
from storage.keyset import BadCursor, Cursor
from storage.models import LoanApplication, Operator
from storage.repositories import audit, customers, loans, operators
from workflows.contracts.origination import (
    TERMINAL_STATUSES,
    CancellationRequest,
    ReviewDecision,
    StepRetry,
    loan_workflow_id,
)
from workflows.origination import LoanOriginationWorkflow

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/ops", tags=["ops"])

ApplicationId = Annotated[uuid.UUID, Path(description="The application's id")]
STATUS_QUERY = Annotated[
    str | None, Query(max_length=30, pattern=r"^[a-z_]+$", description="Only applications in this status")
]
# Letters are read whole from the DLQ topic; a page is cut from at most this many.
DLQ_SCAN_LIMIT = 10_000

# --- Log-in -------------------------------------------------------------------------------------


class OperatorTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=TEXT)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=128)]


class OperatorToken(BaseModel):
    access_token: str = Field(description="JWT of audience lendflow-ops, role ops")
    refresh_token: str = Field(description="Opaque; use once with `POST /v1/ops/auth/refresh` for a new pair")
    token_type: Literal["bearer"]
    expires_in: int
    session_expires_at: datetime = Field(
        description="When the session ends whatever the refreshes (a shift): then the operator logs in again"
    )


class InvalidOperatorCredentials(Unauthorized):
    code, title = "invalid-credentials", "The username or the password is not right"


@dataclass(frozen=True)
class OperatorSession:
    operator: Operator
    access: IssuedAccess
    refresh: IssuedRefresh

    def token(self) -> OperatorToken:
        return OperatorToken(
            access_token=self.access.token,
            refresh_token=self.refresh.token,
            token_type="bearer",
            expires_in=self.access.expires_in,
            session_expires_at=self.refresh.expires_at,
        )


@router.post(
    "/auth/token",
    response_model=OperatorToken,
    operation_id="issue_operator_token",
    summary="Operator log-in (role ops)",
    responses=problems(401, 413, 422, 429, 503),
)
async def issue_operator_token(body: OperatorTokenRequest, request: Request, resources: ResourcesDep) -> OperatorToken:
    return (await log_in_operator(body, request, resources)).token()


async def log_in_operator(body: OperatorTokenRequest, request: Request, resources: Resources) -> OperatorSession:
    """Check an operator's password (throttled) and start a session: its access and refresh tokens."""
    auth = resources.settings.auth
    username = body.username.strip().lower()
    throttle = LoginThrottle(auth, resources.redis, scope="operator")
    address = client_address(request, resources.settings.api.trusted_proxies)
    await redis_call(throttle.attempt(address, username))
    async with resources.session_maker() as session:
        operator = await operators.by_username(session, username)
    usable = operator is not None and operator.active and operator.role == "ops"
    if not await verify_password(
        operator.password_hash if usable and operator else None, body.password.get_secret_value()
    ):
        await redis_call(throttle.failed(address, username))
        log.info("ops.login_failed")
        raise InvalidOperatorCredentials()
    assert operator is not None
    await redis_call(throttle.succeeded(address, username))
    async with resources.session_maker() as session:
        refresh = await SessionStore(auth, resources.redis).start(session, "operator", operator.id)
        await session.commit()
    log.info("ops.logged_in", operator=operator.username)
    return OperatorSession(operator, operator_tokens(auth).issue(operator.id, refresh.family_id, "ops"), refresh)


@router.post(
    "/auth/refresh",
    response_model=OperatorToken,
    operation_id="refresh_operator_token",
    summary="Trade an operator's refresh token for a new pair, within the session's end",
    responses=problems(401, 413, 422, 503),
)
async def refresh_operator_token(body: RefreshRequest, resources: ResourcesDep) -> OperatorToken:
    auth = resources.settings.auth
    store = SessionStore(auth, resources.redis)
    async with resources.session_maker() as session:
        refresh = await redis_call(store.rotate(session, body.refresh_token, "operator"))
        operator = await operators.by_id(session, refresh.subject_id)
        if operator is None or not operator.active or operator.role != "ops":
            await redis_call(store.revoke(session, refresh.family_id))
            log.info("ops.refresh_refused", reason="operator not active")
            raise InvalidRefreshToken("the operator is not active")
    return OperatorSession(
        operator, operator_tokens(auth).issue(operator.id, refresh.family_id, "ops"), refresh
    ).token()


async def end_operator_session(resources: Resources, operator: OperatorPrincipal) -> None:
    """Revoke the session: its refresh tokens stop working, and its access tokens at once."""
    async with resources.session_maker() as session:
        await redis_call(SessionStore(resources.settings.auth, resources.redis).revoke(session, operator.session_id))


@router.post(
    "/auth/logout",
    status_code=204,
    operation_id="logout_operator",
    summary="End the operator's session: its refresh and access tokens stop working",
    responses=problems(401, 503),
)
async def logout_operator(operator: CurrentOperator, resources: ResourcesDep) -> Response:
    await end_operator_session(resources, operator)
    log.info("ops.logged_out", operator=operator.username)
    return Response(status_code=204)


# --- Applications -------------------------------------------------------------------------------


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


async def _application(resources: Resources, application_id: uuid.UUID) -> LoanApplication:
    async with resources.session_maker() as session:
        application = await loans.by_id(session, application_id)
    if application is None:
        raise NotFound("no such application")
    return application


@router.get(
    "/applications",
    response_model=OpsApplicationPage,
    operation_id="ops_list_applications",
    summary="Applications by status, newest first",
    responses=problems(401, 422),
)
async def list_applications(
    operator: CurrentOperator, resources: ResourcesDep, page: PageDep, status: STATUS_QUERY = None
) -> OpsApplicationPage:
    async with resources.session_maker() as session:
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
async def review_queue(operator: CurrentOperator, resources: ResourcesDep, page: PageDep) -> OpsApplicationPage:
    async with resources.session_maker() as session:
        rows = await loans.page_by_status(
            session, status="manual_review", limit=page.limit, after=page.after, oldest_first=True
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
    application_id: ApplicationId, operator: CurrentOperator, resources: ResourcesDep
) -> OpsApplicationView:
    application = await _application(resources, application_id)
    handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
    live = await maybe(handle.query(LoanOriginationWorkflow.state, rpc_timeout=enrichment_timeout(resources.settings)))
    attempt, last_error = None, None
    if live is not None and live.retrying_step is not None:
        attempt, last_error = await _retrying_activity(handle, resources)
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


async def _retrying_activity(handle: WorkflowHandle[Any, Any], resources: Resources) -> tuple[int | None, str | None]:
    """The attempt and last failure of the workflow's pending activity, as Temporal tells them."""
    described = await maybe(handle.describe(rpc_timeout=enrichment_timeout(resources.settings)))
    if described is None:
        return None, None
    for pending in described.raw_description.pending_activities:
        error = pending.last_failure.message if pending.HasField("last_failure") else None
        return pending.attempt, mask_text(error)[:500] if error else None
    return None, None


# --- Actions ------------------------------------------------------------------------------------


@asynccontextmanager
async def audited(
    resources: Resources,
    request: Request,
    operator: OperatorPrincipal,
    *,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Write one audit row once the action ended: done, or refused (with the problem), or failed."""
    extra: dict[str, Any] = dict(detail or {})
    outcome = "done"
    try:
        yield extra
    except LendflowError as exc:
        outcome = f"refused:{exc.code}"
        raise
    except BaseException as exc:
        outcome = f"failed:{type(exc).__name__}"
        raise
    finally:
        await audit.record(
            resources.session_maker,
            operator_id=operator.operator_id,
            operator_username=operator.username,
            action=action,
            object_type=object_type,
            object_id=object_id,
            request_id=getattr(request.state, "request_id", None) or "none",
            outcome=outcome,
            detail=extra,
        )
        log.info("ops.action", action=action, object_id=object_id, outcome=outcome)


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
    application_id: ApplicationId,
    body: ReviewRequest,
    operator: CurrentOperator,
    request: Request,
    resources: ResourcesDep,
) -> ReviewRecordedView:
    async with audited(
        resources,
        request,
        operator,
        action="review",
        object_type="loan_application",
        object_id=str(application_id),
        detail={"approve": body.approve, "reason": body.reason},
    ):
        await _application(resources, application_id)
        handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
        recorded = await updated(
            handle.execute_update(
                LoanOriginationWorkflow.decide_review,
                ReviewDecision(reviewer=operator.actor, approve=body.approve, reason=body.reason),
                rpc_timeout=timeout(resources.settings),
            )
        )
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
async def retry_step(
    application_id: ApplicationId,
    body: RetryRequest,
    operator: CurrentOperator,
    request: Request,
    resources: ResourcesDep,
) -> RetryAcceptedView:
    async with audited(
        resources,
        request,
        operator,
        action="retry_step",
        object_type="loan_application",
        object_id=str(application_id),
        detail={"corrected_fields": sorted(body.corrections)},
    ) as detail:
        application = await _application(resources, application_id)
        corrections = dict(body.corrections)
        if "pix_key" in corrections:
            corrections["pix_key"] = await _customers_own_pix_key(resources, application, corrections["pix_key"])
            detail["pix_key_kind"] = pix_key_kind(corrections["pix_key"])
        handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
        accepted = await updated(
            handle.execute_update(
                LoanOriginationWorkflow.retry_step,
                StepRetry(operator=operator.actor, corrections=corrections),
                rpc_timeout=timeout(resources.settings),
            )
        )
        detail["step"] = accepted.step
    return RetryAcceptedView(application_id=application_id, step=accepted.step)


class PixKeyNotTheCustomers(UnprocessableEntity):
    code, title = "pix-key-not-the-customers", "A loan is paid out only to one of the borrower's own PIX keys"


async def _customers_own_pix_key(resources: Resources, application: LoanApplication, key: str) -> str:
    """The corrected key, normalised, if it is the borrower's CPF, e-mail or phone as registered."""
    async with resources.session_maker() as session:
        customer = await customers.by_id(session, application.customer_id)
    assert customer is not None  # an application's customer is never deleted
    own = customers_own_pix_key(key, cpf=customer.cpf, email=customer.email, phone=customer.phone)
    if own is None:
        raise PixKeyNotTheCustomers("pix_key must be the customer's CPF, e-mail or mobile phone as registered")
    return own


class OpsCancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=TEXT)]


class OpsCancellationView(BaseModel):
    application_id: uuid.UUID
    status_when_requested: str


@router.post(
    "/applications/{application_id}/cancel",
    status_code=202,
    response_model=OpsCancellationView,
    operation_id="ops_cancel_application",
    summary="Cancel an application; the workflow runs its compensations",
    responses=problems(401, 404, 409, 413, 422, 503),
)
async def cancel_application(
    application_id: ApplicationId,
    body: OpsCancelRequest,
    operator: CurrentOperator,
    request: Request,
    resources: ResourcesDep,
) -> OpsCancellationView:
    async with audited(
        resources,
        request,
        operator,
        action="cancel",
        object_type="loan_application",
        object_id=str(application_id),
        detail={"reason": body.reason},
    ):
        application = await _application(resources, application_id)
        if application.status in TERMINAL_STATUSES:
            raise WorkflowRefused("NotCancellable", f"the application is {application.status}")
        handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
        accepted = await updated(
            handle.execute_update(
                LoanOriginationWorkflow.request_cancellation,
                CancellationRequest(requested_by=operator.actor, reason=f"ops: {body.reason}"),
                rpc_timeout=timeout(resources.settings),
            )
        )
    return OpsCancellationView(application_id=application_id, status_when_requested=accepted.status_when_requested)


# --- Dead letters -------------------------------------------------------------------------------


class DeadLetterView(BaseModel):
    letter_id: str = Field(description="PARTITION:OFFSET in the DLQ topic")
    partition: int
    offset: int
    stage: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    attempt: int
    event_id: str | None = None
    event_type: str | None = None
    failed_at: str | None = None
    size_bytes: int

    @classmethod
    def of(cls, letter: Letter) -> DeadLetterView:
        return cls(
            letter_id=letter.letter_id,
            partition=letter.partition,
            offset=letter.offset,
            stage=letter.stage,
            error_class=letter.error_class,
            error_message=letter.error_message,
            attempt=letter.attempt,
            event_id=letter.event_id,
            event_type=letter.event_type,
            failed_at=letter.failed_at,
            size_bytes=len(letter.value or b""),
        )


class DeadLetterPage(Page[DeadLetterView]):
    pass


class ReplayView(BaseModel):
    letter_id: str
    status: str = Field(description="replayed, already_replayed or attempts_exhausted")
    attempt: int


@router.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    operation_id="ops_list_dead_letters",
    summary="Dead letters in the DLQ, by partition and offset",
    responses=problems(401, 422, 503),
)
async def list_dead_letters(operator: CurrentOperator, resources: ResourcesDep, page: PageDep) -> DeadLetterPage:
    try:
        letters = await asyncio.to_thread(read_letters, resources.settings, limit=DLQ_SCAN_LIMIT)
    except KafkaException as exc:  # the broker is not reachable
        raise ServiceUnavailable("the dead-letter queue cannot be read now") from exc
    if page.after is not None:
        last = tuple(int(p) for p in _letter_position(page.after))
        letters = [letter for letter in letters if (letter.partition, letter.offset) > last]
    kept, next_url = page.page(letters, lambda letter: Cursor(key=letter.letter_id))
    return DeadLetterPage(items=[DeadLetterView.of(letter) for letter in kept], next=next_url)


def _letter_position(cursor: Cursor) -> tuple[str, str]:
    partition, _, offset = cursor.key.partition(":")
    if not partition.isdigit() or not offset.isdigit():
        raise BadCursor(cursor.key)
    return partition, offset


@router.post(
    "/dead-letters/{partition}/{offset}/replay",
    status_code=202,
    response_model=ReplayView,
    operation_id="ops_replay_dead_letter",
    summary="Re-produce one dead letter to the incoming topic (once; attempts are bounded)",
    responses=problems(401, 404, 422, 503),
)
async def replay_dead_letter(
    partition: Annotated[int, Path(ge=0, le=10_000)],
    offset: Annotated[int, Path(ge=0, le=2**62)],
    operator: CurrentOperator,
    request: Request,
    resources: ResourcesDep,
) -> ReplayView:
    letter_id = f"{partition}:{offset}"
    async with audited(
        resources, request, operator, action="replay_dead_letter", object_type="dead_letter", object_id=letter_id
    ) as detail:
        try:
            letter = await asyncio.to_thread(read_letter, resources.settings, partition, offset, timeout=5.0)
        except KafkaException as exc:  # the broker is not reachable
            raise ServiceUnavailable("the dead-letter queue cannot be read now") from exc
        if letter is None:
            raise NotFound("no such dead letter")
        detail.update(event_id=letter.event_id, event_type=letter.event_type)
        try:
            outcomes = await DeadLetterReplayer(resources.settings, resources.session_maker).replay([letter])
        # The broker did not take it: the producer refused it, or `DeadLetterReplayer` raises a
        # RuntimeError when the broker did not acknowledge every replay.
        except (KafkaException, BufferError, RuntimeError) as exc:
            raise ServiceUnavailable("the replay could not be produced; try again") from exc
        outcome = outcomes[0]
        detail["status"] = outcome.status
    return ReplayView(letter_id=letter_id, status=outcome.status, attempt=outcome.attempt)


# --- Audit log ----------------------------------------------------------------------------------


class AuditEntryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    recorded_at: datetime
    operator_id: uuid.UUID
    operator_username: str
    action: str
    object_type: str
    object_id: str
    request_id: str
    outcome: str
    detail: dict[str, Any]


class AuditPage(Page[AuditEntryView]):
    pass


@router.get(
    "/audit-log",
    response_model=AuditPage,
    operation_id="ops_audit_log",
    summary="The ops audit log, newest first",
    responses=problems(401, 422),
)
async def audit_log(
    operator: CurrentOperator,
    resources: ResourcesDep,
    page: PageDep,
    object_id: Annotated[
        str | None, Query(max_length=200, pattern=TEXT, description="Only actions on this object")
    ] = None,
) -> AuditPage:
    async with resources.session_maker() as session:
        rows = await audit.page(session, limit=page.limit, after=page.after, object_id=object_id)
    kept, next_url = page.page(rows, lambda e: Cursor(key=str(e.id)))
    return AuditPage(items=[AuditEntryView.model_validate(e) for e in kept], next=next_url)
