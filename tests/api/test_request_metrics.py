"""Every request is counted by route template and status, and carries a request id."""

from __future__ import annotations

import re
import uuid

import httpx

SIMULATION = {"amount": "10000.00", "term_months": 12, "monthly_rate_percent": "1.99", "amortization": "price"}


def count(metrics: str, method: str, route: str, status: int) -> float:
    pattern = (
        rf'^lendflow_api_requests_total\{{method="{method}",route="{re.escape(route)}",status="{status}"\}} (\S+)$'
    )
    found = re.search(pattern, metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_requests_are_counted_by_route_template_and_status(api: httpx.AsyncClient) -> None:
    before = (await api.get("/metrics")).text
    priced = await api.post("/v1/loan-simulations", json=SIMULATION)
    refused = await api.get(f"/v1/loans/{uuid.uuid4()}")  # no credentials
    missing = await api.get(f"/v1/no-such-route-{uuid.uuid4().hex}")
    after = (await api.get("/metrics")).text

    assert (priced.status_code, refused.status_code, missing.status_code) == (200, 401, 404)
    assert count(after, "POST", "/v1/loan-simulations", 200) == count(before, "POST", "/v1/loan-simulations", 200) + 1
    assert count(after, "GET", "/v1/loans/{application_id}", 401) == (
        count(before, "GET", "/v1/loans/{application_id}", 401) + 1
    )
    assert count(after, "GET", "unmatched", 404) == count(before, "GET", "unmatched", 404) + 1
    assert 'lendflow_api_request_duration_seconds_count{method="POST",route="/v1/loan-simulations"}' in after


async def test_a_simulation_answers_json_with_its_request_id(api: httpx.AsyncClient) -> None:
    priced = await api.post("/v1/loan-simulations", json=SIMULATION, headers={"X-Request-ID": "sim-trace-1"})

    assert priced.status_code == 200
    assert priced.headers["content-type"] == "application/json"
    assert priced.headers["X-Request-ID"] == "sim-trace-1"
    assert len(priced.json()["installments"]) == 12
