"""The customer's loans: apply, follow, accept the offer, cancel, installments, early payoff.

`POST /v1/loans` needs an ``Idempotency-Key``: the key and the application are written in one
transaction, so any number of identical requests make one application, and the workflow is started
under the application's deterministic id (``loan-{id}``), so a second start is a no-op. The same key
with another body answers 422. Every route looks the application up by id *and* caller, so another
customer's id answers 404.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Header, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import CurrentCustomer, CustomerPrincipal, Resources, ResourcesDep
from api.error_handlers import is_outage
from api.fields import DateIn, MoneyIn, MoneyOut
from api.openapi import problems
from api.pagination import PageDep
from api.problems import Conflict, LendflowError, NotFound, ServiceUnavailable, UnprocessableEntity
from api.schemas.loans import (
    InstallmentPage,
    InstallmentView,
    LoanApplicationView,
    LoanPage,
    LoanSummary,
    OfferView,
    application_view,
    links_of,
)
from api.workflow_calls import WorkflowRefused, enrichment_timeout, maybe, queried, timeout, updated
from domain.business_calendar import business_today
from domain.credit_policy import CreditPolicy
from lendflow.settings import Settings
from storage.keyset import Cursor
from storage.models import LoanApplication
from storage.repositories import loans
from workflows.contracts.origination import (
    TERMINAL_STATUSES,
    AcceptOffer,
    ApplicationStatus,
    CancellationRequest,
    LoanApplicationInput,
    OriginationPolicy,
    ProductLimits,
    loan_workflow_id,
)
from workflows.contracts.servicing import EarlySettlementRequest, PayoffQuoteRequest, servicing_workflow_id
from workflows.origination import LoanOriginationWorkflow
from workflows.servicing import ServicingWorkflow

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/loans", tags=["loans"])

IDEMPOTENCY_KEY = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Your unique key for this submission (a UUID is fine); repeat it to retry safely",
    ),
]
ApplicationId = Annotated[uuid.UUID, Path(description="The application's id (a disbursed loan keeps it)")]


def origination_policy(settings: Settings) -> OriginationPolicy:
    product = settings.origination
    return OriginationPolicy(
        credit=CreditPolicy(),
        limits=ProductLimits(
            min_amount=product.min_amount,
            max_amount=product.max_amount,
            min_term_months=product.min_term_months,
            max_term_months=product.max_term_months,
        ),
        offer_ttl=timedelta(seconds=product.offer_ttl_seconds),
        review_escalate_after=timedelta(seconds=product.review_escalate_after_seconds),
        review_decline_after=timedelta(seconds=product.review_decline_after_seconds),
        signature_reminder_every=timedelta(seconds=product.signature_reminder_every_seconds),
        signature_ttl=timedelta(seconds=product.signature_ttl_seconds),
        payout_settlement_timeout=timedelta(seconds=product.payout_settlement_timeout_seconds),
        servicing_charge_lead=timedelta(days=product.servicing_charge_lead_days),
        retrying_after=timedelta(seconds=product.retrying_after_seconds),
    )


# --- Models ---------------------------------------------------------------------------------------


class LoanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[MoneyIn, Field(description='Amount asked, in reais, e.g. "5000.00"')]
    term_months: Annotated[StrictInt, Field(ge=1, le=420, description="Number of monthly installments")]
    amortization: Literal["price", "sac"]


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class AcceptedOffer(BaseModel):
    application_id: uuid.UUID
    offer: OfferView
    accepted_at: datetime
    links: dict[str, str]


class CancellationAcceptedView(BaseModel):
    application_id: uuid.UUID
    status_when_requested: ApplicationStatus
    links: dict[str, str]


class PayoffQuoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settle_on: DateIn | None = Field(default=None, description="Defaults to today (Brasília)")


class PayoffQuoteView(BaseModel):
    settle_on: date
    amount: MoneyOut
    interest_reduction: MoneyOut
    remaining_installments: int


class PixChargeView(BaseModel):
    txid: str
    amount: MoneyOut
    br_code: str = Field(description="PIX copia e cola")
    payment_url: str | None = None
    expires_at: datetime


class EarlySettlementView(BaseModel):
    application_id: uuid.UUID
    quote: PayoffQuoteView
    charge: PixChargeView


class IdempotencyKeyReused(UnprocessableEntity):
    code, title = "idempotency-key-reused", "This Idempotency-Key was used with another body"


class NotInServicing(Conflict):
    code, title = "not-in-servicing", "The loan is not being repaid (not disbursed, or already paid off)"


class CannotQuote(UnprocessableEntity):
    code, title = "cannot-quote", "No payoff can be quoted for that date"


# --- Helpers --------------------------------------------------------------------------------------


def _request_hash(body: LoanRequest) -> str:
    canonical = {"amount": f"{body.amount:.2f}", "term_months": body.term_months, "amortization": body.amortization}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _check_product(body: LoanRequest, settings: Settings) -> None:
    product = settings.origination
    errors: list[dict[str, Any]] = []
    if not product.min_amount <= body.amount <= product.max_amount:
        errors.append(
            {
                "loc": ("body", "amount"),
                "msg": f"must be between {product.min_amount} and {product.max_amount}",
                "type": "amount_limits",
            }
        )
    if not product.min_term_months <= body.term_months <= product.max_term_months:
        errors.append(
            {
                "loc": ("body", "term_months"),
                "msg": f"must be between {product.min_term_months} and {product.max_term_months}",
                "type": "term_limits",
            }
        )
    if errors:
        raise RequestValidationError(errors)


async def _own(resources: Resources, caller: CustomerPrincipal, application_id: uuid.UUID) -> LoanApplication:
    async with resources.session_maker() as session:
        application = await loans.of_customer(session, caller.customer_id, application_id)
    if application is None:
        raise NotFound("no such loan application")
    return application


def _submitted_body(body: LoanRequest, application_id: uuid.UUID, created_at: datetime) -> dict[str, Any]:
    view = LoanApplicationView(
        id=application_id,
        status=ApplicationStatus.SUBMITTED,
        amount=body.amount,
        term_months=body.term_months,
        amortization=body.amortization,
        created_at=created_at,
        updated_at=created_at,
        links=links_of(application_id),
    )
    return view.model_dump(mode="json")


_COMMON = (401, 404, 422, 503)


# --- Routes ---------------------------------------------------------------------------------------


@router.post(
    "",
    status_code=202,
    response_model=LoanApplicationView,
    operation_id="apply_for_loan",
    summary="Apply for a loan (idempotent with Idempotency-Key); the analysis starts",
    responses=problems(401, 413, 422, 503),
    openapi_extra={
        "responses": {
            "202": {
                "links": {
                    name: {"operationId": operation, "parameters": {"application_id": "$response.body#/id"}}
                    for name, operation in (
                        ("GetLoan", "get_loan"),
                        ("AcceptOffer", "accept_offer"),
                        ("CancelLoan", "cancel_loan"),
                        ("ListInstallments", "list_installments"),
                        ("QuotePayoff", "quote_payoff"),
                        ("PayOffLoan", "pay_off_loan"),
                    )
                }
            }
        }
    },
)
async def apply_for_loan(
    body: LoanRequest, idempotency_key: IDEMPOTENCY_KEY, caller: CurrentCustomer, resources: ResourcesDep
) -> JSONResponse:
    settings = resources.settings
    _check_product(body, settings)
    request_hash = _request_hash(body)
    claim, created = await loans.submit(
        resources.session_maker,
        customer_id=caller.customer_id,
        key=idempotency_key,
        request_hash=request_hash,
        amount=body.amount,
        term_months=body.term_months,
        amortization=body.amortization,
        response_body=lambda application_id, created_at: _submitted_body(body, application_id, created_at),
    )
    if claim.request_hash != request_hash:
        raise IdempotencyKeyReused("send a new Idempotency-Key for a different application")
    application_id = str(claim.application_id)
    try:
        await resources.temporal.start_workflow(
            LoanOriginationWorkflow.run,
            LoanApplicationInput(
                application_id=application_id,
                customer_id=str(caller.customer_id),
                amount=body.amount,
                term_months=body.term_months,
                amortization=body.amortization,
                policy=origination_policy(settings),
            ),
            id=loan_workflow_id(application_id),
            task_queue=settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=timeout(settings),
        )
        if created:
            log.info("loan.submitted", application_id=application_id, amount=str(body.amount))
    except WorkflowAlreadyStartedError:
        pass  # a retry, or a concurrent twin: the one workflow of this application runs
    except Exception as exc:
        log.warning("loan.start_failed", application_id=application_id, error=type(exc).__name__)
        if not is_outage(exc):
            raise  # our own error: a 500, logged with its traceback
        # Temporal unreachable: the key is kept, so the same request retried starts it.
        raise ServiceUnavailable("the application is recorded but its analysis could not start; retry") from exc
    return JSONResponse(
        claim.response_body, status_code=claim.response_status, headers={"Location": f"/v1/loans/{application_id}"}
    )


@router.get(
    "",
    response_model=LoanPage,
    operation_id="list_loans",
    summary="The caller's loan applications, newest first",
    responses=problems(401, 422),
)
async def list_loans(
    caller: CurrentCustomer,
    resources: ResourcesDep,
    page: PageDep,
    status: Annotated[ApplicationStatus | None, Query(description="Only applications in this status")] = None,
) -> LoanPage:
    async with resources.session_maker() as session:
        rows = await loans.page_of_customer(
            session, caller.customer_id, status=status, limit=page.limit, after=page.after
        )
    kept, next_url = page.page(rows, lambda r: Cursor(key=str(r.id), at=r.created_at))
    return LoanPage(items=[LoanSummary.of(r) for r in kept], next=next_url)


@router.get(
    "/{application_id}",
    response_model=LoanApplicationView,
    operation_id="get_loan",
    summary="An application: status, offer, schedule and the steps so far",
    responses=problems(401, 404, 422),
)
async def get_loan(
    application_id: ApplicationId, caller: CurrentCustomer, resources: ResourcesDep
) -> LoanApplicationView:
    application = await _own(resources, caller, application_id)
    live = None
    if application.status not in TERMINAL_STATUSES:
        handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application.id)))
        live = await maybe(
            handle.query(LoanOriginationWorkflow.state, rpc_timeout=enrichment_timeout(resources.settings))
        )
    installments = None
    signing_url = None
    async with resources.session_maker() as session:
        if application.status == "disbursed":
            installments = await loans.installments(session, application.id, limit=1000, after=None)
        elif application.status == "contract_sent":
            signing_url = await loans.signing_url(session, application.id)
    return LoanApplicationView(
        **application_view(application, live=live, installments=installments, signing_url=signing_url)
    )


@router.post(
    "/{application_id}/accept",
    response_model=AcceptedOffer,
    operation_id="accept_offer",
    summary="Accept the offer (its offer_id must be the current one, and not expired)",
    responses=problems(*_COMMON, 409, 413),
)
async def accept_offer(
    application_id: ApplicationId, body: AcceptRequest, caller: CurrentCustomer, resources: ResourcesDep
) -> AcceptedOffer:
    await _own(resources, caller, application_id)
    handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
    accepted = await updated(
        handle.execute_update(
            LoanOriginationWorkflow.accept_offer,
            AcceptOffer(offer_id=body.offer_id, accepted_by=str(caller.customer_id)),
            rpc_timeout=timeout(resources.settings),
        )
    )
    offer = OfferView.of(accepted.offer)
    assert offer is not None
    log.info("loan.offer_accepted", application_id=str(application_id))
    return AcceptedOffer(
        application_id=application_id, offer=offer, accepted_at=accepted.accepted_at, links=links_of(application_id)
    )


@router.post(
    "/{application_id}/cancel",
    status_code=202,
    response_model=CancellationAcceptedView,
    operation_id="cancel_loan",
    summary="Cancel the application; what was done is undone (limit, envelope)",
    responses=problems(*_COMMON, 409),
)
async def cancel_loan(
    application_id: ApplicationId, caller: CurrentCustomer, resources: ResourcesDep
) -> CancellationAcceptedView:
    application = await _own(resources, caller, application_id)
    if application.status in TERMINAL_STATUSES:
        raise _closed(application)
    handle = resources.temporal.get_workflow_handle(loan_workflow_id(str(application_id)))
    accepted = await updated(
        handle.execute_update(
            LoanOriginationWorkflow.request_cancellation,
            CancellationRequest(requested_by=str(caller.customer_id), reason="customer_request"),
            rpc_timeout=timeout(resources.settings),
        )
    )
    log.info("loan.cancellation_requested", application_id=str(application_id))
    return CancellationAcceptedView(
        application_id=application_id,
        status_when_requested=accepted.status_when_requested,
        links=links_of(application_id),
    )


def _closed(application: LoanApplication) -> LendflowError:
    return WorkflowRefused("NotCancellable", f"the application is {application.status}")


@router.get(
    "/{application_id}/installments",
    response_model=InstallmentPage,
    operation_id="list_installments",
    summary="The loan's installments, in order (empty until it is disbursed)",
    responses=problems(401, 404, 422),
)
async def list_installments(
    application_id: ApplicationId, caller: CurrentCustomer, resources: ResourcesDep, page: PageDep
) -> InstallmentPage:
    await _own(resources, caller, application_id)
    async with resources.session_maker() as session:
        rows = await loans.installments(session, application_id, limit=page.limit, after=page.after)
        charges = await loans.open_charges(session, application_id)
    kept, next_url = page.page(rows, lambda i: Cursor(key=str(i.number)))
    return InstallmentPage(items=[InstallmentView.of(i, charges.get(i.number)) for i in kept], next=next_url)


def _today() -> date:
    return business_today()


@router.post(
    "/{application_id}/payoff-quote",
    response_model=PayoffQuoteView,
    operation_id="quote_payoff",
    summary="What paying the whole loan off on a date would cost",
    responses=problems(*_COMMON, 409, 413),
)
async def quote_payoff(
    application_id: ApplicationId, caller: CurrentCustomer, resources: ResourcesDep, body: PayoffQuoteBody | None = None
) -> PayoffQuoteView:
    application = await _own(resources, caller, application_id)
    if application.status != "disbursed":
        raise NotInServicing(f"the application is {application.status}")
    # A query's clock is the workflow's last task, possibly weeks old: always quote for a real date.
    settle_on = body.settle_on if body and body.settle_on else _today()
    if settle_on < _today():
        raise RequestValidationError(
            [{"loc": ("body", "settle_on"), "msg": "must be today or later", "type": "settle_on_past"}]
        )
    if settle_on > _today() + timedelta(days=366 * 35):
        raise RequestValidationError(
            [{"loc": ("body", "settle_on"), "msg": "must be within 35 years", "type": "settle_on_too_far"}]
        )
    handle = resources.temporal.get_workflow_handle(servicing_workflow_id(str(application_id)))
    try:
        quote = await queried(
            handle.query(
                ServicingWorkflow.payoff_quote,
                PayoffQuoteRequest(settle_on=settle_on),
                rpc_timeout=timeout(resources.settings),
            )
        )
    except LendflowError as exc:
        if exc.status == 409 and exc.code == "refused":
            raise CannotQuote(str(exc.detail or "")[:300]) from exc
        if exc.code in ("closed", "not-running"):
            raise NotInServicing() from exc
        raise
    return PayoffQuoteView(
        settle_on=quote.settle_on,
        amount=quote.amount,
        interest_reduction=quote.interest_reduction,
        remaining_installments=quote.remaining_installments,
    )


@router.post(
    "/{application_id}/payoff",
    status_code=201,
    response_model=EarlySettlementView,
    operation_id="pay_off_loan",
    summary="Settle the loan early: a PIX charge for today's payoff amount",
    responses=problems(*_COMMON, 409),
)
async def pay_off_loan(
    application_id: ApplicationId, caller: CurrentCustomer, resources: ResourcesDep
) -> EarlySettlementView:
    application = await _own(resources, caller, application_id)
    if application.status != "disbursed":
        raise NotInServicing(f"the application is {application.status}")
    handle = resources.temporal.get_workflow_handle(servicing_workflow_id(str(application_id)))
    try:
        settlement = await updated(
            handle.execute_update(
                ServicingWorkflow.settle_early,
                EarlySettlementRequest(requested_by=str(caller.customer_id)),
                rpc_timeout=timeout(resources.settings),
            )
        )
    except LendflowError as exc:
        if exc.code in ("closed", "not-running"):
            raise NotInServicing() from exc
        raise
    log.info("loan.payoff_requested", application_id=str(application_id), txid=settlement.charge.txid)
    quote, charge = settlement.quote, settlement.charge
    return EarlySettlementView(
        application_id=application_id,
        quote=PayoffQuoteView(
            settle_on=quote.settle_on,
            amount=quote.amount,
            interest_reduction=quote.interest_reduction,
            remaining_installments=quote.remaining_installments,
        ),
        charge=PixChargeView(
            txid=charge.txid,
            amount=charge.amount,
            br_code=charge.br_code,
            payment_url=charge.payment_url,
            expires_at=charge.expires_at,
        ),
    )
