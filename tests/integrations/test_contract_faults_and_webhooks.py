"""Fault injection through the admin API, and webhook delivery guarantees, over real HTTP."""

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from integrations.errors import (
    PermanentProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    TransientProviderError,
)
from integrations.factory import ProviderClients, provider_http_client
from integrations.federal_revenue import FederalRevenueClient
from integrations.pix import PayoutStatus, PixClient, PixKeyDestination
from integrations.webhooks import WebhookEvent
from lendflow.settings import Settings

NewId = Callable[[str], str]


async def _set_fault(admin: httpx.AsyncClient, provider: str, operation: str, **rule: Any) -> None:
    response = await admin.put(f"faults/{provider}/{operation}", json=rule)
    assert response.status_code == 200, response.text


async def test_operation_fails_n_times_then_succeeds(
    providers: ProviderClients, admin: httpx.AsyncClient, new_cpf: Any
) -> None:
    await _set_fault(admin, "federal-revenue", "lookup_cpf", fail_times=2, error_status=503)
    cpf = new_cpf()
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            await providers.federal_revenue.lookup_cpf(cpf)
        assert caught.value.status_code == 503
    assert (await providers.federal_revenue.lookup_cpf(cpf)).cpf == cpf


async def test_rate_limit_passes_retry_after_to_the_caller(
    providers: ProviderClients, admin: httpx.AsyncClient, new_cpf: Any
) -> None:
    await _set_fault(admin, "credit-bureau", "credit_report", error_rate=1.0, error_status=429, retry_after_seconds=3)
    with pytest.raises(TransientProviderError) as caught:
        await providers.credit_bureau.fetch_credit_report(new_cpf())
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 3.0


async def test_injected_client_error_is_permanent(providers: ProviderClients, admin: httpx.AsyncClient) -> None:
    await _set_fault(admin, "ecm", "get_document", error_rate=1.0, error_status=400)
    with pytest.raises(PermanentProviderError) as caught:
        await providers.ecm.get_document("doc_" + uuid.uuid4().hex)
    assert not isinstance(caught.value, TransientProviderError)


async def test_wildcard_fault_applies_to_every_operation_of_the_provider(
    providers: ProviderClients, admin: httpx.AsyncClient
) -> None:
    await _set_fault(admin, "esignature", "*", error_rate=1.0, error_status=502)
    with pytest.raises(ProviderUnavailable):
        await providers.esignature.get_envelope("env_x")
    with pytest.raises(ProviderUnavailable):
        await providers.esignature.void_envelope("env_x", reason="x")


async def test_latency_past_the_client_timeout_is_a_timeout(
    simulator_settings: Settings, admin: httpx.AsyncClient, new_cpf: Any
) -> None:
    impatient = simulator_settings.providers.federal_revenue.model_copy(update={"timeout_seconds": 0.2})
    await _set_fault(admin, "federal-revenue", "lookup_cpf", latency_ms=600)
    async with provider_http_client(impatient) as http:
        with pytest.raises(ProviderTimeout):
            await FederalRevenueClient(http).lookup_cpf(new_cpf())


async def test_small_latency_within_the_timeout_still_answers(
    providers: ProviderClients, admin: httpx.AsyncClient, new_cpf: Any
) -> None:
    await _set_fault(admin, "federal-revenue", "lookup_cpf", latency_ms=50)
    cpf = new_cpf()
    assert (await providers.federal_revenue.lookup_cpf(cpf)).cpf == cpf


