"""The BFF's FastAPI application: `api.main:app`.

Engines and clients are created in `lifespan` and kept on `app.state.resources`; nothing connects
at import time. Errors are answered as `application/problem+json` (see `api.problems`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import structlog
from confluent_kafka.admin import AdminClient
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import Resources
from api.error_handlers import install_error_handlers
from api.limits import BodySizeLimitMiddleware, limit_for_path
from api.metrics import install_metrics
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.routes import auth, codec, customers, documents, health, jwks, loans, ops, simulations, webhooks
from api.security import check_auth_settings, hash_password
from integrations.factory import ProviderClients
from lendflow.logging import configure_logging
from lendflow.settings import Settings, get_settings
from lendflow.temporal import connect
from pipeline.intake import EventProducer
from storage.db import create_engine, create_session_maker
from storage.repositories.operators import ensure_operator

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Takes the caller's request id (or makes one), binds it to every log line, and returns it.

    Plain ASGI: `BaseHTTPMiddleware` would run each request in a task of its own behind memory streams.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_request_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_auth_settings(settings.auth, settings.environment)
        configure_logging(settings)
        engine = create_engine(settings.postgres)
        redis = aioredis.from_url(settings.redis.url.get_secret_value(), socket_timeout=2, socket_connect_timeout=2)
        kafka_admin = AdminClient(
            {"bootstrap.servers": settings.kafka.bootstrap_servers, "socket.connection.setup.timeout.ms": 2000}
        )
        temporal = await connect(settings.temporal, lazy=True)
        providers = ProviderClients.from_settings(settings)
        events = EventProducer(settings)
        app.state.resources = Resources(
            settings=settings,
            engine=engine,
            session_maker=create_session_maker(engine),
            redis=redis,
            kafka_admin=kafka_admin,
            temporal=temporal,
            providers=providers,
            events=events,
        )
        if settings.auth.ops_bootstrap_username and settings.auth.ops_bootstrap_password:
            bootstrap_password = settings.auth.ops_bootstrap_password.get_secret_value()
            await ensure_operator(
                app.state.resources.session_maker,
                settings.auth.ops_bootstrap_username,
                lambda: hash_password(bootstrap_password),
            )
        try:
            yield
        finally:
            # Every event answered 2xx was acknowledged already; what is still in flight belongs to
            # a request that gets (or got) a 503, so waiting longer than that request would is moot.
            await asyncio.to_thread(events.close, settings.api.produce_timeout_seconds)
            await providers.aclose()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Lendflow API",
        version="0.1.0",
        description="The BFF of the Lendflow loan origination engine: customers, loans, operations, webhooks.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimitMiddleware, limit_for=limit_for_path(settings))
    app.add_middleware(RequestIdMiddleware)
    # Browsers that may call the API: the Temporal UI (the codec endpoint, with the operator's
    # credentials) and the customers' app (`api.cors_origins`). One middleware: a second one would
    # refuse the first one's preflights.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[
            settings.temporal.ui_url,
            settings.temporal.ui_url.replace("127.0.0.1", "localhost"),
            *settings.api.cors_origins,
        ],
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Location", "Retry-After"],
        allow_credentials=True,
    )
    install_metrics(app)
    install_problem_handlers(app)
    routers = (health, simulations, auth, jwks, customers, documents, loans, webhooks, ops, codec)
    for module in routers:
        app.include_router(module.router)
    install_openapi(app)
    install_error_handlers(app)
    return app


app = create_app()
