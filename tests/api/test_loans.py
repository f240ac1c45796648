"""Loans: idempotent submission, the offer accepted through the workflow's Update, cancellation
with compensation, the read model's views, installments and early payoff against servicing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import Account, business_today, eventually, register_and_login
from temporalio.client import Client

from domain.credit import Amortization, build_schedule
from lendflow.settings import Settings
from storage.models import Customer, IdempotencyKey, Installment, LoanApplication
from workflows.contracts.servicing import ServicingInput, servicing_workflow_id
from workflows.servicing import ServicingWorkflow

LOAN = {"amount": "5000.00", "term_months": 12, "amortization": "price"}
PROBLEM = "application/problem+json"


async def activate(session_maker: async_sessionmaker[AsyncSession], account: Account) -> None:
    """Onboarding done (its documents path is another suite's): the customer is active."""
    async with session_maker() as session, session.begin():
        await session.execute(
            update(Customer).where(Customer.id == uuid.UUID(account.customer_id)).values(status="active")
        )


async def apply(
    api: httpx.AsyncClient, account: Account, body: dict[str, Any] | None = None, key: str | None = None
) -> httpx.Response:
    return await api.post(
        "/v1/loans", json=body or LOAN, headers={**account.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    )


async def loan_in(
    api: httpx.AsyncClient, account: Account, loan_id: str, *statuses: str, timeout: float = 30
) -> dict[str, Any]:
    async def view() -> dict[str, Any]:
        return (await api.get(f"/v1/loans/{loan_id}", headers=account.headers)).json()

    return await eventually(view, lambda v: v.get("status") in statuses, timeout=timeout)


async def test_same_key_and_body_answers_the_first_response_and_makes_one_application(
    api: httpx.AsyncClient, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    account = await register_and_login(api)

    first = await apply(api, account, key="order-1")
    again = await apply(api, account, key="order-1")

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.json()["status"] == "submitted"
    assert first.headers["Location"] == f"/v1/loans/{first.json()['id']}"
    async with session_maker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(LoanApplication)
            .where(LoanApplication.customer_id == uuid.UUID(account.customer_id))
        )
    assert count == 1


async def test_same_key_with_another_body_answers_422(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)
    assert (await apply(api, account, key="order-2")).status_code == 202

    other = await apply(api, account, {**LOAN, "amount": "6000.00"}, key="order-2")
    same_amount_written_differently = await apply(api, account, {**LOAN, "amount": "5000"}, key="order-2")

    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert same_amount_written_differently.status_code == 202


async def test_another_customer_may_use_the_same_key(api: httpx.AsyncClient) -> None:
    one, two = await register_and_login(api), await register_and_login(api)

    a = await apply(api, one, key="shared-key")
    b = await apply(api, two, key="shared-key")

    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]


async def test_twenty_concurrent_identical_submissions_make_one_application_and_one_workflow(
    api: httpx.AsyncClient,
    api_settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    account = await register_and_login(api)
    key = str(uuid.uuid4())

    responses = await asyncio.gather(*(apply(api, account, key=key) for _ in range(20)))

    assert [r.status_code for r in responses] == [202] * 20
    assert len({r.text for r in responses}) == 1
    application_id = responses[0].json()["id"]
    async with session_maker() as session:
        applications = await session.scalar(
            select(func.count())
            .select_from(LoanApplication)
            .where(LoanApplication.customer_id == uuid.UUID(account.customer_id))
        )
        keys = await session.scalar(
            select(func.count())
            .select_from(IdempotencyKey)
            .where(IdempotencyKey.customer_id == uuid.UUID(account.customer_id))
        )
    assert (applications, keys) == (1, 1)
    query = f'WorkflowType="LoanOriginationWorkflow" AND TaskQueue="{api_settings.temporal.task_queue}"'

    async def runs() -> list[str]:
        return [w.id async for w in temporal_client.list_workflows(query)]

    # Visibility is eventually consistent. A later submission is the positive signal: once its
    # workflow is listed, a duplicate started by the burst before it would be listed too.
    later = (await apply(api, account)).json()["id"]
    found = await eventually(runs, lambda ids: f"loan-{later}" in ids, timeout=15)
    assert sorted(found) == sorted([f"loan-{application_id}", f"loan-{later}"])


async def test_loans_need_the_idempotency_key_and_stay_within_the_product(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)

    no_key = await api.post("/v1/loans", json=LOAN, headers=account.headers)
    too_small = await apply(api, account, {**LOAN, "amount": "100.00"})
    too_long = await apply(api, account, {**LOAN, "term_months": 60})
    float_amount = await apply(api, account, {**LOAN, "amount": 5000.0})
    string_term = await apply(api, account, {**LOAN, "term_months": "12"})
    unknown = await apply(api, account, {**LOAN, "rate": "0.01"})
    anonymous = await api.post("/v1/loans", json=LOAN, headers={"Idempotency-Key": "x"})

    assert no_key.status_code == 422 and no_key.json()["errors"][0]["field"] == "Idempotency-Key"
    assert [r.json()["errors"][0]["field"] for r in (too_small, too_long, float_amount, string_term, unknown)] == [
        "amount",
        "term_months",
        "amount",
        "term_months",
        "rate",
    ]
    assert anonymous.status_code == 401


async def test_an_offer_is_accepted_once_through_the_workflow_and_cancelling_compensates(
    api: httpx.AsyncClient, worker: object, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    account = await register_and_login(api)
    await activate(session_maker, account)
    loan_id = (await apply(api, account)).json()["id"]

    ready = await loan_in(api, account, loan_id, "offer_ready", "declined", "failed")
    assert ready["status"] == "offer_ready", ready
    offer = ready["offer"]
    assert offer["amount"] == "5000.00" and len(offer["installments"]) == 12
    assert ready["schedule"] == offer["installments"]
    assert [s["step"] for s in ready["steps"]][:2] == ["eligibility", "credit_analysis"]
    assert ready["risk_band"] == "A"

    stale = await api.post(f"/v1/loans/{loan_id}/accept", json={"offer_id": str(uuid.uuid4())}, headers=account.headers)
    accepted = await api.post(
        f"/v1/loans/{loan_id}/accept", json={"offer_id": offer["offer_id"]}, headers=account.headers
    )
    twice = await api.post(f"/v1/loans/{loan_id}/accept", json={"offer_id": offer["offer_id"]}, headers=account.headers)

    assert stale.status_code == 409 and stale.json()["type"].endswith("/offer-changed")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["offer"]["offer_id"] == offer["offer_id"]
    assert twice.status_code == 409 and twice.json()["type"].endswith("/offer-not-open")

    sent = await loan_in(api, account, loan_id, "contract_sent", "failed")
    assert sent["status"] == "contract_sent", sent
    cancelled = await api.post(f"/v1/loans/{loan_id}/cancel", headers=account.headers)
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["status_when_requested"] == "contract_sent"

    done = await loan_in(api, account, loan_id, "cancelled")
    compensations = [s["outcome"] for s in done["steps"] if s["step"] == "compensation"]
    assert compensations == ["void_envelope", "release_limit"]
    assert done["reason"] == "cancelled_by_customer"
    async with session_maker() as session:
        row = await session.get(LoanApplication, uuid.UUID(loan_id))
    assert row is not None and row.reserved_amount == Decimal("0")
    again = await api.post(f"/v1/loans/{loan_id}/cancel", headers=account.headers)
    late_accept = await api.post(
        f"/v1/loans/{loan_id}/accept", json={"offer_id": offer["offer_id"]}, headers=account.headers
    )
    assert again.status_code == 409 and again.json()["type"].endswith("/not-cancellable")
    assert late_accept.status_code == 409


async def test_an_inactive_customer_is_declined_at_eligibility(api: httpx.AsyncClient, worker: object) -> None:
    account = await register_and_login(api)  # still pending onboarding
    loan_id = (await apply(api, account)).json()["id"]

    declined = await loan_in(api, account, loan_id, "declined")

    assert declined["reason"] == "onboarding_incomplete"
    accept = await api.post(f"/v1/loans/{loan_id}/accept", json={"offer_id": "x"}, headers=account.headers)
    assert accept.status_code == 409


async def test_the_list_is_paginated_newest_first_with_a_next_link(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)
    ids = [(await apply(api, account)).json()["id"] for _ in range(3)]

    first = await api.get("/v1/loans", params={"limit": 2}, headers=account.headers)
    second = await api.get(first.json()["next"], headers=account.headers)

    assert first.status_code == second.status_code == 200
    assert [i["id"] for i in first.json()["items"]] == ids[::-1][:2]
    assert [i["id"] for i in second.json()["items"]] == ids[::-1][2:]
    assert second.json()["next"] is None
    bad_cursor = await api.get("/v1/loans", params={"cursor": "bm9wZQ"}, headers=account.headers)
    too_big = await api.get("/v1/loans", params={"limit": 1000}, headers=account.headers)
    assert bad_cursor.status_code == too_big.status_code == 422


async def test_the_list_filters_by_a_status_and_names_an_unknown_one(api: httpx.AsyncClient, worker: object) -> None:
    account = await register_and_login(api)  # still pending onboarding: its application is declined
    loan_id = (await apply(api, account)).json()["id"]
    await loan_in(api, account, loan_id, "declined")

    declined = await api.get("/v1/loans", params={"status": "declined"}, headers=account.headers)
    disbursed = await api.get("/v1/loans", params={"status": "disbursed"}, headers=account.headers)
    unknown = await api.get("/v1/loans", params={"status": "approved_maybe"}, headers=account.headers)

    assert [i["id"] for i in declined.json()["items"]] == [loan_id]
    assert disbursed.json()["items"] == []
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in unknown.json()["errors"]] == ["status"]


async def disbursed_loan(
    session_maker: async_sessionmaker[AsyncSession], account: Account, *, first_due: date, amount: str = "3000.00"
) -> tuple[str, ServicingInput]:
    """A loan as origination leaves it once disbursed: the read model and its installments."""
    loan_id = uuid.uuid4()
    release = first_due - timedelta(days=30)
    servicing = ServicingInput(
        loan_id=str(loan_id),
        customer_id=account.customer_id,
        amortization="price",
        principal=Decimal(amount),
        monthly_rate=Decimal("0.0199"),
        release_date=release,
        first_due_date=first_due,
        term_months=6,
    )
    schedule = build_schedule(Amortization.PRICE, Decimal(amount), Decimal("0.0199"), release, first_due, 6)
    async with session_maker() as session, session.begin():
        session.add(
            LoanApplication(
                id=loan_id,
                customer_id=uuid.UUID(account.customer_id),
                status="disbursed",
                amount=Decimal(amount),
                term_months=6,
                amortization="price",
                monthly_rate=Decimal("0.0199"),
                risk_band="A",
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
        await session.flush()
        for i in schedule.installments:
            session.add(
                Installment(
                    application_id=loan_id,
                    number=i.number,
                    due_date=i.due_date,
                    payment=i.payment,
                    interest=i.interest,
                    amortization=i.amortization,
                    balance=i.balance,
                )
            )
    return str(loan_id), servicing


async def test_installments_quote_and_early_payoff_of_a_loan_in_servicing(
    api: httpx.AsyncClient,
    api_settings: Settings,
    worker: object,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    account = await register_and_login(api)
    loan_id, servicing = await disbursed_loan(session_maker, account, first_due=business_today() + timedelta(days=25))
    await temporal_client.start_workflow(
        ServicingWorkflow.run, servicing, id=servicing_workflow_id(loan_id), task_queue=api_settings.temporal.task_queue
    )

    page_one = await api.get(f"/v1/loans/{loan_id}/installments", params={"limit": 4}, headers=account.headers)
    page_two = await api.get(page_one.json()["next"], headers=account.headers)
    quote = await api.post(f"/v1/loans/{loan_id}/payoff-quote", json={}, headers=account.headers)
    later = await api.post(
        f"/v1/loans/{loan_id}/payoff-quote",
        json={"settle_on": (business_today() + timedelta(days=20)).isoformat()},
        headers=account.headers,
    )
    past = await api.post(
        f"/v1/loans/{loan_id}/payoff-quote", json={"settle_on": "2020-01-01"}, headers=account.headers
    )
    far = await api.post(f"/v1/loans/{loan_id}/payoff-quote", json={"settle_on": "2090-01-01"}, headers=account.headers)
    payoff = await api.post(f"/v1/loans/{loan_id}/payoff", headers=account.headers)
    second = await api.post(f"/v1/loans/{loan_id}/payoff", headers=account.headers)
    view = await api.get(f"/v1/loans/{loan_id}", headers=account.headers)

    assert [i["number"] for i in page_one.json()["items"] + page_two.json()["items"]] == [1, 2, 3, 4, 5, 6]
    assert page_one.json()["items"][0]["status"] == "open"
    assert quote.status_code == 200, quote.text
    assert quote.json()["remaining_installments"] == 6
    assert Decimal(quote.json()["amount"]) < Decimal(later.json()["amount"])
    assert Decimal(quote.json()["amount"]) >= Decimal("3000.00")
    assert past.status_code == far.status_code == 422
    assert past.headers["content-type"] == far.headers["content-type"] == PROBLEM
    assert [e["type"] for e in past.json()["errors"]] == ["settle_on_past"]
    assert [e["type"] for e in far.json()["errors"]] == ["settle_on_too_far"]
    assert payoff.status_code == 201, payoff.text
    charge = payoff.json()["charge"]
    assert charge["amount"] == quote.json()["amount"]
    assert charge["br_code"].startswith("000201") and len(charge["txid"]) >= 26
    assert second.status_code == 409 and second.json()["type"].endswith("/settlement-open")
    assert [s["number"] for s in view.json()["schedule"]] == [1, 2, 3, 4, 5, 6]


async def test_payoff_is_refused_while_an_installment_is_due_and_before_disbursement(
    api: httpx.AsyncClient,
    api_settings: Settings,
    worker: object,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    account = await register_and_login(api)
    due_loan, servicing = await disbursed_loan(session_maker, account, first_due=business_today())
    await temporal_client.start_workflow(
        ServicingWorkflow.run,
        servicing,
        id=servicing_workflow_id(due_loan),
        task_queue=api_settings.temporal.task_queue,
    )
    submitted = (await apply(api, account)).json()["id"]
    no_workflow, _ = await disbursed_loan(session_maker, account, first_due=business_today() + timedelta(days=10))

    due = await api.post(f"/v1/loans/{due_loan}/payoff", headers=account.headers)
    not_disbursed = await api.post(f"/v1/loans/{submitted}/payoff", headers=account.headers)
    not_disbursed_quote = await api.post(f"/v1/loans/{submitted}/payoff-quote", headers=account.headers)
    not_running = await api.post(f"/v1/loans/{no_workflow}/payoff-quote", headers=account.headers)
    installments_before = await api.get(f"/v1/loans/{submitted}/installments", headers=account.headers)

    assert due.status_code == 409 and due.json()["type"].endswith("/installment-due")
    assert not_disbursed.status_code == not_disbursed_quote.status_code == 409
    assert not_disbursed.json()["type"].endswith("/not-in-servicing")
    assert not_running.status_code == 409
    assert installments_before.json() == {"items": [], "next": None}
