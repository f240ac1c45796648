"""`POST /v1/loan-simulations`, against an app with only the problem handlers and this router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from api.routes import simulations
from lendflow.settings import CreditSettings, Settings

PATH = "/v1/loan-simulations"
TEXTBOOK: dict[str, Any] = {
    "amount": "10000.00",
    "term_months": 12,
    "monthly_rate_percent": "2.00",
    "amortization": "price",
    "release_date": "2025-07-01",
    "first_due_date": "2025-08-01",
}


def build_app(credit: CreditSettings | None = None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(simulations.router)
    settings = Settings(environment="test", credit=credit or CreditSettings())
    app.state.settings = settings
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app()), base_url="http://test") as client:
        yield client


async def test_textbook_price_answers_installments_of_945_60_as_strings(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json=TEXTBOOK)

    assert response.status_code == 200
    body = response.json()
    assert [i["payment"] for i in body["installments"]] == ["945.60"] * 11 + ["945.55"]
    assert body["installments"][0] == {
        "number": 1,
        "due_date": "2025-08-01",
        "payment": "945.60",
        "interest": "200.00",
        "amortization": "745.60",
        "balance": "9254.40",
    }
    assert body["iof"] == {"daily": "168.56", "flat": "38.00", "total": "206.56"}
    assert (body["fees_total"], body["amount_financed"], body["amount_released"]) == ("0.00", "10000.00", "9793.44")
    assert (body["total_payable"], body["total_interest"]) == ("11347.15", "1347.15")
    assert (body["cet_monthly"], body["cet_annual"]) == ("2.33", "31.87")
    assert body["assumptions"]["iof_table_version"] == "RIOF art. 7 - Decreto 12.499/2025"
    assert "365" in body["assumptions"]["day_count"]


async def test_textbook_sac_answers_1033_33_first_850_00_last_and_1300_00_of_interest(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(PATH, json=TEXTBOOK | {"amortization": "sac"})

    assert response.status_code == 200
    body = response.json()
    assert body["installments"][0]["payment"] == "1033.33"
    assert body["installments"][-1]["payment"] == "850.00"
    assert body["total_interest"] == "1300.00"


async def test_financed_iof_and_fees_release_the_amount_asked_less_the_fees(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PATH, json=TEXTBOOK | {"finance_iof": True, "fees": [{"name": "tarifa de cadastro", "amount": "150.00"}]}
    )

    body = response.json()
    assert (body["amount_financed"], body["iof"]["total"], body["fees_total"]) == ("10210.92", "210.92", "150.00")
    assert body["amount_released"] == "9850.00"
    assert Decimal(body["amount_financed"]) - Decimal(body["iof"]["total"]) == Decimal("10000.00")


async def test_dates_default_to_today_in_brazil_and_one_month_later_on_the_same_day_after(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulations, "today_in_brazil", lambda: date(2025, 1, 31))
    request = {k: v for k, v in TEXTBOOK.items() if k not in {"release_date", "first_due_date"}}

    body = (await client.post(PATH, json=request)).json()

    # One month after 31 Jan is 28 Feb; the later installments keep the first due date's day.
    assert [i["due_date"] for i in body["installments"][:3]] == ["2025-02-28", "2025-03-28", "2025-04-28"]
    assert body["installments"][0]["payment"] == "945.60"


async def test_a_company_simulation_uses_the_company_iof_rates(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PATH, json=TEXTBOOK | {"customer_type": "PJ", "release_date": "2025-06-05", "first_due_date": "2025-07-05"}
    )

    assert response.json()["iof"]["flat"] == "95.00"


def problem_fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-10.00"}, "amount"),
        ({"amount": 10000.0}, "amount"),
        ({"amount": "1.000,00"}, "amount"),
        ({"amount": "1e4"}, "amount"),
        ({"amount": "100.001"}, "amount"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": 421}, "term_months"),
        ({"term_months": "12"}, "term_months"),
        ({"monthly_rate_percent": "-1.00"}, "monthly_rate_percent"),
        ({"monthly_rate_percent": "20.01"}, "monthly_rate_percent"),
        ({"monthly_rate_percent": 2.0}, "monthly_rate_percent"),
        ({"monthly_rate_percent": "1.995"}, "monthly_rate_percent"),
        ({"monthly_rate_percent": "2,00"}, "monthly_rate_percent"),
        ({"monthly_rate_percent": "2.00", "monthly_rate": "0.0200"}, "monthly_rate"),
        ({"amortization": "bullet"}, "amortization"),
        ({"first_due_date": "2025-07-01"}, "first_due_date"),
        ({"first_due_date": "2025-08-31"}, "first_due_date"),
        ({"release_date": "2025-02-30"}, "release_date"),
        ({"customer_type": "PX"}, "customer_type"),
        ({"finance_iof": "yes"}, "finance_iof"),
        ({"grace_months": -1}, "grace_months"),
        ({"grace_months": 13}, "grace_months"),
        ({"fees": [{"name": "tarifa", "amount": "-1.00"}]}, "fees.0.amount"),
        ({"fees": [{"name": "tarifa", "amount": "1", "vat": "0"}]}, "fees.0.vat"),
        ({"fees": [{"name": "tarifa", "amount": "10000.00"}]}, "fees"),
        ({"promo_code": "X"}, "promo_code"),
    ],
)
async def test_bad_input_answers_422_problem_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    response = await client.post(PATH, json=TEXTBOOK | change)

    assert problem_fields(response) == {field}


async def test_every_bad_field_of_the_same_kind_is_named_at_once(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PATH,
        json=TEXTBOOK
        | {"amount": "0", "term_months": 500, "monthly_rate_percent": "50.00", "first_due_date": "2025-12-01"},
    )

    assert problem_fields(response) == {"amount", "term_months", "monthly_rate_percent", "first_due_date"}


async def test_missing_required_fields_are_named(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={"amortization": "price"})

    assert problem_fields(response) == {"amount", "term_months", "monthly_rate_percent"}


async def test_the_rate_cap_and_amount_limits_come_from_settings() -> None:
    app = build_app(CreditSettings(max_monthly_rate=Decimal("0.015"), max_amount=Decimal("5000.00")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        refused = await client.post(PATH, json=TEXTBOOK)
        accepted = await client.post(PATH, json=TEXTBOOK | {"amount": "5000.00", "monthly_rate_percent": "1.50"})
        above = await client.post(PATH, json=TEXTBOOK | {"amount": "5000.00", "monthly_rate_percent": "1.51"})

    assert problem_fields(refused) == {"amount", "monthly_rate_percent"}
    assert accepted.status_code == 200
    assert problem_fields(above) == {"monthly_rate_percent"}
    # The cap is said in the unit the caller used: percent, not the kernel's fraction.
    assert "1.50" in above.json()["errors"][0]["message"]


async def test_the_rate_is_read_as_percent_the_unit_every_answer_uses(client: httpx.AsyncClient) -> None:
    """ "2.00" is 2 % a month: the textbook loan's 945.60 installments, not a 0.02 % loan's."""
    two_percent = (await client.post(PATH, json=TEXTBOOK)).json()
    zero = (await client.post(PATH, json=TEXTBOOK | {"monthly_rate_percent": "0"})).json()

    assert two_percent["installments"][0]["interest"] == "200.00"
    assert zero["installments"][0]["payment"] == "833.33"
    assert zero["total_interest"] == "0.00"


def test_the_openapi_document_describes_the_rate_in_percent_both_ways() -> None:
    schema = build_app().openapi()["components"]["schemas"]
    request = schema["LoanSimulationRequest"]["properties"]
    assert "monthly_rate" not in request
    assert "percent" in request["monthly_rate_percent"]["description"]
    assert "percent" in schema["LoanSimulationResponse"]["properties"]["cet_monthly"]["description"]


def test_the_api_application_exposes_the_simulation_route() -> None:
    from api.main import create_app

    assert "post" in create_app().openapi()["paths"][PATH]
