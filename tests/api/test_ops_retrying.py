"""A step that keeps retrying a failing provider shows so to ops while it does, not only once the
retries run out: `retrying_step`, `attempt` and `last_error` in the ops view, cleared on success."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import eventually, register_and_login, serve_over_asgi
from test_loans import activate, apply
from test_ops import ops_login

from lendflow.settings import Settings


async def test_a_step_retrying_a_provider_outage_shows_its_attempt_and_error_until_it_succeeds(
    api_settings: Settings,
    worker: object,
    new_operator: Any,
    simulator_admin: httpx.AsyncClient,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    settings = api_settings.model_copy(
        update={"origination": api_settings.origination.model_copy(update={"retrying_after_seconds": 1.0})}
    )
    # The bureau answers 503 three times: a few seconds of retries, past the 1 s retrying_after.
    fault = await simulator_admin.put(
        "faults/credit-bureau/credit_report", json={"fail_times": 3, "error_status": 503, "retry_after_seconds": 1}
    )
    assert fault.status_code == 200, fault.text
    async with serve_over_asgi(settings) as api:
        ops = await ops_login(api, await new_operator())
        customer = await register_and_login(api)
        await activate(session_maker, customer)
        loan_id = (await apply(api, customer)).json()["id"]

        async def ops_view() -> dict[str, Any]:
            return (await api.get(f"/v1/ops/applications/{loan_id}", headers=ops)).json()

        retrying = await eventually(
            ops_view, lambda v: v.get("retrying_step") == "credit_analysis", timeout=30, every=0.2
        )
        customer_view = (await api.get(f"/v1/loans/{loan_id}", headers=customer.headers)).json()
        recovered = await eventually(ops_view, lambda v: v["status"] == "offer_ready", timeout=90, every=0.5)

    assert retrying["status"] == "analyzing" and retrying["paused_step"] is None
    assert retrying["attempt"] >= 2
    assert retrying["last_error"] and "503" in retrying["last_error"]
    assert "retrying_step" not in customer_view  # ops' view only
    assert recovered["retrying_step"] is None and recovered["attempt"] is None and recovered["last_error"] is None
