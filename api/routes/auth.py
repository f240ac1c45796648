"""Customers' accounts and sessions: register, log in, refresh, log out.

Registering stores the customer (``pending_onboarding``) with their postal address and starts
``OnboardingWorkflow``. A CPF or e-mail already registered answers one 409 that does not say which.
Failed log-ins slow down later ones per account and address, never locking anyone out; refresh
tokens rotate, and presenting a used one revokes its family.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictStr, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import CurrentCustomer, ResourcesDep
from api.error_handlers import is_outage
from api.fields import TEXT, DateIn, MoneyIn
from api.openapi import problems
from api.problems import Conflict, ServiceUnavailable, Unauthorized
from api.schemas.address import AddressIn
from api.security import (
    LoginThrottle,
    SessionStore,
    client_address,
    customer_tokens,
    hash_password,
    redis_call,
    verify_password,
)
from api.workflow_calls import timeout
from domain.business_calendar import business_today
from integrations.cpf import is_valid_cpf, normalize_cpf
from storage.models import Customer
from storage.repositories import customers
from workflows.contracts.onboarding import OnboardingInput, onboarding_workflow_id
from workflows.onboarding import OnboardingWorkflow

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/auth", tags=["auth"])

EMAIL = r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
CPF = r"^\d{3}\.?\d{3}\.?\d{3}-?\d{2}$"
PHONE = r"^\+?[1-9]\d{9,14}$"
MIN_AGE_YEARS = 18
MAX_MONTHLY_INCOME = Decimal("100000000.00")


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(min_length=2, max_length=200, pattern=TEXT, examples=["Ana Souza Lima"])]
    email: Annotated[StrictStr, Field(max_length=320, pattern=EMAIL, examples=["ana@example.com"])]
    password: Annotated[SecretStr, Field(min_length=10, max_length=128, description="10 to 128 characters")]
    cpf: Annotated[StrictStr, Field(pattern=CPF, description="11 digits, bare or as 000.000.000-00")]
    birth_date: DateIn
    phone: Annotated[StrictStr, Field(pattern=PHONE, description="Digits with the country code, e.g. +5511987654321")]
    monthly_income: Annotated[MoneyIn, Field(description='Declared monthly income in reais, e.g. "4500.00"')]
    address: Annotated[AddressIn, Field(description="The postal address the contract (CCB) names the borrower with")]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if len(cleaned) < 2 or not any(c.isalpha() for c in cleaned):
            raise PydanticCustomError("name", "must be the customer's full name")
        return cleaned

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("cpf")
    @classmethod
    def _cpf(cls, value: str) -> str:
        if not is_valid_cpf(value):
            raise PydanticCustomError("cpf", "is not a valid CPF")
        return normalize_cpf(value)

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: date) -> date:
        today = business_today()  # an adult in Brasília's calendar
        adult_on = date(
            value.year + MIN_AGE_YEARS, value.month, 28 if (value.month, value.day) == (2, 29) else value.day
        )
        if value.year < 1900 or adult_on > today:
            raise PydanticCustomError("birth_date", "the customer must be an adult born after 1900")
        return value

    @field_validator("monthly_income")
    @classmethod
    def _income(cls, value: Decimal) -> Decimal:
        if not Decimal("0") < value <= MAX_MONTHLY_INCOME:
            raise PydanticCustomError("monthly_income", "must be more than zero and at most 100000000.00")
        return value


class Registered(BaseModel):
    customer_id: uuid.UUID
    status: Literal["pending_onboarding"]
    links: dict[str, str] = Field(description="`me`: the profile and onboarding state; `token`: log in")


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[StrictStr, Field(min_length=3, max_length=320, pattern=TEXT)]
    password: Annotated[SecretStr, Field(min_length=1, max_length=128)]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


class TokenPair(BaseModel):
    access_token: str = Field(description="JWT for `Authorization: Bearer`, valid `expires_in` seconds")
    refresh_token: str = Field(description="Opaque; use once with `POST /v1/auth/refresh`")
    token_type: Literal["bearer"]
    expires_in: int


class AccountUnavailable(Conflict):
    code, title = "account-unavailable", "An account cannot be created with these details"


class InvalidCredentials(Unauthorized):
    code, title = "invalid-credentials", "The e-mail or the password is not right"


@router.post(
    "/register",
    status_code=201,
    response_model=Registered,
    operation_id="register_customer",
    summary="Register a customer; onboarding starts",
    responses=problems(409, 413, 422, 503),
)
async def register(body: RegisterRequest, resources: ResourcesDep, response: Response) -> Registered:
    settings = resources.settings
    password_hash = await hash_password(body.password.get_secret_value())
    customer = customers.new_customer(
        name=body.name,
        email=body.email,
        password_hash=password_hash,
        cpf=body.cpf,
        birth_date=body.birth_date,
        phone=body.phone,
        monthly_income=body.monthly_income,
        address=body.address.to_domain(),
    )
    async with resources.session_maker() as session:
        if await customers.taken(session, cpf=body.cpf, email=body.email):
            raise AccountUnavailable("if you already have an account, log in or reset your password")
        session.add(customer)
        try:
            await session.commit()
        except IntegrityError as exc:  # a concurrent registration with the same CPF or e-mail won
            raise AccountUnavailable("if you already have an account, log in or reset your password") from exc
    customer_id = str(customer.id)
    try:
        await resources.temporal.start_workflow(
            OnboardingWorkflow.run,
            OnboardingInput(customer_id=customer_id, declared_name=body.name, declared_birth_date=body.birth_date),
            id=onboarding_workflow_id(customer_id),
            task_queue=settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=timeout(settings),
        )
    except WorkflowAlreadyStartedError:
        pass
    except Exception as exc:
        # Onboarding did not start: keep nothing, so the customer can simply register again.
        async with resources.session_maker() as session, session.begin():
            await session.execute(delete(Customer).where(Customer.id == customer.id))
        log.warning("customer.registration_undone", customer_id=customer_id, error=type(exc).__name__)
        if not is_outage(exc):
            raise  # our own error: a 500, logged with its traceback
        raise ServiceUnavailable("onboarding could not start; nothing was kept, try again") from exc
    log.info("customer.registered", customer_id=customer_id)
    response.headers["Location"] = "/v1/me"
    return Registered(
        customer_id=customer.id,
        status="pending_onboarding",
        links={"me": "/v1/me", "token": "/v1/auth/token"},
    )


@router.post(
    "/token",
    response_model=TokenPair,
    operation_id="issue_customer_token",
    summary="Log in with e-mail and password",
    responses=problems(401, 413, 422, 429, 503),
)
async def issue_token(body: TokenRequest, request: Request, resources: ResourcesDep) -> TokenPair:
    auth = resources.settings.auth
    email = body.email.strip().lower()
    throttle = LoginThrottle(auth, resources.redis, scope="customer")
    address = client_address(request, resources.settings.api.trusted_proxies)
    await redis_call(throttle.attempt(address, email))
    async with resources.session_maker() as session:
        customer = await customers.by_email(session, email)
        if not await verify_password(customer.password_hash if customer else None, body.password.get_secret_value()):
            await redis_call(throttle.failed(address, email))
            log.info("auth.login_failed")
            raise InvalidCredentials()
        assert customer is not None
        await redis_call(throttle.succeeded(address, email))
        issued = await SessionStore(auth, resources.redis).start(session, "customer", customer.id)
        await session.commit()
    access = customer_tokens(auth).issue(customer.id, issued.family_id, "customer")
    log.info("auth.logged_in", customer_id=str(customer.id))
    return TokenPair(
        access_token=access.token, refresh_token=issued.token, token_type="bearer", expires_in=access.expires_in
    )


@router.post(
    "/refresh",
    response_model=TokenPair,
    operation_id="refresh_customer_token",
    summary="Trade a refresh token for a new pair; a reused one revokes the session",
    responses=problems(401, 413, 422, 503),
)
async def refresh(body: RefreshRequest, resources: ResourcesDep) -> TokenPair:
    auth = resources.settings.auth
    store = SessionStore(auth, resources.redis)
    async with resources.session_maker() as session:
        issued = await redis_call(store.rotate(session, body.refresh_token, "customer"))
    access = customer_tokens(auth).issue(issued.subject_id, issued.family_id, "customer")
    return TokenPair(
        access_token=access.token, refresh_token=issued.token, token_type="bearer", expires_in=access.expires_in
    )


@router.post(
    "/logout",
    status_code=204,
    operation_id="logout_customer",
    summary="End this session: its refresh tokens and access tokens stop working",
    responses=problems(401, 503),
)
async def logout(customer: CurrentCustomer, resources: ResourcesDep) -> Response:
    async with resources.session_maker() as session:
        await redis_call(SessionStore(resources.settings.auth, resources.redis).revoke(session, customer.session_id))
    log.info("auth.logged_out", customer_id=str(customer.customer_id))
    return Response(status_code=204)
