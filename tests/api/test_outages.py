"""A dependency down answers 503 problem+json, keeps nothing half-done, and a retry recovers."""

from __future__ import annotations

import uuid

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import free_port, register_and_login, registration, serve_over_asgi
from temporalio.client import Client
from test_loans import LOAN
from test_webhooks import signed_event

from lendflow.settings import Settings
from storage.models import Customer, LoanApplication
from workflows.contracts.origination import loan_workflow_id

PROBLEM = "application/problem+json"


def without_temporal(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "temporal": settings.temporal.model_copy(update={"address": f"127.0.0.1:{free_port()}"}),
            "api": settings.api.model_copy(update={"workflow_call_timeout_seconds": 2.0}),
        }
    )


async def test_registration_with_temporal_down_answers_503_and_keeps_no_customer(
    api_settings: Settings, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    body = registration()
    async with serve_over_asgi(without_temporal(api_settings)) as api:
        response = await api.post("/v1/auth/register", json=body)

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    async with session_maker() as session:
        assert (
            await session.scalar(select(func.count()).select_from(Customer).where(Customer.email == body["email"])) == 0
        )


async def test_a_loan_whose_workflow_could_not_start_starts_when_the_same_request_is_retried(
    api: httpx.AsyncClient,
    api_settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    account = await register_and_login(api)
    headers = {**account.headers, "Idempotency-Key": str(uuid.uuid4())}
    async with serve_over_asgi(without_temporal(api_settings)) as broken:
        failed = await broken.post("/v1/loans", json=LOAN, headers=headers)

    retried = await api.post("/v1/loans", json=LOAN, headers=headers)

    assert failed.status_code == 503 and failed.headers["content-type"] == PROBLEM
    assert retried.status_code == 202
    async with session_maker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(LoanApplication)
            .where(LoanApplication.customer_id == uuid.UUID(account.customer_id))
        )
    assert count == 1
    description = await temporal_client.get_workflow_handle(loan_workflow_id(retried.json()["id"])).describe()
    assert description.workflow_type == "LoanOriginationWorkflow"


async def test_with_redis_down_logins_and_authenticated_routes_answer_503(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    account = await register_and_login(api)
    no_redis = api_settings.model_copy(
        update={"redis": api_settings.redis.model_copy(update={"url": SecretStr(f"redis://127.0.0.1:{free_port()}/0")})}
    )
    async with serve_over_asgi(no_redis) as broken:
        login = await broken.post("/v1/auth/token", json={"email": account.email, "password": "whatever-it-is"})
        me = await broken.get("/v1/me", headers=account.headers)

    assert login.status_code == me.status_code == 503
    assert login.headers["content-type"] == me.headers["content-type"] == PROBLEM


async def test_with_kafka_down_a_webhook_answers_503_so_the_provider_delivers_it_again(api_settings: Settings) -> None:
    no_kafka = api_settings.model_copy(
        update={
            "kafka": api_settings.kafka.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}"}),
            "api": api_settings.api.model_copy(update={"produce_timeout_seconds": 1.0}),
        }
    )
    body, headers, _ = signed_event(str(uuid.uuid4()))
    async with serve_over_asgi(no_kafka) as broken:
        response = await broken.post("/v1/webhooks/esignature", content=body, headers=headers)

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM


async def test_with_the_ecm_failing_a_document_answers_503(
    api: httpx.AsyncClient, simulator_admin: httpx.AsyncClient
) -> None:
    account = await register_and_login(api)
    await simulator_admin.put("faults/ecm/store_document", json={"fail_times": 1, "error_status": 503})

    failed = await api.post(
        "/v1/documents",
        data={"type": "id_back"},
        files={"file": ("b.pdf", b"%PDF-1.4 outage", "application/pdf")},
        headers=account.headers,
    )
    retried = await api.post(
        "/v1/documents",
        data={"type": "id_back"},
        files={"file": ("b.pdf", b"%PDF-1.4 outage", "application/pdf")},
        headers=account.headers,
    )

    assert failed.status_code == 503 and failed.headers["content-type"] == PROBLEM
    assert retried.status_code == 202
