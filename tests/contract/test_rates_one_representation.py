"""Rates have one representation: percent with two decimals in the simulation, the offer and the contract."""

from __future__ import annotations

from decimal import Decimal

import httpx
from contract_support import kernel_offer, pdf_text
from fastapi import FastAPI

from activities.contract_document import ccb_terms, render_ccb
from api.problems import install_problem_handlers
from api.routes import simulations
from api.routes.simulations import _response
from api.schemas.loans import LoanApplicationView, OfferView
from domain.ccb import CcbParty
from lendflow.settings import LenderSettings, Settings


def test_offer_simulation_and_contract_state_the_same_rates() -> None:
    offer, simulation = kernel_offer()
    offered = OfferView.of(offer)
    assert offered is not None
    offer_json = offered.model_dump(mode="json")
    simulated = _response(simulation).model_dump(mode="json")
    assert (offer_json["cet_monthly"], offer_json["cet_annual"]) == ("2.33", "31.88")
    assert (simulated["cet_monthly"], simulated["cet_annual"]) == (offer_json["cet_monthly"], offer_json["cet_annual"])
    assert offer_json["monthly_rate"] == "1.99"
    text = pdf_text(
        render_ccb(
            ccb_terms(
                "0d1e2f3a-4b5c",
                offer,
                CcbParty("Ana Lúcia", "52998224725", "Rua Augusta, 10, Consolação, São Paulo/SP, CEP 01305-000"),
                LenderSettings(),
            )
        )
    )
    for rate in (offer_json["cet_monthly"], offer_json["cet_annual"], offer_json["monthly_rate"]):
        assert rate.replace(".", ",") + " %" in text


def test_rates_round_half_even_to_the_hundredth_of_a_point() -> None:
    fields = {name: OfferView.model_fields[name] for name in ("cet_monthly", "cet_annual", "monthly_rate")}
    assert all("percent" in (field.description or "") for field in fields.values())
    offer, _ = kernel_offer()
    offer_json = OfferView.model_validate(
        {**OfferView.of(offer).model_dump(), "cet_annual": Decimal("0.318650"), "cet_monthly": Decimal("0.023350")}  # type: ignore[union-attr]
    ).model_dump(mode="json")
    assert (offer_json["cet_annual"], offer_json["cet_monthly"]) == ("31.86", "2.34")
    schema = LoanApplicationView.model_json_schema(mode="serialization")
    assert schema["properties"]["monthly_rate"]["anyOf"][0]["pattern"] == r"^-?\d+\.\d{2}$"


async def test_a_rate_read_from_an_answer_goes_back_into_a_simulation_unchanged() -> None:
    """The request speaks the answers' unit: the offer's "1.99" simulates the offer's own loan."""
    offer, simulation = kernel_offer()
    offered = OfferView.of(offer)
    assert offered is not None
    rate = offered.model_dump(mode="json")["monthly_rate"]
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(simulations.router)
    app.state.settings = Settings(environment="test")
    body = {
        "amount": f"{offer.amount:.2f}",
        "term_months": len(offer.installments),
        "monthly_rate_percent": rate,
        "amortization": offer.amortization,
        "release_date": offer.release_date.isoformat(),
        "first_due_date": offer.installments[0].due_date.isoformat(),
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.post("/v1/loan-simulations", json=body)
    assert answer.status_code == 200, answer.text
    simulated = answer.json()
    assert simulated["installments"][0]["payment"] == f"{simulation.installments[0].payment:.2f}"
    assert (simulated["cet_monthly"], simulated["cet_annual"]) == ("2.33", "31.88")
