"""What a request handler may depend on: created once in `lifespan`, kept on app state.

Handlers take these through the `Annotated` aliases below, never by building clients themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
import redis.exceptions
import structlog
from confluent_kafka.admin import AdminClient
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.problems import ServiceUnavailable
from api.security import AccessTokens, InvalidToken, SessionStore, codec_tokens, customer_tokens, operator_tokens
from integrations.factory import ProviderClients
from lendflow.settings import Settings
from pipeline.intake import EventProducer
from storage.repositories import operators


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    kafka_admin: AdminClient
    temporal: Client
    # The provider clients (ECM for documents) and the producer of lending.incoming (webhooks,
    # documents); built in lifespan, closed on shutdown.
    providers: ProviderClients | None = None
    events: EventProducer | None = None


# These only read app state: async, so FastAPI calls them inline instead of hopping to its threadpool.
async def get_resources(request: Request) -> Resources:
    return request.app.state.resources


async def get_session(resources: Annotated[Resources, Depends(get_resources)]) -> AsyncIterator[AsyncSession]:
    async with resources.session_maker() as session:
        yield session


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (set by `create_app`, available without the lifespan)."""
    return request.app.state.settings


async def get_temporal(resources: Annotated[Resources, Depends(get_resources)]) -> Client:
    return resources.temporal


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TemporalClientDep = Annotated[Client, Depends(get_temporal)]


async def get_providers(resources: ResourcesDep) -> ProviderClients:
    if resources.providers is None:  # pragma: no cover - lifespan always builds them
        raise RuntimeError("the provider clients were not built")
    return resources.providers


async def get_events(resources: ResourcesDep) -> EventProducer:
    if resources.events is None:  # pragma: no cover - lifespan always builds it
        raise RuntimeError("the event producer was not built")
    return resources.events


ProvidersDep = Annotated[ProviderClients, Depends(get_providers)]
EventProducerDep = Annotated[EventProducer, Depends(get_events)]


# --- Who is calling ----------------------------------------------------------------------------

customer_bearer = HTTPBearer(
    scheme_name="CustomerToken",
    description="A customer's access token from `POST /v1/auth/token` (JWT, 15 minutes).",
    auto_error=False,
)
operator_bearer = HTTPBearer(
    scheme_name="OperatorToken",
    description="An operator's access token from `POST /v1/ops/auth/token` (JWT, role `ops`).",
    auto_error=False,
)
# The browser session of an operator for the Temporal UI's codec calls (`POST /codec/session`):
# the same operator access token, in an HttpOnly cookie scoped to `/codec`. No other route reads it.
OPS_CODEC_COOKIE = "lendflow_ops_codec"
operator_codec_cookie = APIKeyCookie(
    name=OPS_CODEC_COOKIE,
    scheme_name="OperatorCodecSession",
    description="The operator's codec session cookie, set by `POST /codec/session` (Temporal UI only).",
    auto_error=False,
)


@dataclass(frozen=True)
class CustomerPrincipal:
    customer_id: uuid.UUID
    session_id: uuid.UUID


@dataclass(frozen=True)
class OperatorPrincipal:
    operator_id: uuid.UUID
    username: str
    session_id: uuid.UUID

    @property
    def actor(self) -> str:
        """How the operator is named to workflows (reviewer, operator, requested_by)."""
        return f"ops:{self.username}"


async def current_customer(
    resources: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(customer_bearer)],
) -> CustomerPrincipal:
    if credentials is None:
        raise InvalidToken("a bearer access token is required")
    claims = customer_tokens(resources.settings.auth).verify(credentials.credentials, role="customer")
    if await _session_revoked(resources, claims.session_id):
        raise InvalidToken("the session was revoked")
    structlog.contextvars.bind_contextvars(customer_id=str(claims.subject))
    return CustomerPrincipal(customer_id=claims.subject, session_id=claims.session_id)


async def current_operator(
    resources: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)],
) -> OperatorPrincipal:
    if credentials is None:
        raise InvalidToken("a bearer access token is required")
    return await operator_from_token(resources, credentials.credentials)


async def codec_operator(
    resources: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)],
    cookie: Annotated[str | None, Depends(operator_codec_cookie)],
) -> OperatorPrincipal:
    """An operator by bearer token (tools) or by the codec session cookie (the Temporal UI)."""
    if credentials is not None:
        return await operator_from_token(resources, credentials.credentials)
    if not cookie:
        raise InvalidToken("an operator bearer token or the codec session cookie is required")
    return await operator_from_token(resources, cookie, tokens=codec_tokens(resources.settings.auth))


async def operator_from_token(
    resources: Resources, token: str, *, tokens: AccessTokens | None = None
) -> OperatorPrincipal:
    """The operator of an access token (by default the ops API's), still active, session not revoked."""
    claims = (tokens or operator_tokens(resources.settings.auth)).verify(token, role="ops")
    if await _session_revoked(resources, claims.session_id):
        raise InvalidToken("the session was revoked")
    async with resources.session_maker() as session:
        operator = await operators.by_id(session, claims.subject)
    if operator is None or not operator.active or operator.role != "ops":
        raise InvalidToken("the operator is not active")
    structlog.contextvars.bind_contextvars(operator=operator.username)
    return OperatorPrincipal(operator_id=operator.id, username=operator.username, session_id=claims.session_id)


async def _session_revoked(resources: Resources, session_id: uuid.UUID) -> bool:
    try:
        return await SessionStore(resources.settings.auth, resources.redis).is_revoked(session_id)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        # Redis down: refuse rather than accept a session we cannot check.
        raise ServiceUnavailable("the session store is not reachable") from exc


CurrentCustomer = Annotated[CustomerPrincipal, Depends(current_customer)]
CurrentOperator = Annotated[OperatorPrincipal, Depends(current_operator)]
CodecOperator = Annotated[OperatorPrincipal, Depends(codec_operator)]
