"""`GET /v1/me`: the caller's profile and where their onboarding stands; `PUT /v1/me/address`: the
caller's postal address, which the contract (CCB) names them with (customers registered before the
address was asked at sign-up add it here: the contract step waits for it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CurrentCustomer, ResourcesDep
from api.fields import MoneyOut
from api.openapi import problems
from api.problems import NotFound
from api.schemas.address import AddressIn, AddressView
from api.workflow_calls import enrichment_timeout, maybe
from integrations.cpf import mask_cpf
from storage.repositories import customers
from workflows.contracts.onboarding import OnboardingStatus, onboarding_workflow_id
from workflows.onboarding import OnboardingWorkflow

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["customers"])


class OnboardingView(BaseModel):
    step: str = Field(description="cpf_check, documents, kyc_decision or done")
    missing_documents: list[str]
    outcome: str | None = None
    reason: str | None = None


class Profile(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    cpf: str = Field(description="Masked: ***.456.789-**")
    birth_date: date
    phone: str
    monthly_income: MoneyOut
    address: AddressView | None = Field(
        default=None, description="The postal address; null for a customer registered before it was asked"
    )
    status: str = Field(description="pending_onboarding, active, rejected or onboarding_expired")
    status_reason: str | None = None
    created_at: datetime
    onboarding: OnboardingView | None = Field(
        default=None, description="The onboarding workflow's state while it runs (null when it cannot answer)"
    )


@router.get(
    "/me",
    response_model=Profile,
    operation_id="get_me",
    summary="The caller's profile and onboarding state",
    responses=problems(401, 404, 503),
)
async def me(caller: CurrentCustomer, resources: ResourcesDep) -> Profile:
    async with resources.session_maker() as session:
        customer = await customers.by_id(session, caller.customer_id)
    if customer is None:
        raise NotFound("no such customer")
    onboarding: OnboardingStatus | None = None
    if customer.status == "pending_onboarding":
        handle = resources.temporal.get_workflow_handle(onboarding_workflow_id(str(customer.id)))
        onboarding = await maybe(
            handle.query(OnboardingWorkflow.status, rpc_timeout=enrichment_timeout(resources.settings))
        )
    return Profile(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        cpf=mask_cpf(customer.cpf),
        birth_date=customer.birth_date,
        phone=customer.phone,
        monthly_income=customer.monthly_income,
        address=AddressView.of(customer.address) if customer.address is not None else None,
        status=customer.status,
        status_reason=customer.status_reason,
        created_at=customer.created_at,
        onboarding=OnboardingView(
            step=onboarding.step,
            missing_documents=list(onboarding.missing_documents),
            outcome=onboarding.outcome,
            reason=onboarding.reason,
        )
        if onboarding
        else None,
    )


@router.put(
    "/me/address",
    response_model=AddressView,
    operation_id="put_my_address",
    summary="Set or replace the caller's postal address",
    responses=problems(401, 404, 413, 422, 503),
)
async def put_address(body: AddressIn, caller: CurrentCustomer, resources: ResourcesDep) -> AddressView:
    address = body.to_domain()
    async with resources.session_maker() as session, session.begin():
        customer = await customers.set_address(session, caller.customer_id, address)
    if customer is None:
        raise NotFound("no such customer")
    log.info("customer.address_changed", customer_id=str(caller.customer_id))
    return AddressView.of(address)
