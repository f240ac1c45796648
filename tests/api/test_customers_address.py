"""The customer's postal address: required at sign-up, validated field by field, shown in the
profile, replaced with `PUT /v1/me/address`, and added there by a customer registered before it
was asked (whose row has none)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import ADDRESS, register_and_login, registration

from storage.models import Customer
from storage.repositories import customers

PROBLEM = "application/problem+json"


def with_address(**change: Any) -> dict[str, Any]:
    return registration(address={**ADDRESS, **change})


def error_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return [error["field"] for error in response.json()["errors"]]


async def test_registration_stores_the_address_with_the_cep_as_its_digits(
    api: httpx.AsyncClient, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    body = with_address(postal_code="01310100", complement="  apartamento   42 ", city="São  Paulo")

    response = await api.post("/v1/auth/register", json=body)

    assert response.status_code == 201, response.text
    async with session_maker() as session:
        customer = await customers.by_id(session, uuid.UUID(response.json()["customer_id"]))
    assert customer is not None and customer.address is not None
    assert customer.address_postal_code == "01310100"
    assert (customer.address.street, customer.address.number, customer.address.complement) == (
        "Avenida Paulista",
        "1578",
        "apartamento 42",
    )
    assert (customer.address.district, customer.address.city, customer.address.state) == (
        "Bela Vista",
        "São Paulo",
        "SP",
    )


async def test_registration_without_an_address_answers_422_naming_it(api: httpx.AsyncClient) -> None:
    body = registration()
    del body["address"]

    assert error_fields(await api.post("/v1/auth/register", json=body)) == ["address"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"postal_code": "1310-100"}, "address.postal_code"),
        ({"postal_code": "01310-1000"}, "address.postal_code"),
        ({"postal_code": "01.310-100"}, "address.postal_code"),
        ({"postal_code": 1310100}, "address.postal_code"),
        ({"state": "XX"}, "address.state"),
        ({"state": "São Paulo"}, "address.state"),
        ({"street": " "}, "address.street"),
        ({"number": ""}, "address.number"),
        ({"district": "x" * 101}, "address.district"),
        ({"city": "Rio\x00"}, "address.city"),
        ({"country": "BR"}, "address.country"),
        ({"complement": {}}, "address.complement"),
        ({"street": "  "}, "address.street"),
        ({"postal_code": " 01310-100"}, "address.postal_code"),
        (
            {"postal_code": "\u0660\u0661\u0663\u0661\u0660\u0661\u0660\u0660"},
            "address.postal_code",
        ),  # Arabic-Indic digits  # once a 500: a constraint applied to the None it became
        ({"complement": "x" * 101}, "address.complement"),
    ],
)
async def test_a_bad_address_field_answers_422_naming_it(
    api: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    assert error_fields(await api.post("/v1/auth/register", json=with_address(**change))) == [field]


async def test_the_profile_shows_the_address_and_put_replaces_it_whole(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)

    before = (await api.get("/v1/me", headers=account.headers)).json()["address"]
    with structlog.testing.capture_logs() as logs:
        put = await api.put(
            "/v1/me/address",
            headers=account.headers,
            json={
                "postal_code": "80010000",
                "street": "Rua XV de Novembro",
                "number": "s/n",
                "complement": "sala 3",
                "district": "Centro",
                "city": "Curitiba",
                "state": "PR",
            },
        )
    after = (await api.get("/v1/me", headers=account.headers)).json()["address"]

    assert before == {**ADDRESS, "complement": None}
    assert put.status_code == 200, put.text
    assert (
        put.json()
        == after
        == {
            "postal_code": "80010-000",
            "street": "Rua XV de Novembro",
            "number": "s/n",
            "complement": "sala 3",
            "district": "Centro",
            "city": "Curitiba",
            "state": "PR",
        }
    )
    assert "XV de Novembro" not in repr(logs) and "80010" not in repr(logs)


async def test_put_address_refuses_bad_fields_and_anonymous_callers(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api)

    bad = await api.put("/v1/me/address", headers=account.headers, json={**ADDRESS, "state": "ZZ"})
    anonymous = await api.put("/v1/me/address", json=ADDRESS)

    assert error_fields(bad) == ["state"]
    assert anonymous.status_code == 401
    assert (await api.get("/v1/me", headers=account.headers)).json()["address"]["state"] == "SP"


async def test_a_customer_registered_before_addresses_has_none_until_they_add_it(
    api: httpx.AsyncClient, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    account = await register_and_login(api)
    none = {
        f"address_{name}": None
        for name in ("postal_code", "street", "number", "complement", "district", "city", "state")
    }
    async with session_maker() as session, session.begin():  # as migration 0008 left existing customers
        await session.execute(update(Customer).where(Customer.id == uuid.UUID(account.customer_id)).values(**none))

    missing = (await api.get("/v1/me", headers=account.headers)).json()["address"]
    added = await api.put("/v1/me/address", headers=account.headers, json=ADDRESS)

    assert missing is None
    assert added.status_code == 200
    async with session_maker() as session:
        customer = await customers.by_id(session, uuid.UUID(account.customer_id))
    assert customer is not None and customer.address is not None and customer.address.city == "São Paulo"