async def test_payout_whose_answer_hangs_is_found_again_with_its_key_and_pays_once(
    providers: ProviderClients,
    simulator_settings: Settings,
    admin: httpx.AsyncClient,
    new_id: NewId,
    webhook_inbox: Any,
) -> None:
    # The provider takes the payout, then hangs past our timeout: we do not know it happened.
    await _set_fault(admin, "pix", "create_payout", hang_seconds=1.0, after_processing=True)
    reference = new_id("loan")
    request = {
        "amount": Decimal("1200.00"),
        "destination": PixKeyDestination(pix_key=f"{uuid.uuid4().hex[:8]}@cliente.example"),
        "idempotency_key": f"{reference}/disbursement",
        "external_reference": reference,
    }
    impatient = simulator_settings.providers.pix.model_copy(update={"timeout_seconds": 0.3})
    async with provider_http_client(impatient) as http:
        with pytest.raises(ProviderTimeout):
            await PixClient(http, receiver_pix_key="k").create_payout(**request)  # type: ignore[arg-type]

    await admin.delete("faults/pix/create_payout")
    retried = await providers.pix.create_payout(**request)  # type: ignore[arg-type]
    assert retried.external_reference == reference

    def settled(d: Any) -> bool:
        return d.event.type == "payout.settled" and d.event.data["external_reference"] == reference

    await webhook_inbox.wait_for(settled)
    await asyncio.sleep(0.3)
    assert {d.event.data["end_to_end_id"] for d in webhook_inbox.matching(settled)} == {retried.end_to_end_id}
    assert (await providers.pix.get_payout(retried.end_to_end_id)).status is PayoutStatus.SETTLED


async def test_duplicated_webhook_arrives_several_times_with_one_event_id(
    providers: ProviderClients,
    admin: httpx.AsyncClient,
    new_id: NewId,
    webhook_inbox: Any,
    verify: Callable[[Any], WebhookEvent],
) -> None:
    await _set_fault(admin, "pix", "webhooks", duplicate_webhooks=2, webhook_delay_ms=50)
    reference = new_id("loan")
    payout = await providers.pix.create_payout(
        amount=Decimal("10.00"),
        destination=PixKeyDestination(pix_key=f"{uuid.uuid4().hex[:8]}@cliente.example"),
        idempotency_key=f"{reference}/disbursement",
        external_reference=reference,
    )
    deliveries = await webhook_inbox.wait_for(
        lambda d: d.event.type == "payout.settled" and d.event.data["end_to_end_id"] == payout.end_to_end_id, count=3
    )
    events = [verify(d) for d in deliveries]
    assert len({event.id for event in events}) == 1


async def test_refused_delivery_is_retried_until_the_receiver_accepts_it(
    providers: ProviderClients,
    admin: httpx.AsyncClient,
    new_id: NewId,
    webhook_inbox: Any,
    verify: Callable[[Any], WebhookEvent],
) -> None:
    reference = new_id("loan")
    webhook_inbox.refuse(reference, times=2)
    await providers.pix.create_payout(
        amount=Decimal("10.00"),
        destination=PixKeyDestination(pix_key=f"{uuid.uuid4().hex[:8]}@cliente.example"),
        idempotency_key=f"{reference}/disbursement",
        external_reference=reference,
    )
    [delivery] = await webhook_inbox.wait_for(
        lambda d: d.event.type == "payout.settled" and d.event.data["external_reference"] == reference
    )
    event = verify(delivery)
    attempts = (await admin.get("webhooks/deliveries", params={"event_id": event.id})).json()
    assert [a["status_code"] for a in attempts] == [503, 503, 200]


async def test_admin_refuses_a_fault_for_an_unknown_operation(admin: httpx.AsyncClient) -> None:
    response = await admin.put("faults/pix/print_money", json={"error_rate": 1.0})
    assert response.status_code == 404
    response = await admin.put("faults/pix/create_payout", json={"error_rate": 2.0})
    assert response.status_code == 400


async def test_faults_in_force_are_listed_and_cleared(admin: httpx.AsyncClient) -> None:
    await _set_fault(admin, "ecm", "store_document", fail_times=3)
    listed = (await admin.get("faults")).json()
    assert {"provider": "ecm", "operation": "store_document"}.items() <= listed[0].items()
    assert listed[0]["failures_left"] == 3
    assert (await admin.delete("faults")).status_code == 204
    assert (await admin.get("faults")).json() == []
