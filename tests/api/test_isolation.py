"""Two customers: no customer route lets one see or touch the other's data.

The routes come from the app's own OpenAPI document, so a customer route added later without a case
here fails this test instead of going unchecked.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import Account, business_today, register_and_login
from temporalio.client import Client
from test_loans import LOAN, apply, disbursed_loan

from lendflow.settings import Settings
from workflows.contracts.servicing import servicing_workflow_id
from workflows.servicing import ServicingWorkflow

BOBS_ADDRESS = {
    "postal_code": "80010-000",
    "street": "Rua XV de Novembro",
    "number": "700",
    "district": "Centro",
    "city": "Curitiba",
    "state": "PR",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 80
# Routes of nobody in particular, or of ops (tested in test_ops and test_codec_endpoint with their own audience).
NOT_CUSTOMER_ROUTES = (
    "/health",
    "/v1/auth/register",
    "/v1/auth/token",
    "/v1/auth/refresh",
    "/v1/webhooks",
    "/v1/ops",
    "/v1/loan-simulations",
    "/codec",
    "/.well-known",
)


def customer_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if not path.startswith(NOT_CUSTOMER_ROUTES)
    }


async def test_no_customer_route_shows_or_changes_another_customers_data(
    api: httpx.AsyncClient,
    api_settings: Settings,
    worker: object,
    session_maker: async_sessionmaker[AsyncSession],
    temporal_client: Client,
) -> None:
    alice, bob = await register_and_login(api), await register_and_login(api)
    submitted = (await apply(api, alice, key="alice-key")).json()["id"]
    loan_id, servicing = await disbursed_loan(session_maker, alice, first_due=business_today() + timedelta(days=20))
    await temporal_client.start_workflow(
        ServicingWorkflow.run, servicing, id=servicing_workflow_id(loan_id), task_queue=api_settings.temporal.task_queue
    )
    document = await api.post(
        "/v1/documents", data={"type": "selfie"}, files={"file": ("s.png", PNG, "image/png")}, headers=alice.headers
    )
    assert document.status_code == 202
    secrets = [alice.customer_id, alice.email, alice.cpf, submitted, loan_id, document.json()["id"]]

    def as_customer(account: Account) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """operation → (method, url, request kwargs), aimed at Alice's objects."""
        return {
            "get_me": ("GET", "/v1/me", {}),
            "put_my_address": ("PUT", "/v1/me/address", {"json": BOBS_ADDRESS}),
            "logout_customer": ("POST", "/v1/auth/logout", {}),
            "list_documents": ("GET", "/v1/documents", {}),
            "submit_document": (
                "POST",
                "/v1/documents",
                {
                    "data": {"type": "id_front"},
                    "files": {"file": ("f.png", PNG + account.customer_id.encode(), "image/png")},
                },
            ),
            "list_loans": ("GET", "/v1/loans", {}),
            "apply_for_loan": ("POST", "/v1/loans", {"json": LOAN, "headers": {"Idempotency-Key": "alice-key"}}),
            "get_loan": ("GET", f"/v1/loans/{submitted}", {}),
            "accept_offer": ("POST", f"/v1/loans/{submitted}/accept", {"json": {"offer_id": "x"}}),
            "cancel_loan": ("POST", f"/v1/loans/{submitted}/cancel", {}),
            "list_installments": ("GET", f"/v1/loans/{loan_id}/installments", {}),
            "quote_payoff": ("POST", f"/v1/loans/{loan_id}/payoff-quote", {"json": {}}),
            "pay_off_loan": ("POST", f"/v1/loans/{loan_id}/payoff", {}),
        }

    openapi = (await api.get("/openapi.json")).json()
    by_id = {
        item[method]["operationId"]: (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method in item
    }
    cases = as_customer(bob)
    assert {by_id[operation] for operation in cases} == customer_operations(openapi), (
        "a customer route has no case here"
    )

    # Alice reaches her own objects (so the 404s below are about ownership, not absence).
    for operation in ("get_loan", "list_installments", "quote_payoff"):
        method, url, _ = cases[operation]
        assert (
            await api.request(method, url, headers=alice.headers, **({"json": {}} if method == "POST" else {}))
        ).status_code == 200

    answers: dict[str, httpx.Response] = {}
    for operation, (method, url, kwargs) in cases.items():
        if operation == "logout_customer":
            continue  # last, or Bob's token would be gone
        headers = {**bob.headers, **kwargs.pop("headers", {})}
        answers[operation] = await api.request(method, url, headers=headers, **kwargs)
    answers["logout_customer"] = await api.post("/v1/auth/logout", headers=bob.headers)

    aimed_at_alice = ("get_loan", "accept_offer", "cancel_loan", "list_installments", "quote_payoff", "pay_off_loan")
    for operation in aimed_at_alice:
        assert answers[operation].status_code == 404, (operation, answers[operation].text)
    for operation, response in answers.items():
        assert response.status_code < 500, (operation, response.text)
        # A problem's `instance` repeats the path Bob sent; anything else of Alice's is a leak.
        leaked = [s for s in secrets if s in response.text and s not in str(response.request.url)]
        assert not leaked, (operation, leaked)
    assert answers["apply_for_loan"].status_code == 202  # Bob's own application, under the same key
    assert answers["apply_for_loan"].json()["id"] != submitted
    assert answers["get_me"].json()["id"] == bob.customer_id
    assert answers["put_my_address"].status_code == 200, answers["put_my_address"].text
    # Bob's PUT changed Bob's address, not Alice's.
    alices = (await api.get("/v1/me", headers=alice.headers)).json()["address"]
    assert alices["city"] == "São Paulo" and alices["postal_code"] == "01310-100"
    # Nothing of Alice's changed.
    view = (await api.get(f"/v1/loans/{submitted}", headers=alice.headers)).json()
    assert view["status"] not in ("cancelled",)
    assert "early_settlement" not in json.dumps(view)
    assert uuid.UUID(view["id"]) == uuid.UUID(submitted)
