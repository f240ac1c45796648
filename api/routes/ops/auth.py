"""Operators' log-in: their own credentials, token audience (`lendflow-ops`) and shift-long sessions.

`POST /codec/session` reuses :func:`log_in_operator` and :func:`end_operator_session` for the
Temporal UI's cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictStr

from api.deps import CurrentOperator, OperatorPrincipal, Resources, ResourcesDep
from api.fields import TEXT
from api.openapi import problems
from api.problems import Unauthorized
from api.routes.auth import RefreshRequest
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
from storage.models import Operator
from storage.repositories import operators

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/ops", tags=["ops"])


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
