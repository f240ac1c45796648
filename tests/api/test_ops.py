"""The ops API: its own log-in, lists from the read model, review with maker-checker, retry of a
paused step, cancellation with compensation, dead letters, and the append-only audit log."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import PASSWORD, eventually, register_and_login
from test_loans import activate, apply, loan_in

from lendflow.settings import Settings
from pipeline.kafka import DLQ_ATTEMPT, DLQ_ERROR_CLASS, DLQ_EVENT_ID, DLQ_EVENT_TYPE, DLQ_STAGE
from storage.models import Operator, OpsAuditEntry, RefreshToken


async def ops_login(api: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await api.post("/v1/ops/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def audit_of(api: httpx.AsyncClient, headers: dict[str, str], object_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/ops/audit-log", params={"object_id": object_id}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"][::-1]  # oldest first


async def test_operators_log_in_with_their_own_credentials_and_audience(
    api: httpx.AsyncClient, new_operator: Any
) -> None:
    username = await new_operator()
    customer = await register_and_login(api)

    wrong = await api.post("/v1/ops/auth/token", json={"username": username, "password": "nope"})
    customer_as_operator = await api.post("/v1/ops/auth/token", json={"username": customer.email, "password": PASSWORD})
    ops = await ops_login(api, username)

    assert wrong.status_code == customer_as_operator.status_code == 401
    assert (await api.get("/v1/ops/applications", headers=ops)).status_code == 200
    assert (await api.get("/v1/ops/applications", headers=customer.headers)).status_code == 401
    assert (await api.get("/v1/me", headers=ops)).status_code == 401
    assert (await api.get("/v1/ops/applications")).status_code == 401


async def test_a_deactivated_operator_is_refused_at_once(
    api: httpx.AsyncClient, new_operator: Any, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    username = await new_operator()
    ops = await ops_login(api, username)
    async with session_maker() as session, session.begin():
        await session.execute(update(Operator).where(Operator.username == username).values(active=False))

    assert (await api.get("/v1/ops/review-queue", headers=ops)).status_code == 401
    assert (await api.post("/v1/ops/auth/token", json={"username": username, "password": PASSWORD})).status_code == 401


async def test_an_operator_session_is_refreshed_without_the_password_until_the_shift_ends(
    api: httpx.AsyncClient, new_operator: Any, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    username = await new_operator()
    login = await api.post("/v1/ops/auth/token", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    first = login.json()
    shift_ends = datetime.fromisoformat(first["session_expires_at"])
    assert timedelta(hours=11, minutes=59) < shift_ends - datetime.now(UTC) <= timedelta(hours=12)

    refreshed = await api.post("/v1/ops/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await api.get("/v1/ops/applications", headers=headers)).status_code == 200
    # The shift does not move with a refresh.
    assert datetime.fromisoformat(second["session_expires_at"]) == shift_ends
    # A customer's refresh token is no operator's.
    customer = await register_and_login(api)
    assert (await api.post("/v1/ops/auth/refresh", json={"refresh_token": customer.refresh_token})).status_code == 401

    # Once the shift is over, the latest refresh token no longer works.
    async with session_maker() as session, session.begin():
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hashlib.sha256(second["refresh_token"].encode()).hexdigest())
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    over = await api.post("/v1/ops/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert over.status_code == 401 and over.headers["content-type"] == "application/problem+json"


async def test_a_replayed_operator_refresh_token_ends_the_session(api: httpx.AsyncClient, new_operator: Any) -> None:
    first = (await api.post("/v1/ops/auth/token", json={"username": await new_operator(), "password": PASSWORD})).json()
    second = (await api.post("/v1/ops/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    replayed = await api.post("/v1/ops/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert replayed.status_code == 401 and replayed.json()["type"].endswith("/refresh-token-reused")
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await api.get("/v1/ops/applications", headers=headers)).status_code == 401
    assert (await api.post("/v1/ops/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401


async def test_logging_out_or_deactivation_ends_the_refreshes_too(
    api: httpx.AsyncClient, new_operator: Any, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    username = await new_operator()
    out = (await api.post("/v1/ops/auth/token", json={"username": username, "password": PASSWORD})).json()
    logout = await api.post("/v1/ops/auth/logout", headers={"Authorization": f"Bearer {out['access_token']}"})
    assert logout.status_code == 204
    assert (await api.post("/v1/ops/auth/refresh", json={"refresh_token": out["refresh_token"]})).status_code == 401

    kept = (await api.post("/v1/ops/auth/token", json={"username": username, "password": PASSWORD})).json()
    async with session_maker() as session, session.begin():
        await session.execute(update(Operator).where(Operator.username == username).values(active=False))
    refused = await api.post("/v1/ops/auth/refresh", json={"refresh_token": kept["refresh_token"]})
    assert refused.status_code == 401 and "not active" in refused.json()["detail"]
    async with session_maker() as session, session.begin():
        await session.execute(update(Operator).where(Operator.username == username).values(active=True))
    # Reactivated, the operator logs in again: the refused session stays ended.
    again = await api.post("/v1/ops/auth/refresh", json={"refresh_token": kept["refresh_token"]})
    assert again.status_code == 401


async def test_applications_are_listed_by_status_and_paginated(api: httpx.AsyncClient, new_operator: Any) -> None:
    ops = await ops_login(api, await new_operator())
    customer = await register_and_login(api)
    ids = {(await apply(api, customer)).json()["id"] for _ in range(3)}

    seen: list[dict[str, Any]] = []
    url: str | None = "/v1/ops/applications?status=submitted&limit=2"
    while url:
        page = await api.get(url, headers=ops)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        url = page.json()["next"]

    assert ids <= {item["id"] for item in seen}
    assert all(item["status"] == "submitted" for item in seen)
    assert {item["customer_id"] for item in seen if item["id"] in ids} == {customer.customer_id}


async def test_a_paused_step_is_retried_and_the_review_is_maker_checked(
    api: httpx.AsyncClient,
    worker: object,
    new_operator: Any,
    simulator_admin: httpx.AsyncClient,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    maker, checker = await ops_login(api, await new_operator()), await ops_login(api, await new_operator())
    customer = await register_and_login(api)
    await activate(session_maker, customer)
    # The bureau is down for every attempt of the step (asking to come back in a second), so the
    # fixable credit analysis pauses for ops instead of failing the application.
    fault = await simulator_admin.put(
        "faults/credit-bureau/credit_report", json={"fail_times": 10, "error_status": 503, "retry_after_seconds": 1}
    )
    assert fault.status_code == 200, fault.text
    loan_id = (await apply(api, customer, {"amount": "35000.00", "term_months": 24, "amortization": "price"})).json()[
        "id"
    ]

    async def ops_view() -> dict[str, Any]:
        return (await api.get(f"/v1/ops/applications/{loan_id}", headers=maker)).json()

    paused = await eventually(ops_view, lambda v: v.get("paused_step") == "credit_analysis", timeout=60, every=0.5)
    assert paused["customer_id"] == customer.customer_id

    retried = await api.post(
        f"/v1/ops/applications/{loan_id}/retry", json={"corrections": {}}, headers={**maker, "X-Request-ID": "retry-1"}
    )
    assert retried.status_code == 202, retried.text
    assert retried.json()["step"] == "credit_analysis"

    async def queue() -> list[str]:
        return [i["id"] for i in (await api.get("/v1/ops/review-queue", headers=checker)).json()["items"]]

    await eventually(queue, lambda ids: loan_id in ids, timeout=30)
    same_operator = await api.post(
        f"/v1/ops/applications/{loan_id}/review",
        json={"approve": True, "reason": "income verified"},
        headers={**maker, "X-Request-ID": "review-1"},
    )
    no_reason = await api.post(
        f"/v1/ops/applications/{loan_id}/review", json={"approve": True, "reason": "  "}, headers=checker
    )
    approved = await api.post(
        f"/v1/ops/applications/{loan_id}/review",
        json={"approve": True, "reason": "income verified"},
        headers={**checker, "X-Request-ID": "review-2"},
    )

    assert same_operator.status_code == 409 and same_operator.json()["type"].endswith("/maker-checker")
    assert no_reason.status_code == 422
    assert approved.status_code == 200, approved.text
    assert approved.json()["approve"] is True
    offer = await loan_in(api, customer, loan_id, "offer_ready", "declined", "failed")
    assert offer["status"] == "offer_ready"
    outcomes = [(e["action"], e["outcome"], e["request_id"]) for e in await audit_of(api, checker, loan_id)]
    assert outcomes[0] == ("retry_step", "done", "retry-1")
    assert outcomes[1] == ("review", "refused:maker-checker", "review-1")
    assert outcomes[-1] == ("review", "done", "review-2")
    entries = await audit_of(api, checker, loan_id)
    assert entries[-1]["detail"] == {"approve": True, "reason": "income verified"}


async def test_refused_actions_are_audited_too(
    api: httpx.AsyncClient, worker: object, new_operator: Any, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    username = await new_operator()
    ops = await ops_login(api, username)
    customer = await register_and_login(api)
    await activate(session_maker, customer)
    loan_id = (await apply(api, customer)).json()["id"]
    await loan_in(api, customer, loan_id, "offer_ready")

    retry = await api.post(f"/v1/ops/applications/{loan_id}/retry", json={}, headers=ops)
    review = await api.post(
        f"/v1/ops/applications/{loan_id}/review", json={"approve": False, "reason": "x"}, headers=ops
    )
    missing = await api.post(
        f"/v1/ops/applications/{uuid.uuid4()}/review", json={"approve": False, "reason": "x"}, headers=ops
    )

    assert retry.status_code == 409 and retry.json()["type"].endswith("/nothing-to-retry")
    assert review.status_code == 409 and review.json()["type"].endswith("/not-in-review")
    assert missing.status_code == 404
    entries = await audit_of(api, ops, loan_id)
    assert [(e["action"], e["outcome"], e["operator_username"]) for e in entries] == [
        ("retry_step", "refused:nothing-to-retry", username),
        ("review", "refused:not-in-review", username),
    ]
    [on_missing] = await audit_of(api, ops, missing.json()["instance"].split("/")[-2])
    assert on_missing["outcome"] == "refused:not-found"
    assert entries[0]["request_id"] == retry.headers["X-Request-ID"]


async def test_ops_cancel_runs_the_compensations_and_is_audited(
    api: httpx.AsyncClient, worker: object, new_operator: Any, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    ops = await ops_login(api, await new_operator())
    customer = await register_and_login(api)
    await activate(session_maker, customer)
    loan_id = (await apply(api, customer)).json()["id"]
    ready = await loan_in(api, customer, loan_id, "offer_ready")
    accepted = await api.post(
        f"/v1/loans/{loan_id}/accept", json={"offer_id": ready["offer"]["offer_id"]}, headers=customer.headers
    )
    assert accepted.status_code == 200

    cancelled = await api.post(
        f"/v1/ops/applications/{loan_id}/cancel", json={"reason": "fraud suspicion"}, headers=ops
    )
    done = await loan_in(api, customer, loan_id, "cancelled")
    again = await api.post(f"/v1/ops/applications/{loan_id}/cancel", json={"reason": "again"}, headers=ops)
    ops_view = (await api.get(f"/v1/ops/applications/{loan_id}", headers=ops)).json()

    assert cancelled.status_code == 202, cancelled.text
    # Ops read what was recorded; the customer gets a stable code and a sentence, not ops' words.
    assert ops_view["reason"] == "ops: fraud suspicion"
    assert done["reason"] == "cancelled_by_lender" and done["reason_message"]
    assert "fraud" not in str(done)
    assert "release_limit" in [s["outcome"] for s in done["steps"] if s["step"] == "compensation"]
    assert again.status_code == 409
    assert [(e["action"], e["outcome"]) for e in await audit_of(api, ops, loan_id)] == [
        ("cancel", "done"),
        ("cancel", "refused:not-cancellable"),
    ]


def _produce_letter(settings: Settings, event_id: str) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers, "enable.idempotence": True})
    producer.produce(
        settings.kafka.topics.dlq,
        key=b"subject-1",
        value=b'{"not": "an envelope"}',
        headers=[
            (DLQ_STAGE, b"validation"),
            (DLQ_ERROR_CLASS, b"NotAnEnvelope"),
            (DLQ_ATTEMPT, b"1"),
            (DLQ_EVENT_ID, event_id.encode()),
            (DLQ_EVENT_TYPE, b"unknown"),
        ],
    )
    assert producer.flush(10) == 0


async def test_dead_letters_are_listed_and_replayed_once(
    api: httpx.AsyncClient, api_settings: Settings, new_operator: Any
) -> None:
    ops = await ops_login(api, await new_operator())
    event_id = str(uuid.uuid4())
    await asyncio.to_thread(_produce_letter, api_settings, event_id)

    listed: list[dict[str, Any]] = []
    url: str | None = "/v1/ops/dead-letters?limit=50"
    while url:
        page = await api.get(url, headers=ops)
        assert page.status_code == 200, page.text
        listed += page.json()["items"]
        url = page.json()["next"]
    [letter] = [item for item in listed if item["event_id"] == event_id]
    assert letter["error_class"] == "NotAnEnvelope" and letter["stage"] == "validation"

    path = f"/v1/ops/dead-letters/{letter['partition']}/{letter['offset']}/replay"
    first = await api.post(path, headers=ops)
    second = await api.post(path, headers=ops)
    unknown = await api.post(f"/v1/ops/dead-letters/{letter['partition']}/999999/replay", headers=ops)

    assert first.status_code == 202, first.text
    assert (first.json()["status"], first.json()["attempt"]) == ("replayed", 2)
    assert second.json()["status"] == "already_replayed"
    assert unknown.status_code == 404
    entries = await audit_of(api, ops, letter["letter_id"])
    assert [(e["action"], e["outcome"], e["detail"].get("status")) for e in entries] == [
        ("replay_dead_letter", "done", "replayed"),
        ("replay_dead_letter", "done", "already_replayed"),
    ]


async def test_the_audit_log_cannot_be_changed_or_deleted(
    api: httpx.AsyncClient, new_operator: Any, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    ops = await ops_login(api, await new_operator())
    await api.post(f"/v1/ops/applications/{uuid.uuid4()}/cancel", json={"reason": "x"}, headers=ops)
    await api.post("/v1/ops/dead-letters/0/987654321/replay", headers=ops)
    async with session_maker() as session:
        entry = await session.scalar(select(OpsAuditEntry).order_by(OpsAuditEntry.id.desc()).limit(1))
    assert entry is not None

    for statement in (
        text("UPDATE ops_audit_log SET outcome = 'done' WHERE id = :id"),
        text("DELETE FROM ops_audit_log WHERE id = :id"),
    ):
        async with session_maker() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement, {"id": entry.id})
