"""A programming error answers 500 problem+json and is logged with its traceback (masked); only a
dependency that cannot be reached answers 503 "retry later"."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, NoReturn

import httpx
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import free_port, register_and_login, registration
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from test_loans import LOAN
from test_ops import ops_login
from test_outages import without_temporal

from api.error_handlers import is_outage
from api.main import create_app
from api.routes import auth as auth_routes
from api.routes import loans as loan_routes
from api.routes.ops import dead_letters as dead_letter_routes
from api.security import SessionStore
from lendflow.settings import Settings
from storage.models import Customer

PROBLEM = "application/problem+json"
PROBLEMS = "https://lendflow.dev/problems/"
# A CPF-shaped number in the error's message: the log line must carry it masked only.
CPF_IN_MESSAGE = "52998224725"


def broken(*_: Any, **__: Any) -> NoReturn:
    raise TypeError(f"a bug of ours, about {CPF_IN_MESSAGE}")


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over ASGI, answering what its error handlers answer: an error the app re-raises
    after its 500 answer (as Starlette does, for the server to log) does not fail the client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=30) as client:
            yield client


def assert_internal_error(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == PROBLEMS + "internal-error"
    assert "detail" not in body  # the error is logged, never returned
    assert CPF_IN_MESSAGE not in response.text


async def test_a_bug_while_starting_the_analysis_answers_500_logged_with_its_masked_traceback(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(loan_routes, "origination_policy", broken)
    async with served(api_settings) as api:
        account = await register_and_login(api)
        capsys.readouterr()
        response = await api.post(
            "/v1/loans", json=LOAN, headers={**account.headers, "Idempotency-Key": str(uuid.uuid4())}
        )

    assert_internal_error(response)
    logged = capsys.readouterr().err
    assert "api.unexpected_error" in logged
    assert "origination_policy" in logged and "raise TypeError" in logged  # the traceback's frames
    assert "***.982.247-**" in logged and CPF_IN_MESSAGE not in logged


async def test_a_bug_while_starting_onboarding_answers_500_and_keeps_no_customer(
    api_settings: Settings, session_maker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_routes, "timeout", broken)
    body = registration()
    async with served(api_settings) as api:
        response = await api.post("/v1/auth/register", json=body)

    assert_internal_error(response)
    async with session_maker() as session:
        assert (
            await session.scalar(select(func.count()).select_from(Customer).where(Customer.email == body["email"])) == 0
        )


async def test_a_bug_in_the_session_check_answers_500_not_503(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(api_settings) as api:
        account = await register_and_login(api)
        monkeypatch.setattr(SessionStore, "is_revoked", broken)
        response = await api.get("/v1/me", headers=account.headers)

    assert_internal_error(response)


async def test_a_bug_while_reading_dead_letters_answers_500_not_503(
    api_settings: Settings, new_operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dead_letter_routes, "read_letter_page", broken)
    async with served(api_settings) as api:
        headers = await ops_login(api, await new_operator())
        response = await api.get("/v1/ops/dead-letters", headers=headers)

    assert_internal_error(response)


async def test_with_temporal_not_reachable_an_update_answers_503_not_500(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    account = await register_and_login(api)
    applied = await api.post("/v1/loans", json=LOAN, headers={**account.headers, "Idempotency-Key": str(uuid.uuid4())})
    assert applied.status_code == 202

    async with served(without_temporal(api_settings)) as down:
        cancel = await down.post(f"/v1/loans/{applied.json()['id']}/cancel", headers=account.headers)

    assert cancel.status_code == 503
    assert cancel.headers["content-type"] == PROBLEM
    assert cancel.json()["type"] == PROBLEMS + "service-unavailable"
    assert "Retry-After" in cancel.headers


async def test_outages_are_told_from_our_own_errors() -> None:
    # The real error of the API's lazy Temporal client whose first connection fails.
    lazy = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    with pytest.raises(RuntimeError) as first_connect:
        await lazy.start_workflow("Nothing", id=str(uuid.uuid4()), task_queue="none", rpc_timeout=timedelta(seconds=2))

    assert is_outage(first_connect.value)
    assert is_outage(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""))
    assert is_outage(sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError()))
    assert not is_outage(RPCError("bad request", RPCStatusCode.INVALID_ARGUMENT, b""))
    assert not is_outage(RuntimeError("a bug of ours"))
    assert not is_outage(TypeError("a bug of ours"))
