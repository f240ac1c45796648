"""The BFF's FastAPI application: `api.main:app`.

Engines and clients are created in `lifespan` and kept on `app.state.resources`; nothing connects
at import time. Errors are answered as `application/problem+json` (see `api.problems`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import structlog
from confluent_kafka.admin import AdminClient
from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api.deps import Resources
from api.problems import install_problem_handlers
from api.routes import health, simulations
from lendflow.logging import configure_logging
from lendflow.settings import Settings, get_settings
from lendflow.temporal import connect
from storage.db import create_engine, create_session_maker

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware(BaseHTTPMiddleware):
    """Takes the caller's request id (or makes one), binds it to every log line, and returns it."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else str(uuid.uuid4())
        request.state.request_id = request_id
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        engine = create_engine(settings.postgres)
        redis = aioredis.from_url(settings.redis.url.get_secret_value(), socket_timeout=2, socket_connect_timeout=2)
        kafka_admin = AdminClient(
            {"bootstrap.servers": settings.kafka.bootstrap_servers, "socket.connection.setup.timeout.ms": 2000}
        )
        temporal = await connect(settings.temporal, lazy=True)
        app.state.resources = Resources(
            settings=settings,
            engine=engine,
            session_maker=create_session_maker(engine),
            redis=redis,
            kafka_admin=kafka_admin,
            temporal=temporal,
        )
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Lendflow API",
        version="0.1.0",
        description="The BFF of the Lendflow loan origination engine: customers, loans, operations, webhooks.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(simulations.router)
    return app


app = create_app()
